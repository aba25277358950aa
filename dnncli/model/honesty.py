"""What a checkpoint carries so that its answers can be doubted, each part optional (older checkpoints load).

Header keys:

- ``familiarity``: ``Familiarity.header`` (how unlike the training inputs an input is), with its arrays
  ``familiarity.mean``, ``familiarity.scale``, ``familiarity.precision`` and ``familiarity.quantiles`` beside the
  weights, their shapes from ``familiarity.saved_shapes``;
- ``calibration``: the temperature the logits are divided by, fitted after training (``calibration_record``);
- ``threshold``: for two classes, the second class's probability above which it is answered, chosen from data
  (``thresholds.choose_threshold``, with the split and the number of examples it was chosen on);
- ``class_counts``: the training examples of each class, so a baseline (always the most common class) stands
  beside every score without the training set.

``check_header`` checks each field the header has, ``check_arrays`` the familiarity arrays' values, in the one
line a foreign or hand-edited checkpoint is refused with.
"""

import math

import numpy as np

from ..errors import UserError
from .calibration import HIGHEST, LOWEST
from .familiarity import (
    ARRAYS,
    MIN_EXAMPLES,
    PICTURE_FEATURES,
    QUANTILES,
    Familiarity,
    fit,
    picture_features,
    saved_shapes,
)

FAMILIARITY, CALIBRATION, THRESHOLD, CLASS_COUNTS = "familiarity", "calibration", "threshold", "class_counts"
PREFIX = FAMILIARITY + "."  # the familiarity arrays' names in a checkpoint
FIT_EXAMPLES = 5_000  # the most training examples familiarity is fitted on, evenly spread over a larger set (about 1.3 ms a picture: docs/honest-answers.md)


def fitted_familiarity(dataset):
    """The ``Familiarity`` of a training set: of its pictures' statistics, or of a table's encoded rows; None
    for fewer than ``familiarity.MIN_EXAMPLES`` examples or inputs that are not pictures (a flat HDF5 set)."""
    table = getattr(dataset, "encoder", None) is not None
    if dataset.m > FIT_EXAMPLES or (table and dataset.on_disk):  # a table read from disk: its sample in memory
        dataset = dataset.subset(np.unique(np.linspace(0, dataset.m - 1, FIT_EXAMPLES).astype(np.int64)))
    if table:
        return fit(dataset.inputs, kind="rows")
    if not is_picture_shape(dataset.input_shape):
        return None
    return fit(np.vstack([picture_features(part.pixels()) for part in dataset.parts()]))


def is_picture_shape(shape):
    """(h, w) or (h, w, channels) with 1, 3 or 4 channels, as ``pictures.picture_mode`` takes (without Pillow)."""
    return len(shape) == 2 or (len(shape) == 3 and shape[2] in (1, 3, 4))


def class_counts(dataset):
    """The training examples of each class (a list), or None for numbers to predict."""
    counts = dataset.counts  # a table read from disk counted them as it was read: its labels are not in memory
    return None if counts is None else np.asarray(counts).tolist()


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_count(value, least=0):
    return isinstance(value, int) and not isinstance(value, bool) and value >= least


def familiarity_features(header, net):
    """How many features the header's familiarity measures: 17 picture statistics, or the table's inputs."""
    return len(PICTURE_FEATURES) if header[FAMILIARITY].get("kind") == "pictures" else net.layers[0]


def expected_arrays(header, net):
    """name -> (shape, dtypes) of the familiarity arrays a checkpoint with this header holds (none without)."""
    if FAMILIARITY not in header:
        return {}
    shapes = saved_shapes(familiarity_features(header, net), header[FAMILIARITY].get("diagonal", False))
    return {PREFIX + name: (shape, ("float64",)) for name, shape in shapes.items()}


