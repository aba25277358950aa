"""What a model's predicted classes say about a labelled data set, for any number of classes.

The confusion matrix has a row per true class and a column per predicted class.
A ratio with nothing to count (the precision of a class never predicted, the
recall of a class absent from the data) is 0, as scikit-learn reports it.
"""

import numpy as np


def confusion_matrix(labels, predicted, n_classes):
    """counts[i, j]: examples of class i predicted as class j."""
    cells = np.asarray(labels) * n_classes + np.asarray(predicted)
    return np.bincount(cells, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def divided_or_zero(numerator, denominator):
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def class_scores(confusion):
    """Per class: precision TP/(TP+FP), recall TP/(TP+FN), F1 2TP/(2TP+FP+FN)."""
    hits = np.diag(confusion).astype(np.float64)
    actual = confusion.sum(axis=1)
    predicted = confusion.sum(axis=0)
    return {
        "precision": divided_or_zero(hits, predicted),
        "recall": divided_or_zero(hits, actual),
        "f1": divided_or_zero(2 * hits, actual + predicted),
    }


def classification_report(labels, predicted, classes):
    """Counts, confusion matrix, per-class and macro-averaged precision, recall and F1.

    For two classes, ``positive`` repeats the scores of the second class
    (``classes[1]``), the one a sigmoid output gives the probability of.
    """
    confusion = confusion_matrix(labels, predicted, len(classes))
    scores = class_scores(confusion)
    report = {
        "classes": list(classes),
        "counts": dict(zip(classes, confusion.sum(axis=1).tolist(), strict=True)),
        "predicted_counts": dict(zip(classes, confusion.sum(axis=0).tolist(), strict=True)),
        "confusion_matrix": confusion.tolist(),
        "per_class": {
            name: {score: float(values[k]) for score, values in scores.items()} for k, name in enumerate(classes)
        },
        "macro": {score: float(values.mean()) for score, values in scores.items()},
    }
    if len(classes) == 2:
        report["positive"] = {"class": classes[1], **report["per_class"][classes[1]]}
    return report


# --- from probabilities -------------------------------------------------------------
# ``scores`` are one class's probabilities, ``truth`` says which examples are of that class.


def ranked_counts(truth, scores):
    """At each distinct score, highest first: the true and false positives of predicting "yes" from it up,
    and the score (the threshold)."""
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    scores, truth = np.asarray(scores, dtype=np.float64)[order], np.asarray(truth, dtype=bool)[order]
    last_of_each = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(truth)[last_of_each]
    return true_positives, 1 + last_of_each - true_positives, scores[last_of_each]


def roc_curve(truth, scores):
    """False and true positive rates, from (0, 0) to (1, 1), one point per distinct score; None for a
    class that is always or never there (the area has no meaning then)."""
    tp, fp, _ = ranked_counts(truth, scores)
    if tp[-1] == 0 or fp[-1] == 0:
        return None
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def roc_auc(truth, scores):
    """Area under the ROC curve (trapezoids): the chance a random positive scores above a random negative,
    ties counting half."""
    curve = roc_curve(truth, scores)
    if curve is None:
        return None
    fpr, tpr = curve
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def precision_recall_curve(truth, scores):
    """Recall and precision at each distinct score, highest score first; None with no positive."""
    tp, fp, _ = ranked_counts(truth, scores)
    if tp[-1] == 0:
        return None
    return tp / tp[-1], tp / (tp + fp)


def average_precision(truth, scores):
    """AP = sum over thresholds of (R_n - R_{n-1}) P_n, the step-wise area under precision-recall."""
    curve = precision_recall_curve(truth, scores)
    if curve is None:
        return None
    recall, precision = curve
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def brier_score(truth, scores):
    """Mean of (p - y)^2 for one class's probability p and y = 1 when the example is of that class."""
    return float(np.mean((np.asarray(scores, dtype=np.float64) - np.asarray(truth, dtype=np.float64)) ** 2))


def top_k_accuracy(labels, probabilities, k):
    """Share of examples whose true class is among the ``k`` most probable; ``probabilities`` is (K, m)."""
    top = np.argsort(-probabilities, axis=0, kind="stable")[:k]
    return float(np.mean(np.any(top == np.asarray(labels), axis=0)))


CALIBRATION_BINS = 10


def calibration(labels, probabilities, bins=CALIBRATION_BINS):
    """Expected calibration error of the top class's probability over equal-width bins, and the bins.

    ECE = sum over bins of (examples in bin / m) * |accuracy in bin - mean confidence in bin|; a
    probability of exactly 1 falls in the last bin.
    """
    confidence = probabilities.max(axis=0).astype(np.float64)
    correct = probabilities.argmax(axis=0) == np.asarray(labels)
    which = np.minimum((confidence * bins).astype(np.int64), bins - 1)
    rows, error = [], 0.0
    for b in range(bins):
        inside = which == b
        count = int(inside.sum())
        row = {"lower": b / bins, "upper": (b + 1) / bins, "examples": count, "confidence": None, "accuracy": None}
        if count:
            row["confidence"], row["accuracy"] = float(confidence[inside].mean()), float(correct[inside].mean())
            error += count / len(confidence) * abs(row["accuracy"] - row["confidence"])
        rows.append(row)
    return {"expected_calibration_error": float(error), "bins": rows}


def class_probability_scores(truth, scores):
    return {
        "roc_auc": roc_auc(truth, scores),
        "average_precision": average_precision(truth, scores),
        "brier": brier_score(truth, scores),
    }


def probability_report(labels, probabilities, classes):
    """What the probabilities (K, m) say beyond the predicted class.

    Two classes: ROC AUC, average precision and Brier score of the second class's probability (the one
    a sigmoid gives). K classes: the same for each class against the rest, their macro averages (over the
    classes where a score exists), and top-k accuracy for k = 1 .. min(K, 5). Both: calibration.
    """
    labels = np.asarray(labels)
    report = {}
    if len(classes) == 2:
        report.update(class_probability_scores(labels == 1, probabilities[1]))
    else:
        one_vs_rest = {name: class_probability_scores(labels == k, probabilities[k]) for k, name in enumerate(classes)}
        report["one_vs_rest"] = one_vs_rest
        report["one_vs_rest_macro"] = {
            score: mean_of_known([scores[score] for scores in one_vs_rest.values()])
            for score in ("roc_auc", "average_precision", "brier")
        }
        report["top_k_accuracy"] = {
            str(k): top_k_accuracy(labels, probabilities, k) for k in range(1, min(len(classes), 5) + 1)
        }
    report["calibration"] = calibration(labels, probabilities)
    return report


def mean_of_known(values):
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None
