"""Accuracy and log loss of a model on a data set, a part at a time: what training reports and evaluate prints."""

import numpy as np

from ..engine import LOSSES, OUTPUT_ACTIVATIONS, encode_labels, forward, predict_labels


def score(net, params, dataset, dtype):
    """Accuracy and log loss (cross-entropy, no L2 term) of a model on a data set, a part at a time."""
    correct, cost = 0, 0.0
    for part in dataset.parts():
        ZL = forward(net, params, part.rows(dtype).T)[0]  # not the cache: it holds this part's rows
        predicted = predict_labels(net, OUTPUT_ACTIVATIONS[net.output](ZL))
        correct += int(np.sum(predicted == part.labels))
        cost += LOSSES[net.output](ZL, encode_labels(net, part.labels, dtype)) * (part.m / dataset.m)
    return {"examples": dataset.m, "accuracy": correct / dataset.m, "cost": cost}
