"""How a model does on a data set, a part at a time: what training reports and evaluate prints.

Classification: accuracy and log loss (cross-entropy, no L2 term). Regression: the cost (half the squared
error of the standardised targets, what training minimises) and, in the targets' own units, RMSE, MAE and R²
computed as scikit-learn's metrics compute them (several targets: the plain average over targets).
"""

import numpy as np

from ..engine import LOSSES, OUTPUT_ACTIVATIONS, encode_labels, forward, predict_labels

SCORES = {"classification": ("accuracy",), "regression": ("rmse", "mae", "r2")}  # beside the cost, by task
HIGHER_IS_BETTER = {"accuracy": True, "rmse": False, "mae": False, "r2": True, "cost": False}


def task_of(net):
    return "regression" if net.output == "identity" else "classification"


def targets_of(net, dataset, dtype):
    """What the network learns for a data set, (outputs, m): its labels encoded for the output, or its
    standardised targets."""
    if task_of(net) == "regression":
        return dataset.targets(dtype)
    return encode_labels(net, dataset.labels, dtype)


def score(net, params, dataset, dtype, class_counts=None):
    """The scores of a model on a data set: {"examples", "cost", each of ``SCORES[task]``, and beside them a
    baseline's}. Classes: each class's ``recall`` (a list in the order of the classes), the balanced accuracy
    (their mean over the classes present) and, given the
    training set's ``class_counts``, the accuracy and balanced accuracy of always answering its most common class
    (``baseline_accuracy``, ``baseline_balanced_accuracy``). Numbers: RMSE, MAE and R² of always answering the
    training mean (``baseline_rmse``, ...)."""
    if task_of(net) == "regression":
        return regression_score(net, params, dataset, dtype)
    correct, cost, k = 0, 0.0, net.n_classes
    confusion = np.zeros((k, k), dtype=np.int64)
    for part in dataset.parts():
        ZL = forward(net, params, part.rows(dtype).T)[0]  # not the cache: it holds this part's rows
        predicted = predict_labels(net, OUTPUT_ACTIVATIONS[net.output](ZL))
        correct += int(np.sum(predicted == part.labels))
        confusion += np.bincount(part.labels * k + predicted, minlength=k * k).reshape(k, k)
        cost += LOSSES[net.output](ZL, encode_labels(net, part.labels, dtype)) * (part.m / dataset.m)
    scores = {"examples": dataset.m, "accuracy": correct / dataset.m, "cost": cost}
    scores["balanced_accuracy"] = mean_recall(confusion)
    scores["recall"] = class_recalls(confusion)
    if class_counts is not None and dataset.m:
        common = int(np.argmax(class_counts))  # always answering it: every example predicted as it
        present = confusion.sum(axis=1)
        scores["baseline_accuracy"] = float(present[common] / dataset.m)
        scores["baseline_balanced_accuracy"] = float(1 / np.count_nonzero(present)) if present[common] else 0.0
    return scores


def class_recalls(confusion):
    """Each class's share of its examples answered right, in the order of the classes; None for a class without
    an example in the set."""
    present = confusion.sum(axis=1)
    return [float(right / n) if n else None for right, n in zip(np.diag(confusion), present, strict=True)]


def mean_recall(confusion):
    """The mean over the classes present of the share of their examples answered right (scikit-learn's
    balanced_accuracy_score); None for no example."""
    present = confusion.sum(axis=1)
    if not present.any():
        return None
    return float(np.mean(np.diag(confusion)[present > 0] / present[present > 0]))


def regression_score(net, params, dataset, dtype):
    cost, k = 0.0, net.layers[-1]
    squared, absolute = np.zeros(k), np.zeros(k)
    base_squared, base_absolute = np.zeros(k), np.zeros(k)  # of always answering the training mean
    mean = np.asarray(dataset.encoder.target["mean"], dtype=np.float64)
    spread = Spread(k)
    for part in dataset.parts():
        ZL = forward(net, params, part.rows(dtype).T)[0]
        cost += LOSSES[net.output](ZL, part.targets(dtype)) * (part.m / dataset.m)
        error = dataset.encoder.in_units(ZL.astype(np.float64)) - part.values
        squared += (error * error).sum(axis=0)
        absolute += np.abs(error).sum(axis=0)
        base_squared += ((part.values - mean) ** 2).sum(axis=0)
        base_absolute += np.abs(part.values - mean).sum(axis=0)
        spread.add(part.values)
    baseline = regression_metrics(base_squared, base_absolute, spread.squares, dataset.m)
    return {
        "examples": dataset.m,
        "cost": cost,
        **regression_metrics(squared, absolute, spread.squares, dataset.m),
        **{f"baseline_{name}": value for name, value in baseline.items()},
    }


class Spread:
    """Per column, the sum of squared distances to the mean of every row added so far, merged a part at a
    time (Chan, Golub and LeVeque's update): exact for large values, where sum(y^2) - m mean^2 is not."""

    def __init__(self, k):
        self.count, self.mean, self.squares = 0, np.zeros(k), np.zeros(k)

    def add(self, rows):
        n = rows.shape[0]
        if n == 0:
            return
        mean = rows.mean(axis=0)
        squares = ((rows - mean) ** 2).sum(axis=0)
        total = self.count + n
        delta = mean - self.mean
        self.squares += squares + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total


def regression_metrics(squared, absolute, spread, m):
    """RMSE, MAE and R² from per-target sums of squared and absolute errors and the targets' spread (summed
    squared distance to their mean), each averaged over targets as scikit-learn's
    ``multioutput="uniform_average"``. R² of a constant target is 1 when predicted exactly and 0 otherwise, as
    scikit-learn's ``r2_score`` has it."""
    safe = np.where(spread > 0, spread, 1.0)
    r2 = np.where(spread > 0, 1 - squared / safe, np.where(squared == 0, 1.0, 0.0))
    return {
        "rmse": float(np.mean(np.sqrt(squared / m))),
        "mae": float(np.mean(absolute / m)),
        "r2": float(np.mean(r2)),
    }
