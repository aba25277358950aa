"""How well a trained model classifies a labelled data set (`dnn evaluate`).

The log loss at T = 1 comes from ``score.score``, the function ``dnn train`` reports with, so on the same data
the numbers are the same. Each example's probabilities and class come as ``dnn predict`` gives them: calibrated
by the checkpoint's temperature, and for two classes above its threshold; with a temperature the log loss and
calibration error at T = 1 are reported beside (``uncalibrated``). Every score stands beside its baseline,
always answering the training set's most common class (or its mean), and the inputs flagged unfamiliar are
counted.
"""

import numpy as np

from ..data.dataset import PIXEL_SCALE, check_same_classes
from ..errors import UserError
from .answers import answers, familiar_fields, picture_unfamiliarity, row_unfamiliarity
from .baselines import balanced_accuracy, class_scores_with_baseline, mean_baseline, no_better_text
from .calibration import scaled_log_loss, targets
from .honesty import CALIBRATION, THRESHOLD
from .metrics import calibration, classification_report, probability_report
from .predict import activated, class_answers, logits, model_dtype, picture_rows, predicted_values, probability_map
from .score import SCORES, regression_metrics, score

SMALLEST_PROBABILITY = 1e-300  # an example's loss is -ln max(p(true), this): finite even when p(true) is 0


def check_scaled_as_data_sets(saved, path):
    """``score.score`` scales a data set by PIXEL_SCALE: a model whose header scales otherwise cannot be scored on one."""
    if not saved.takes_tables and saved.pixel_scale != PIXEL_SCALE:
        raise UserError(
            f"{path}: divides pixels by {saved.pixel_scale}; data sets are evaluated divided by {PIXEL_SCALE}"
        )


def evaluate(saved, dataset, min_confidence=None):
    """The report on a data set checked against the model: scores beside their baseline, counts, confusion,
    calibration, the inputs flagged unfamiliar, each example."""
    if saved.regression:
        return evaluate_regression(saved, dataset)
    if not saved.takes_tables:
        check_same_classes(saved, dataset)  # a checkpoint has the training set's classes and input shape
    z, unfamiliarity = logits_and_unfamiliarity(saved, dataset)  # refuses a model whose output overflows
    with np.errstate(over="ignore", invalid="ignore"):  # so what overflows here is before a ReLU, which ends it
        scores = score(saved.net, saved.params, dataset, model_dtype(saved))  # at T = 1: training's figures
    probabilities, predicted = class_answers(saved, activated(saved, z))
    labels, classes = dataset.labels, saved.classes
    report = {"examples": scores["examples"], "accuracy": float(np.mean(predicted == labels))}
    report["log_loss"] = scores["cost"] if saved.temperature == 1 else log_loss(z, labels, saved.temperature)
    report.update(class_scores_beside_baseline(saved, labels, predicted))
    report.update(classification_report(labels, predicted, classes))
    report.update(probability_report(labels, probabilities, classes))
    report.update(calibration_beside_uncalibrated(saved, z, labels, scores["cost"]))
    report["threshold"] = saved.header.get(THRESHOLD)
    report["unfamiliar"] = flagged(unfamiliarity, predicted == labels)
    if min_confidence is not None:
        report["abstaining"] = abstaining(probabilities, predicted, labels, min_confidence)
    said = answers(saved, probabilities, predicted, unfamiliarity)
    report["predictions"] = [
        {
            **example_name(dataset, i),
            "true": classes[y],
            "predicted": classes[p],
            "loss": example_loss(column[y]),
            "margin": answer["margin"],
            "unfamiliarity": answer["unfamiliarity"],
            "unfamiliar": answer["unfamiliar"],
            "probabilities": probability_map(classes, column),
        }
        for i, (y, p, column, answer) in enumerate(zip(labels, predicted, probabilities.T, said, strict=True))
    ]
    return report


def logits_and_unfamiliarity(saved, dataset):
    """The logits (outputs, m) of every example of ``dataset`` and their unfamiliarity (None without it)."""
    dtype = model_dtype(saved)
    logits_, unfamiliarity = [], []
    for part in dataset.parts():
        if saved.takes_tables:
            rows = part.rows(dtype)
            unfamiliarity.append(row_unfamiliarity(saved, rows))
        else:
            pixels = part.pixels()
            rows = picture_rows(saved, pixels)
            unfamiliarity.append(picture_unfamiliarity(saved, pixels))
        logits_.append(logits(saved, rows))
    known = saved.familiarity is not None and unfamiliarity
    return np.hstack(logits_), np.concatenate(unfamiliarity) if known else None


def log_loss(z, labels, temperature):
    return float(scaled_log_loss(np.asarray(z, np.float64), targets(z, labels), temperature))


