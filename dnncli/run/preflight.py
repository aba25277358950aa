"""Looking before training: what `dnn check`, `dnn summary` and `dnn gradcheck` find, without a run folder."""

import math
import os
from pathlib import Path

import numpy as np

from ..config.build import build_network, initial_params, output_for
from ..config.load import load as load_config
from ..config.schema import AUTO, data_format
from ..data.augment import describe_augmentation
from ..data.encoding import EncodedTable
from ..engine import LOSSES, check_gradients, forward
from ..engine.trainer import dropout_masks
from ..errors import UserError
from ..model import checkpoint
from ..model.score import score, targets_of
from ..text import plural
from .job import prepare
from .layout import CHECKPOINT, CONFIG, latest_run

SATURATED = 1.5  # an initial cost above this many times ln K means over-confident initial outputs
PROJECTION_STREAM = 3  # the random projection of the output that a gradient check with batch norm checks


def class_counts(dataset):
    counts = dataset.counts
    if counts is None:  # a regression table: its targets in a few words
        return "; ".join(
            f"{name} mean {mean:.4g}, std {std:.4g}"
            for name, (mean, std) in zip(dataset.classes, dataset.target_moments, strict=True)
        )
    return ", ".join(f"{name} {count}" for name, count in zip(dataset.classes, counts, strict=True))


def describe_set(dataset):
    if isinstance(dataset, EncodedTable):
        return f"{dataset.path}: {plural(dataset.m, 'row')}, {dataset.features} inputs once encoded; {class_counts(dataset)}"
    shape = "x".join(str(s) for s in dataset.input_shape)
    return f"{dataset.path}: {plural(dataset.m, 'example')} of {shape} = {dataset.features} values; {class_counts(dataset)}"


def describe_columns(encoder):
    """A table's feature columns by kind, and the inputs they give, for `dnn check`."""
    by_kind = {}
    for column in encoder.columns:
        by_kind.setdefault(column["kind"], []).append(column["name"])
    kinds = "; ".join(f"{kind}: {shortened(names)}" for kind, names in by_kind.items())
    return f"{plural(len(encoder.columns), 'column')} give {plural(encoder.width, 'input')} ({kinds})"


SHOWN_COLUMNS = 6  # columns of a kind named by `dnn check`; `dnn data info` lists every one


def shortened(names):
    more = len(names) - SHOWN_COLUMNS
    return ", ".join(names[:SHOWN_COLUMNS]) + (f" and {more} more" if more > 0 else "")


def describe_task(encoder):
    target = ", ".join(encoder.target["columns"])
    if encoder.task == "regression":
        return f"regression of {target} (numbers; predicted in their own units, trained standardised)"
    return f"classification of {target} into {', '.join(encoder.classes)}"


def class_entropy(counts):
    """-sum p_k ln p_k of the class frequencies: the cost of always guessing those frequencies."""
    p = counts / counts.sum()
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def initial_cost(job):
    """Cross-entropy (no L2 term) of the freshly initialised network on the training set, a part at a time
    (with batch norm, the set as one training batch, as full-batch training starts)."""
    net, config = job.net, job.config
    params = initial_params(net, config, job.dtype)
    if net.has_batch_norm and not job.train.on_disk:
        # batch norm's first step normalises by its batch: the cost of the whole set as one training batch
        ZL, _ = forward(net, params, job.train.rows(job.dtype).T, training=True)
        return LOSSES[net.output](ZL, targets_of(net, job.train, job.dtype))
    return score(net, params, job.train, job.dtype)["cost"]


def check_output_folder(folder):
    """The nearest existing folder on the way to ``folder`` must take new files."""
    path = Path(folder).resolve()
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"output.dir: cannot write run folders under {folder} ({existing} is not a writable folder)")
    return "" if existing == path else " (will be created)"


def activations_text(net):
    names = net.activations
    return names[0] if len(set(names)) == 1 else ", ".join(names)


def batch_norm_text(net, momentum):
    """Which hidden layers normalise their pre-activation, for `dnn check`: '' for none."""
    layers = [str(l) for l in range(1, net.depth) if net.normalised(l)]
    if not layers:
        return ""
    which = (
        "every hidden layer"
        if len(layers) == net.depth - 1
        else f"layer{'s' if len(layers) > 1 else ''} {', '.join(layers)}"
    )
    return f"; batch norm on {which}, momentum {momentum:g}, epsilon {net.batch_norm_epsilon:g}"