def check_header(header, net, path):
    """A ``UserError`` naming the first of the optional fields that is not what dnn writes."""

    def bad(field, allowed):
        return UserError(f"{path}: header field {field!r} {allowed}, got {short(header.get(field))}")

    classifies = net.output != "identity"
    if FAMILIARITY in header and not familiar_header(header[FAMILIARITY], net):
        raise bad(FAMILIARITY, "must describe the training inputs as dnn saves it")
    if CALIBRATION in header and not (classifies and calibration_header(header[CALIBRATION])):
        raise bad(CALIBRATION, f"must hold a temperature from {LOWEST:g} to {HIGHEST:g} (classes only)")
    if THRESHOLD in header and not (net.output == "sigmoid" and threshold_header(header[THRESHOLD])):
        raise bad(THRESHOLD, "must hold a threshold from 0 to 1 (two classes only)")
    if CLASS_COUNTS in header:
        counts = header[CLASS_COUNTS]
        classes = 2 if net.output == "sigmoid" else net.layers[-1]
        if not (
            classifies
            and isinstance(counts, list)
            and len(counts) == classes
            and all(is_count(n) for n in counts)
            and sum(counts) > 0
        ):
            raise bad(CLASS_COUNTS, f"must count the training examples of each of {classes} classes")


def short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def familiar_header(raw, net):
    if not isinstance(raw, dict) or raw.get("kind") not in ("pictures", "rows"):
        return False
    features = len(PICTURE_FEATURES) if raw["kind"] == "pictures" else net.layers[0]
    return (
        raw.get("features") == features
        and is_number(raw.get("threshold"))
        and raw["threshold"] > 0
        and is_number(raw.get("percent"))
        and 0 < raw["percent"] <= 100
        and is_count(raw.get("examples"), MIN_EXAMPLES)
        and is_number(raw.get("shrinkage"))
        and 0 <= raw["shrinkage"] <= 1
        and isinstance(raw.get("diagonal", False), bool)
    )


def calibration_header(raw):
    return (
        isinstance(raw, dict)
        and is_number(raw.get("temperature"))
        and LOWEST <= raw["temperature"] <= HIGHEST
        and is_count(raw.get("examples"), 1)
        and all(is_number(raw.get(key)) and raw[key] >= 0 for key in ("log_loss_before", "log_loss_after"))
    )


def threshold_header(raw):
    return isinstance(raw, dict) and is_number(raw.get("threshold")) and -1 <= raw["threshold"] <= 1


def check_arrays(arrays, path):
    """The familiarity arrays' values: finite, the scales positive, the percentiles in order."""
    for name in ARRAYS:
        if not np.all(np.isfinite(arrays[PREFIX + name])):
            raise UserError(f"{path}: array {PREFIX + name} holds nan or inf")
    if np.any(arrays[PREFIX + "scale"] <= 0):
        raise UserError(f"{path}: array {PREFIX}scale holds a scale that is not positive")
    quantiles = arrays[PREFIX + "quantiles"]
    if len(quantiles) != QUANTILES or np.any(np.diff(quantiles) < 0):
        raise UserError(f"{path}: array {PREFIX}quantiles is not in order")


def familiarity_of(header, arrays):
    """The checkpoint's ``Familiarity``, or None when it has none (older checkpoints, fewer than 10 examples)."""
    if FAMILIARITY not in header:
        return None
    return Familiarity.restored(header[FAMILIARITY], {name: arrays[PREFIX + name] for name in ARRAYS})


def familiarity_arrays(fitted):
    """The arrays a checkpoint stores for ``fitted`` (a ``Familiarity``), under their names; none for None."""
    return {} if fitted is None else {PREFIX + name: np.asarray(a, np.float64) for name, a in fitted.arrays.items()}


def calibration_record(fitted, split):
    """The header's ``calibration`` of a ``calibration.Temperature`` fitted on ``split``."""
    return {
        "temperature": fitted.temperature,
        "log_loss_before": fitted.log_loss_before,
        "log_loss_after": fitted.log_loss_after,
        "examples": fitted.examples,
        "split": split,
    }
