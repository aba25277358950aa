"""How well a trained model classifies a labelled data set (`dnn evaluate`).

Accuracy and log loss come from ``score.score``, the function ``dnn train``
reports with, so on the same data the numbers are the same. Each example's
probabilities come from ``predict.classify``, the function ``dnn predict`` uses.
"""

import numpy as np

from ..data.dataset import check_same_classes
from .metrics import classification_report
from .predict import classify, model_dtype, probability_map
from .score import score


def evaluate(saved, dataset):
    """The report on a data set checked against the model: scores, counts, confusion, each example."""
    check_same_classes(saved, dataset)  # a checkpoint has the training set's classes and input shape
    scores = score(saved.net, saved.params, dataset, model_dtype(saved))
    parts = [classify(saved, part.pixels()) for part in dataset.parts()]
    probabilities = np.hstack([p for p, _ in parts])
    predicted = np.concatenate([labels for _, labels in parts])
    assert scores["accuracy"] == float((predicted == dataset.labels).mean())
    classes = saved.classes
    report = {"examples": scores["examples"], "accuracy": scores["accuracy"], "log_loss": scores["cost"]}
    report.update(classification_report(dataset.labels, predicted, classes))
    report["predictions"] = [
        {"index": i, "true": classes[y], "predicted": classes[p], "probabilities": probability_map(classes, column)}
        for i, (y, p, column) in enumerate(zip(dataset.labels, predicted, probabilities.T, strict=True))
    ]
    return report