def class_scores_beside_baseline(saved, labels, predicted):
    """Balanced accuracy, and beside it and accuracy, always answering the training set's most common class
    (``baseline``: None for a checkpoint without its class counts); ``no_better`` says in words when the model
    does no better than that."""
    k = len(saved.classes)
    report = {"balanced_accuracy": balanced_accuracy(labels, predicted, k), "baseline": None, "no_better": None}
    if saved.class_counts is None:
        return report
    train_labels = np.repeat(np.arange(k), saved.class_counts)
    scores = class_scores_with_baseline(train_labels, labels, predicted, k)
    baseline = scores["baseline"]
    report["baseline"] = {"class": saved.classes[baseline["class"]], **{n: baseline[n] for n in BASELINE_SCORES}}
    report["no_better"] = no_better_text(scores, saved.classes)
    return report


BASELINE_SCORES = ("accuracy", "balanced_accuracy")


def calibration_beside_uncalibrated(saved, z, labels, cost):
    """The checkpoint's temperature (its header's ``calibration``, None when not calibrated), and with one the
    log loss and calibration error of the probabilities at T = 1, for before and after."""
    fitted = saved.header.get(CALIBRATION)
    if fitted is None:
        return {"temperature": None}
    probabilities, _ = class_answers(saved, activated(saved, z, 1.0))
    error = calibration(labels, probabilities)["expected_calibration_error"]
    return {"temperature": fitted, "uncalibrated": {"log_loss": cost, "calibration_error": error}}


def flagged(unfamiliarity, right=None):
    """How many inputs are unfamiliar (past the threshold), and how often the model is right on those and on the
    rest; None for a model without familiarity."""
    if unfamiliarity is None:
        return None
    unfamiliar = unfamiliarity > 1
    counts = {"flagged": int(unfamiliar.sum()), "examples": len(unfamiliar)}
    if right is not None:
        counts["accuracy_flagged"] = float(right[unfamiliar].mean()) if unfamiliar.any() else None
        counts["accuracy_familiar"] = float(right[~unfamiliar].mean()) if (~unfamiliar).any() else None
    return counts


def abstaining(probabilities, predicted, labels, min_confidence):
    """What answering only at ``min_confidence`` or above does: how many are answered, and their accuracy."""
    answered = probabilities[predicted, np.arange(len(predicted))] >= min_confidence
    right = predicted == labels
    return {
        "min_confidence": min_confidence,
        "answered": int(answered.sum()),
        "examples": len(answered),
        "accuracy_answered": float(right[answered].mean()) if answered.any() else None,
    }


def evaluate_regression(saved, dataset):
    """The report of a regression model on a table: the scores of ``score.score`` (RMSE, MAE, R² in the targets'
    units, and the cost) beside those of always answering the training mean, each target's own, the rows flagged
    unfamiliar, and each row's prediction and error."""
    dtype = model_dtype(saved)
    predicted = np.vstack([predicted_values(saved, part.rows(dtype)) for part in dataset.parts()])
    unfamiliarity = row_unfamiliarity(saved, dataset.rows(dtype))
    with np.errstate(over="ignore", invalid="ignore"):
        scores = score(saved.net, saved.params, dataset, dtype)
    targets_ = saved.encoder.target["columns"]
    report = {"examples": scores["examples"], "targets": list(targets_), "cost": scores["cost"]}
    report.update({name: scores[name] for name in SCORES["regression"]})
    report["baseline"] = mean_baseline(saved.encoder.target["mean"], dataset.values)
    report["no_better"] = no_better_text(report)
    report["unfamiliar"] = flagged(unfamiliarity)
    error = predicted - dataset.values
    report["per_target"] = {
        name: regression_metrics(
            (error[:, [k]] ** 2).sum(axis=0),
            np.abs(error[:, [k]]).sum(axis=0),
            spread_of(dataset.values[:, [k]]),
            dataset.m,
        )
        for k, name in enumerate(targets_)
    }
    report["predictions"] = [
        {
            **example_name(dataset, i),
            "true": dict(zip(targets_, map(float, truth), strict=True)),
            "predicted": dict(zip(targets_, map(float, guess), strict=True)),
            "loss": float(0.5 * np.sum(((guess - truth) / np.asarray(saved.encoder.target["std"])) ** 2)),
            **familiar_fields(unfamiliarity, i),
        }
        for i, (truth, guess) in enumerate(zip(dataset.values, predicted, strict=True))
    ]
    return report


def spread_of(values):
    return ((values - values.mean(axis=0)) ** 2).sum(axis=0)


def example_name(dataset, i):
    """What names example ``i``: its index in the set, and for a folder set its file relative to the folder, for
    a table its line (or Parquet row) in the file and its id cells (``data.id``)."""
    if getattr(dataset, "position_name", None):
        ids = getattr(dataset, "ids", None)
        named = {"ids": {name: cells[i] for name, cells in ids.items()}} if ids else {}
        return {"index": i, dataset.position_name: int(dataset.positions[i]), **named}
    return {"index": i} if dataset.files is None else {"index": i, "file": dataset.files[i]}


def example_loss(p_true):
    """Cross-entropy of one example, -ln p(true class)."""
    return float(-np.log(max(float(p_true), SMALLEST_PROBABILITY)))


NAMES = ("index", "file", "line", "row", "ids")  # what may name an example in a record (``example_name``)


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
