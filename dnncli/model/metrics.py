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
