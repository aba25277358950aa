"""One path from a resolved config to the engine: the network, the settings and the number of iterations.

Every command that needs them (train, check, summary, gradcheck) builds them here, so a config value
reaches the engine in one way only.
"""

from dataclasses import dataclass

import numpy as np

from ..engine import Network, Settings, batch_norm_arrays, fast_path_obstacle, initialize, steps_per_epoch
from ..errors import UserError


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


def build_network(config):
    model = config["model"]
    layers = tuple(model["layers"])
    return Network(
        layers,
        per_layer(model["activation"], layers),
        model["output"],
        per_layer(model["batch_norm"], layers),
        model["batch_norm_epsilon"],
    )


def initial_params(config, dtype):
    """The model a run of ``config`` starts from, in ``dtype``: its weights, a function of the seed alone,
    and batch norm's scale 1, shift 0 and running statistics (mean 0, variance 1), in the network's order."""
    net = build_network(config)
    arrays = initialize(net.layers, config["model"]["init"], config["seed"], dtype)
    arrays.update(batch_norm_arrays(net, dtype))
    return {name: arrays[name] for name in net.array_names}


def build_settings(config):
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


def build(config, m):
    """The ``Plan`` of a config on ``m`` training examples, with the rules that need ``m`` checked."""
    training = config["training"]
    settings = build_settings(config)
    net = build_network(config)
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
