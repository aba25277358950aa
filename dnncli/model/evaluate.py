"""How well a trained model classifies a labelled data set (`dnn evaluate`).

Accuracy and log loss come from ``score.score``, the function ``dnn train``
reports with, so on the same data the numbers are the same. Each example's
probabilities come from ``predict.classify``, the function ``dnn predict`` uses.
"""

import numpy as np

from ..data.dataset import PIXEL_SCALE, check_same_classes
from ..errors import UserError
from .metrics import classification_report, probability_report
from .predict import classify, classify_rows, model_dtype, predicted_values, probability_map
from .score import SCORES, regression_metrics, score

SMALLEST_PROBABILITY = 1e-300  # an example's loss is -ln max(p(true), this): finite even when p(true) is 0


def check_scaled_as_data_sets(saved, path):
    """``score.score`` scales a data set by PIXEL_SCALE: a model whose header scales otherwise cannot be scored on one."""
    if not saved.takes_tables and saved.pixel_scale != PIXEL_SCALE:
        raise UserError(
            f"{path}: divides pixels by {saved.pixel_scale}; data sets are evaluated divided by {PIXEL_SCALE}"
        )


def evaluate(saved, dataset):
    """The report on a data set checked against the model: scores, counts, confusion, each example."""
    if saved.regression:
        return evaluate_regression(saved, dataset)
    if saved.takes_tables:
        parts = [classify_rows(saved, part.rows(model_dtype(saved))) for part in dataset.parts()]
    else:
        check_same_classes(saved, dataset)  # a checkpoint has the training set's classes and input shape
        parts = [classify(saved, part.pixels()) for part in dataset.parts()]  # refuses a model whose output overflows
    with np.errstate(over="ignore", invalid="ignore"):  # so what overflows here is before a ReLU, which ends it
        scores = score(saved.net, saved.params, dataset, model_dtype(saved))
    probabilities = np.hstack([p for p, _ in parts])
    predicted = np.concatenate([labels for _, labels in parts])
    assert scores["accuracy"] == float((predicted == dataset.labels).mean())
    classes = saved.classes
    report = {"examples": scores["examples"], "accuracy": scores["accuracy"], "log_loss": scores["cost"]}
    report.update(classification_report(dataset.labels, predicted, classes))
    report.update(probability_report(dataset.labels, probabilities, classes))
    report["predictions"] = [
        {
            **example_name(dataset, i),
            "true": classes[y],
            "predicted": classes[p],
            "loss": example_loss(column[y]),
            "probabilities": probability_map(classes, column),
        }
        for i, (y, p, column) in enumerate(zip(dataset.labels, predicted, probabilities.T, strict=True))
    ]
    return report


def evaluate_regression(saved, dataset):
    """The report of a regression model on a table: the scores of ``score.score`` (RMSE, MAE, R² in the targets'
    units, and the cost), each target's own, and each row's prediction and error."""
    dtype = model_dtype(saved)
    predicted = np.vstack([predicted_values(saved, part.rows(dtype)) for part in dataset.parts()])
    with np.errstate(over="ignore", invalid="ignore"):
        scores = score(saved.net, saved.params, dataset, dtype)
    targets = saved.encoder.target["columns"]
    report = {"examples": scores["examples"], "targets": list(targets), "cost": scores["cost"]}
    report.update({name: scores[name] for name in SCORES["regression"]})
    error = predicted - dataset.values
    report["per_target"] = {
        name: regression_metrics(
            (error[:, [k]] ** 2).sum(axis=0),
            np.abs(error[:, [k]]).sum(axis=0),
            spread_of(dataset.values[:, [k]]),
            dataset.m,
        )
        for k, name in enumerate(targets)
    }
    report["predictions"] = [
        {
            **example_name(dataset, i),
            "true": dict(zip(targets, map(float, truth), strict=True)),
            "predicted": dict(zip(targets, map(float, guess), strict=True)),
            "loss": float(0.5 * np.sum(((guess - truth) / np.asarray(saved.encoder.target["std"])) ** 2)),
        }
        for i, (truth, guess) in enumerate(zip(dataset.values, predicted, strict=True))
    ]
    return report


def spread_of(values):
    return ((values - values.mean(axis=0)) ** 2).sum(axis=0)


def example_name(dataset, i):
    """What names example ``i``: its index in the set, and for a folder set its file relative to the folder, for
    a table its line (or Parquet row) in the file."""
    if getattr(dataset, "position_name", None):
        return {"index": i, dataset.position_name: int(dataset.positions[i])}
    return {"index": i} if dataset.files is None else {"index": i, "file": dataset.files[i]}


def example_loss(p_true):
    """Cross-entropy of one example, -ln p(true class)."""
    return float(-np.log(max(float(p_true), SMALLEST_PROBABILITY)))


NAMES = ("index", "file", "line", "row")  # what may name an example in a record (``example_name``)


def top_losses_of(report, n):
    """The ``n`` predictions of an evaluation with the highest loss, the most confidently wrong first.

    Each: the example's name, its true and predicted class with p(true) and p(predicted), or a regression's true
    and predicted value of each target with the error (predicted - true). Equal losses keep the set's order.
    """
    ranked = sorted(report["predictions"], key=lambda record: -record["loss"])[:n]
    return [
        {
            **{key: record[key] for key in NAMES if key in record},
            "true": record["true"],
            "predicted": record["predicted"],
            **how_wrong(record),
            "loss": record["loss"],
        }
        for record in ranked
    ]


def how_wrong(record):
    if "probabilities" in record:
        return {
            "p_true": record["probabilities"][record["true"]],
            "p_predicted": record["probabilities"][record["predicted"]],
        }
    return {"error": {name: record["predicted"][name] - value for name, value in record["true"].items()}}
