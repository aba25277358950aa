"""What is fitted after training, on the validation split, and stored in a checkpoint's header: the temperature
that calibrates its probabilities (``dnn calibrate``, and the end of a run with a validation split), and for two
classes the threshold chosen from data (``dnn evaluate --choose-threshold``). predict, evaluate, serve, the
report and the ONNX export then use them.

A threshold is chosen on calibrated probabilities, so calibrating a checkpoint that has one chooses it again by
the same rule.
"""

from contextlib import nullcontext

import numpy as np

from ..engine import forward
from ..errors import UserError
from ..model import checkpoint
from ..model.calibration import calibrated, fit_temperature
from ..model.honesty import CALIBRATION, THRESHOLD, calibration_record
from ..model.thresholds import choose_threshold
from .layout import METRICS
from .lock import holding

SPLIT = "validation"  # what both are fitted on


def logits_of(net, params, dataset, dtype):
    """The output layer's pre-activation (outputs, m) of every example of ``dataset``, a part at a time; a
    ``UserError`` for a set of one class (nothing to fit on) or an output that overflows."""
    if len(np.unique(dataset.labels)) < 2:
        raise UserError(f"the {SPLIT} split has examples of one class only; there is nothing to fit on")
    with np.errstate(over="ignore", invalid="ignore"):
        z = np.hstack([forward(net, params, part.rows(dtype).T)[0] for part in dataset.parts()])
    if not np.all(np.isfinite(z)):
        raise UserError(f"{dataset.path}: the model's output overflows on these examples; it cannot be calibrated")
    return z.astype(np.float64)


def temperature_of(net, params, dataset, dtype, split=SPLIT):
    """The header's ``calibration`` of the weights ``params``: the temperature fitted on ``dataset``."""
    return calibration_record(fit_temperature(logits_of(net, params, dataset, dtype), dataset.labels), split)


def threshold_of(p, labels, rule, target, split=SPLIT):
    """The header's ``threshold``: ``choose_threshold`` of the second class's (calibrated) probabilities ``p``,
    with the examples and split it was chosen on; None when no threshold qualifies."""
    chosen = choose_threshold(np.asarray(labels) == 1, p, rule, target)
    return None if chosen is None else {**chosen, "examples": len(p), "split": split}


def calibrate_checkpoint(path, dataset):
    """Fits a temperature for the checkpoint at ``path`` on ``dataset`` and stores it in the checkpoint (and
    chooses its threshold again, by the same rule, where it has one). Returns (its calibration, its threshold
    or None, whether a threshold it had is dropped: none reaches its target any more)."""
    saved = checkpoint.load(path)
    check_classifies(saved, "calibrate")
    z = logits_of(saved.net, saved.params, dataset, np.dtype(saved.header["dtype"]).type)
    record = calibration_record(fit_temperature(z, dataset.labels), SPLIT)
    header = {**saved.header, CALIBRATION: record}
    old = saved.header.get(THRESHOLD)
    threshold = None
    if old is not None:
        p = calibrated(z, record["temperature"])[0]
        threshold = threshold_of(p, dataset.labels, old["rule"], old["target"])
        header.pop(THRESHOLD)
        if threshold is not None:
            header[THRESHOLD] = threshold
    checkpoint.save(path, header, saved.params, saved.state, saved.arrays)
    return record, threshold, old is not None and threshold is None


def store_threshold(path, dataset, rule, target):
    """Chooses a threshold for the two-class checkpoint at ``path`` on ``dataset`` by ``rule`` and stores it;
    returns it. None qualifying is a ``UserError`` saying why."""
    saved = checkpoint.load(path)
    check_classifies(saved, "choose a threshold for")
    if saved.net.output != "sigmoid":
        raise UserError(f"--choose-threshold: for a two-class model; {path} has {len(saved.classes)} classes")
    z = logits_of(saved.net, saved.params, dataset, np.dtype(saved.header["dtype"]).type)
    p = calibrated(z, saved.temperature)[0]
    threshold = threshold_of(p, dataset.labels, rule, target)
    if threshold is None:
        present = np.bincount(dataset.labels, minlength=2)
        if not present.all():
            why = f"the {SPLIT} split has no example of {saved.classes[int(np.argmin(present))]!r}"
        else:
            why = f"no threshold reaches a precision of {target:g} on the {SPLIT} split"
        raise UserError(f"--choose-threshold: {why}; the checkpoint is left as it was")
    checkpoint.save(path, {**saved.header, THRESHOLD: threshold}, saved.params, saved.state, saved.arrays)
    return threshold


def check_classifies(saved, what):
    if saved.regression:
        raise UserError(f"{saved.path}: predicts numbers; only a model of classes has probabilities to {what}")


def holding_run(path):
    """The lock of the run folder a checkpoint is in (no other dnn writes it meanwhile); nothing for a checkpoint
    outside a run."""
    folder = path.parent
    return holding(folder) if (folder / METRICS).exists() else nullcontext()
