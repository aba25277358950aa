"""A threshold for two classes chosen from data: the second class is answered when its probability is above it.

``choose_threshold`` tries every distinct probability of a labelled set (the validation split) and keeps
the one that does best by a rule: ``f1`` (F1 of the second class), ``balanced_accuracy`` (the mean of the
two classes' recall), or ``precision`` (the most recall whose precision reaches a target). Answering the
second class for every probability from s up is answering it above any threshold between s and the next
lower probability; the threshold returned lies halfway, so a probability a little off either still falls
on its side.
"""

import numpy as np

from .metrics import ranked_counts

RULES = ("f1", "balanced_accuracy", "precision")


def candidates(truth, scores):
    """Per distinct score, highest first: (threshold, true positives, false positives) of answering yes above it."""
    tp, fp, levels = ranked_counts(truth, scores)
    lower = np.r_[levels[1:], min(levels[-1], 0.0)]
    thresholds = (levels + lower) / 2
    # two neighbouring floats have no float between them; the lowest score may be 0
    thresholds = np.where(thresholds < levels, thresholds, np.nextafter(levels, -np.inf))
    return thresholds, tp.astype(np.float64), fp.astype(np.float64)


def choose_threshold(truth, scores, rule="f1", target=None):
    """The threshold ``rule`` chooses for ``scores`` (the second class's probabilities) of examples of that class
    where ``truth``, with its precision, recall, F1 and balanced accuracy; None when no threshold qualifies
    (a class absent, or no precision reaching ``target``)."""
    assert rule in RULES and (target is None) == (rule != "precision")
    truth = np.asarray(truth, dtype=bool)
    positives, negatives = int(truth.sum()), int((~truth).sum())
    if positives == 0 or negatives == 0:
        return None
    thresholds, tp, fp = candidates(truth, scores)
    precision = tp / (tp + fp)
    recall = tp / positives
    f1 = 2 * tp / (tp + fp + positives)
    balanced = (recall + (negatives - fp) / negatives) / 2
    if rule == "f1":
        best = int(np.argmax(f1))
    elif rule == "balanced_accuracy":
        best = int(np.argmax(balanced))
    else:
        reaching = np.flatnonzero(precision >= target)
        if len(reaching) == 0:
            return None
        best = int(reaching[-1])  # the lowest threshold that reaches it: the most recall
    return {
        "rule": rule,
        "target": target,
        "threshold": float(thresholds[best]),
        "precision": float(precision[best]),
        "recall": float(recall[best]),
        "f1": float(f1[best]),
        "balanced_accuracy": float(balanced[best]),
    }
