"""One path from a resolved config to the engine: the network, the settings and the number of iterations.

Every command that needs them (train, check, summary, gradcheck) builds them here, so a config value
reaches the engine in one way only.
"""

from dataclasses import dataclass

import numpy as np

from ..engine import Network, Settings, batch_norm_arrays, fast_path_obstacle, initialize, steps_per_epoch
from ..engine.class_weights import balanced_class_weights
from ..errors import UserError
from .schema import AUTO


@dataclass(frozen=True)
class Plan:
    """What a run of a config does on a training set of ``m`` examples: the engine's objects, and the loop's
    rhythm around them."""

    net: Network
    settings: Settings
    iterations: int
    dtype: type
    fast_path: str  # auto, on or off
    log_every: int
    checkpoint_every: int  # or None: only at the end
    patience: int  # logged checks without a better validation cost before stopping; None never stops
    min_delta: float  # how much lower a validation cost must be to count as better
    divergence: float  # stop when the cost passes this many times the initial one; None never stops


def per_layer(value, layers):
    """A per-hidden-layer setting as a tuple, whether written once or per layer."""
    hidden = len(layers) - 2
    return tuple(value) if isinstance(value, list) else (value,) * hidden


@dataclass(frozen=True)
class DataShape:
    """What a training set says of the network's two ends."""

    inputs: int  # values an example gives the network
    outputs: int  # classes, or numeric targets for regression
    regression: bool
    input_text: str  # the inputs in words, for messages: "the flattened input, 64x64x3 = 12288"
    path: str  # the training set, for messages


def output_for(shape, last):
    """The output layer ``auto`` means: identity for numbers; for classes, sigmoid for a last layer of one unit
    (or ``auto`` on two classes), else softmax. ``shape`` None: pictures, whose sizes are all given."""
    if shape is not None and shape.regression:
        return "identity"
    if last == AUTO:
        return "sigmoid" if shape.outputs == 2 else "softmax"
    return "sigmoid" if last == 1 else "softmax"


def network_ends(config, shape):
    """(layer sizes, output) of ``config`` on data of ``shape``: ``auto`` filled in, given values checked."""
    model = config["model"]
    layers = list(model["layers"])
    output = output_for(shape, layers[-1]) if model["output"] == AUTO else model["output"]
    n = shape.outputs
    if shape.regression and output != "identity":
        raise UserError(
            f"model.output: {output} is for classes, but {shape.path} has numeric targets; use identity (or auto)"
        )
    if not shape.regression and output == "identity":
        raise UserError(f"model.output: identity is for numeric targets, but {shape.path} has {n} classes; use auto")
    if output == "sigmoid" and n != 2:
        raise UserError(
            f"model.output: sigmoid is for two classes, but {shape.path} has {n}; use softmax with {n} output units"
        )
    if layers[0] == AUTO:
        layers[0] = shape.inputs
    elif layers[0] != shape.inputs:
        raise UserError(
            f"model.layers: the first size must equal {shape.input_text}, got {layers[0]} (training set: {shape.path})"
        )
    wanted = 1 if output == "sigmoid" else n
    if layers[-1] == AUTO:
        layers[-1] = wanted
    elif layers[-1] != wanted:
        what = "the number of targets" if shape.regression else "the number of classes"
        raise UserError(f"model.layers: the last size must equal {what}, {n}, got {layers[-1]} ({shape.path})")
    return tuple(layers), output


def build_network(config, layers=None, output=None):
    """The network of ``config``, with the layer sizes and output ``network_ends`` gives where the data decides."""
    model = config["model"]
    layers = tuple(model["layers"] if layers is None else layers)
    return Network(
        layers,
        per_layer(model["activation"], layers),
        model["output"] if output is None else output,
        per_layer(model["batch_norm"], layers),
        model["batch_norm_epsilon"],
    )


def initial_params(net, config, dtype):
    """The model a run of ``config`` starts from, in ``dtype``: its weights, a function of the seed alone,
    and batch norm's scale 1, shift 0 and running statistics (mean 0, variance 1), in the network's order."""
    arrays = initialize(net.layers, config["model"]["init"], config["seed"], dtype)
    arrays.update(batch_norm_arrays(net, dtype))
    return {name: arrays[name] for name in net.array_names}


