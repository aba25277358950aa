"""What a model that learned nothing would score, to stand beside every score.

For classes: always answering the training set's most common class (its accuracy is that class's share;
its balanced accuracy, the mean recall over the classes present, is 1 / their number). For a number
to predict: always answering the training mean (its R^2 is 0 on the training set and at most 0
elsewhere; its RMSE is the targets' spread about that mean). ``no_better`` says, by a plain rule, when a
model is no better than its baseline.
"""

import numpy as np

from .metrics import class_scores, confusion_matrix
from .score import regression_metrics


def most_common_class(train_labels, n_classes):
    """The class with the most training examples (the lowest of those tied)."""
    return int(np.argmax(np.bincount(np.asarray(train_labels), minlength=n_classes)))


def per_class_recall(labels, predicted, n_classes):
    """Per class, the share of its examples answered as it (0 for a class with none)."""
    return class_scores(confusion_matrix(labels, predicted, n_classes))["recall"]


def balanced_accuracy(labels, predicted, n_classes):
    """The mean recall over the classes present in ``labels`` (scikit-learn's balanced_accuracy_score)."""
    present = np.bincount(np.asarray(labels), minlength=n_classes) > 0
    return float(per_class_recall(labels, predicted, n_classes)[present].mean())


def class_scores_with_baseline(train_labels, labels, predicted, n_classes):
    """A model's accuracy, balanced accuracy and per-class recall on ``labels``, and the same of always
    answering the training set's most common class."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    common = most_common_class(train_labels, n_classes)
    always = np.full_like(labels, common)
    return {
        "accuracy": float(np.mean(predicted == labels)),
        "balanced_accuracy": balanced_accuracy(labels, predicted, n_classes),
        "recall": per_class_recall(labels, predicted, n_classes).tolist(),
        "baseline": {
            "class": common,
            "accuracy": float(np.mean(always == labels)),
            "balanced_accuracy": balanced_accuracy(labels, always, n_classes),
        },
    }


def r_squared(targets, predicted):
    """1 - sum (y - f)^2 / sum (y - mean y)^2 over every target; None when the targets never vary."""
    targets, predicted = np.asarray(targets, dtype=np.float64), np.asarray(predicted, dtype=np.float64)
    spread = np.sum((targets - targets.mean(axis=0)) ** 2)
    return None if spread == 0 else float(1 - np.sum((targets - predicted) ** 2) / spread)


def rmse(targets, predicted):
    return float(np.sqrt(np.mean((np.asarray(targets, dtype=np.float64) - predicted) ** 2)))


def regression_scores_with_baseline(train_targets, targets, predicted):
    """A model's R^2 and RMSE on ``targets`` (m,) or (m, k), and the same of always answering the training mean."""
    mean = np.asarray(train_targets, dtype=np.float64).mean(axis=0)
    always = np.broadcast_to(mean, np.shape(targets))
    return {
        "r2": r_squared(targets, predicted),
        "rmse": rmse(targets, predicted),
        "baseline": {"r2": r_squared(targets, always), "rmse": rmse(targets, always)},
    }


def mean_baseline(train_mean, values):
    """RMSE, MAE and R² of always answering the training mean on ``values`` (m, targets), each averaged over the
    targets as ``score.regression_metrics`` averages a model's, so the two stand side by side."""
    values = np.asarray(values, dtype=np.float64)
    error = np.asarray(train_mean, dtype=np.float64) - values
    spread = ((values - values.mean(axis=0)) ** 2).sum(axis=0)
    return regression_metrics((error**2).sum(axis=0), np.abs(error).sum(axis=0), spread, len(values))


# an RMSE within this share of the mean's is no better than the mean: a network whose units all died but for one
# training row's answers the mean for every other row, 0.00004% below the mean's RMSE
CLOSE_TO_THE_MEAN = 1e-3


def no_better(scores):
    """Whether a model is no better than its baseline (``scores`` as the two functions above give them).

    Classes: its accuracy is not above the baseline's and its balanced accuracy is not above the
    baseline's either (a model that trades accuracy for balanced accuracy on uneven classes is better).
    A number: its RMSE is not below the baseline's by more than ``CLOSE_TO_THE_MEAN`` of it.
    """
    baseline = scores["baseline"]
    if "rmse" in scores:
        return scores["rmse"] >= (1 - CLOSE_TO_THE_MEAN) * baseline["rmse"]
    return scores["accuracy"] <= baseline["accuracy"] and scores["balanced_accuracy"] <= baseline["balanced_accuracy"]


def no_better_text(scores, classes=None):
    """One sentence saying that a model is no better than its baseline, with the numbers; None when it is better."""
    if not no_better(scores):
        return None
    baseline = scores["baseline"]
    if "rmse" in scores:
        return (
            f"no better than always answering the training mean: RMSE {scores['rmse']:.6g} against its "
            f"{baseline['rmse']:.6g}"
        )
    name = classes[baseline["class"]] if classes else baseline["class"]
    return (
        f"no better than always answering {name!r}: accuracy {scores['accuracy']:.4f} against its "
        f"{baseline['accuracy']:.4f}, balanced accuracy {scores['balanced_accuracy']:.4f} against its "
        f"{baseline['balanced_accuracy']:.4f}"
    )


HELD_OUT_FIRST = ("test", "validation", "train")  # the split a run is judged on: the first it has


def run_verdict(final, classes, class_counts=None):
    """A warning when a finished run's model is no better than its baseline on its test set (else its validation
    split, else its training set), from the scores ``score.score`` gave ({split: scores or None}); else None."""
    for split in HELD_OUT_FIRST:
        scores = final.get(split)
        if scores is None:
            continue
        if "baseline_rmse" in scores:
            judged = {"rmse": scores["rmse"], "baseline": {"rmse": scores["baseline_rmse"]}}
        elif "baseline_accuracy" in scores and class_counts is not None:
            baseline = {"class": int(np.argmax(class_counts)), "accuracy": scores["baseline_accuracy"]}
            baseline["balanced_accuracy"] = scores["baseline_balanced_accuracy"]
            judged = {
                "accuracy": scores["accuracy"],
                "balanced_accuracy": scores["balanced_accuracy"],
                "baseline": baseline,
            }
        else:
            return None
        text = no_better_text(judged, classes)
        return None if text is None else f"on the {split} set the model is {text}"
    return None