def check(path, overrides=(), warn=None):
    """Yields (what, finding) as each check passes; a failing one raises ``UserError``."""
    config = load_config(path, overrides)
    yield "config", f"{path}: valid"
    job = prepare(config, warn=warn)
    net, settings = job.net, job.settings
    if job.encoder is not None:
        yield "task", describe_task(job.encoder) + " (data.task sets another)"
        yield "columns", describe_columns(job.encoder) + " (data.columns sets another kind)"
    yield "train set", describe_set(job.train)
    if job.validation is not None:
        examples = plural(job.validation.m, "row" if job.encoder is not None else "example")
        yield "validation", f"{examples} held out of the training set; {class_counts(job.validation)}"
    yield "test set", describe_set(job.test) if job.test is not None else "none (data.test is not set)"
    layers = " -> ".join(map(str, net.layers))
    yield (
        "model",
        (
            f"{layers} ({activations_text(net)}; {net.output} output"
            f"{batch_norm_text(net, settings.batch_norm_momentum)}), {net.parameter_count:,} parameters; "
            "the input and output sizes fit the data"
        ),
    )
    full_batch = settings.batch_size is None or settings.batch_size >= job.train.m
    batches = "full batch" if full_batch else f"mini-batches of {settings.batch_size}"
    yield (
        "training",
        f"{plural(job.iterations, 'iteration')} of {settings.optimizer} at learning rate {settings.learning_rate:g}, {batches}",
    )
    augmentation = describe_augmentation(config["data"]["augment"])
    if augmentation:
        yield "augment", f"{augmentation}; training batches only, drawn from the seed and the iteration"
    if job.regression:
        yield (
            "initial cost",
            f"{initial_cost(job):.6f}; predicting the mean would score 0.5 per target (half the variance of a standardised target)",
        )
        output = config["output"]["dir"]
        yield "output", f"{output}/{config['name']}/{check_output_folder(output)}"
        return
    cost, k = initial_cost(job), net.n_classes
    if not math.isfinite(cost):
        raise UserError(f"model.init: the initial cost is {cost}; the network cannot train from these weights")
    entropy = class_entropy(job.train.counts)
    yield (
        "initial cost",
        (
            f"{cost:.6f}; expected about ln {k} = {math.log(k):.6f} (an untrained network's even guess); "
            f"always guessing the class frequencies scores {entropy:.6f}"
        ),
    )
    if cost > SATURATED * math.log(k):
        yield (
            "warning",
            (
                f"the initial cost is {cost / math.log(k):.1f} times ln {k}: the initial outputs are over-confident, "
                f"so training may start slowly; a smaller model.init (now {config['model']['init']}) starts nearer"
            ),
        )
    output = config["output"]["dir"]
    yield "output", f"{output}/{config['name']}/{check_output_folder(output)}"


def described_network(run=None, config_path=None, overrides=()):
    """(network, dtype name, where it came from, data.augment in words or None): from a config, a run
    folder, or the latest run."""
    origin = config_path
    if config_path is None:
        folder = origin = Path(run) if run else latest_run()
        if not folder.is_dir():
            raise UserError(f"{folder}: no such run folder")
        if not (folder / CONFIG).exists():
            saved = checkpoint.load(folder / CHECKPOINT)
            return saved.net, saved.header["dtype"], str(folder), None
        config_path = folder / CONFIG
    config = load_config(config_path, overrides)
    model = config["model"]
    if AUTO in (model["layers"][0], model["layers"][-1]) or data_format(config["data"]) == "table":
        net = prepare(config, with_test=False).net  # the data decides the network's ends
    else:
        net = build_network(config, output=output_for(None, model["layers"][-1]) if model["output"] == AUTO else None)
    return net, config["dtype"], str(origin), describe_augmentation(config["data"]["augment"])


def gradient_check(config, examples=5, entries=50, epsilon=1e-6):
    """Per layer: (shape of W, entries checked, relative difference), on the first ``examples``
    training examples, in float64 whatever the run's dtype (float32 is too coarse for the check).

    With batch norm, the function checked is a random projection of the output (drawn from the seed)
    rather than the cost, on the examples as one training batch, the running statistics left as they are.
    """
    job = prepare(config, with_test=False)
    net, settings = job.net, job.settings
    params = initial_params(net, config, np.float64)
    count = min(examples, job.train.m)
    projection = None
    if net.has_batch_norm:
        if count < 2:
            raise UserError("--examples: batch norm needs a batch of two examples or more to check on")
        projection = np.random.default_rng([config["seed"], PROJECTION_STREAM]).normal(size=(net.layers[-1], count))
    sample = job.train.subset(np.arange(count))
    X = sample.rows(np.float64).T
    Y = targets_of(net, sample, np.float64)
    masks = None
    if settings.has_dropout:
        masks = dropout_masks(net, settings.keep_probs, settings.seed, 0, count, np.float64)
    differences = check_gradients(net, params, X, Y, masks, settings.l2, epsilon, entries, config["seed"], projection)
    rows = []
    for l, difference in enumerate(differences, start=1):
        checked = sum(min(entries, params[name].size) for name in net.layer_param_names(l))
        rows.append(
            {"layer": l, "shape": [net.layers[l], net.layers[l - 1]], "entries": checked, "difference": difference}
        )
    return rows, count