def build_settings(config, class_weights=None):
    training = config["training"]
    keep = per_layer(training["keep_prob"], config["model"]["layers"])
    optimizer, schedule = dict(training["optimizer"]), dict(training["schedule"])
    return Settings(
        learning_rate=training["learning_rate"],
        optimizer=optimizer.pop("name"),
        optimizer_params=optimizer,
        schedule=schedule.pop("name"),
        schedule_params=schedule,
        l2=training["l2"],
        keep_probs=keep if any(k < 1 for k in keep) else None,
        batch_size=training["batch_size"],
        seed=config["seed"],
        batch_norm_momentum=config["model"]["batch_norm_momentum"],
        inputs_vary=augments(config["data"]["augment"]),
        class_weights=None if class_weights is None else tuple(class_weights),
    )


def augments(augment):
    """Whether the settings of ``data.augment`` change the training pictures at every step."""
    return bool(augment["flip"] or augment["shift"] or augment["brightness"] or augment["contrast"])


def check_batches_for_batch_norm(net, batch_size, m):
    """Batch norm divides by a batch's spread: every training batch needs two examples or more."""
    if not net.has_batch_norm:
        return
    size = m if batch_size is None else min(batch_size, m)
    last = m - (steps_per_epoch(m, size) - 1) * size
    if size == 1:
        raise UserError(
            f"model.batch_norm: a training batch of one example cannot be normalised (its variance is 0); "
            f"{'the training set has one example' if m == 1 else 'set training.batch_size to 2 or more'}"
        )
    if last == 1:
        raise UserError(
            f"model.batch_norm: training.batch_size {size} on {m} training examples leaves a last batch of one "
            f"example, which cannot be normalised (its variance is 0); choose another batch size"
        )


def class_weights_of(config, classes, counts):
    """One weight per class from ``training.class_weight`` (None for none): ``balanced`` is n / (K count_k), as
    scikit-learn's and Keras' ``balanced``; a mapping names every class."""
    given = config["training"]["class_weight"]
    if given is None:
        return None
    if given == "balanced":
        counts = np.asarray(counts, dtype=np.float64)
        if not counts.all():
            empty = classes[int(np.flatnonzero(counts == 0)[0])]
            raise UserError(
                f"training.class_weight: balanced weighs each class by its count, but {empty!r} has no training example"
            )
        return balanced_class_weights(counts)
    unknown = [name for name in given if name not in classes]
    if unknown:
        raise UserError(
            f"training.class_weight: {unknown[0]!r} is not a class; the classes are {', '.join(map(repr, classes))}"
        )
    missing = [name for name in classes if name not in given]
    if missing:
        raise UserError(f"training.class_weight: give every class a weight; {missing[0]!r} has none")
    return [given[name] for name in classes]


def build(config, m, shape, class_weights=None):
    """The ``Plan`` of a config on ``m`` training examples of ``shape``, with the rules that need them checked."""
    training = config["training"]
    if shape.regression and training["class_weight"] is not None:
        raise UserError(f"training.class_weight: weighs classes, but {shape.path} has numeric targets (regression)")
    settings = build_settings(config, class_weights)
    net = build_network(config, *network_ends(config, shape))
    check_batches_for_batch_norm(net, training["batch_size"], m)
    if training["fast_path"] == "on":
        obstacle = fast_path_obstacle(settings, m)
        if obstacle:
            raise UserError(f"training.fast_path: 'on' cannot be served: {obstacle}; use auto or off")
    iterations = training["iterations"] or training["epochs"] * steps_per_epoch(m, training["batch_size"])
    return Plan(
        net,
        settings,
        iterations,
        np.dtype(config["dtype"]).type,
        training["fast_path"],
        training["log_every"],
        training["checkpoint_every"],
        training["early_stopping"]["patience"],
        training["early_stopping"]["min_delta"],
        training["divergence"],
    )
