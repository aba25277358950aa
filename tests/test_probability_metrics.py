"""The scores from probabilities (model.metrics) against scikit-learn's on the same probabilities."""

import numpy as np
import pytest

from dnncli.model.metrics import (
    average_precision,
    brier_score,
    calibration,
    probability_report,
    roc_auc,
    top_k_accuracy,
)

sklearn_metrics = pytest.importorskip("sklearn.metrics")
sklearn_calibration = pytest.importorskip("sklearn.calibration")


def two_class_cases():
    rng = np.random.default_rng(3)
    for m in (2, 7, 50, 400):
        labels = rng.integers(0, 2, m)
        labels[:2] = (0, 1)  # both classes present
        noisy = np.clip(labels * 0.3 + rng.random(m) * 0.7, 0, 1)
        yield labels, noisy
        yield labels, np.round(noisy, 1)  # many ties
    yield np.array([0, 0, 1, 1]), np.array([0.5, 0.5, 0.5, 0.5])  # all tied
    yield np.array([1, 0, 1, 0, 1]), np.array([1.0, 0.0, 1.0, 0.0, 1.0])  # perfect


@pytest.mark.parametrize("labels, p", list(two_class_cases()))
def test_two_class_scores_match_scikit_learn(labels, p):
    assert roc_auc(labels == 1, p) == pytest.approx(sklearn_metrics.roc_auc_score(labels, p), abs=1e-12)
    assert average_precision(labels == 1, p) == pytest.approx(
        sklearn_metrics.average_precision_score(labels, p), abs=1e-12
    )
    assert brier_score(labels == 1, p) == pytest.approx(sklearn_metrics.brier_score_loss(labels, p), abs=1e-12)


def test_scores_that_have_no_meaning_are_none():
    always = np.ones(5, dtype=bool)
    assert roc_auc(always, np.linspace(0, 1, 5)) is None
    assert average_precision(~always, np.linspace(0, 1, 5)) is None
    assert roc_auc(~always, np.linspace(0, 1, 5)) is None


def softmax_case(m=300, k=4, seed=5):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, m)
    logits = rng.normal(size=(k, m)) + 1.5 * (np.arange(k)[:, None] == labels)
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=0)
    return labels, probabilities


def test_one_vs_rest_and_top_k_match_scikit_learn():
    labels, probabilities = softmax_case()
    classes = ["a", "b", "c", "d"]
    report = probability_report(labels, probabilities, classes)
    for k, name in enumerate(classes):
        scores = report["one_vs_rest"][name]
        truth = labels == k
        assert scores["roc_auc"] == pytest.approx(sklearn_metrics.roc_auc_score(truth, probabilities[k]))
        assert scores["average_precision"] == pytest.approx(
            sklearn_metrics.average_precision_score(truth, probabilities[k])
        )
        assert scores["brier"] == pytest.approx(sklearn_metrics.brier_score_loss(truth, probabilities[k]))
    macro = report["one_vs_rest_macro"]
    assert macro["roc_auc"] == pytest.approx(
        sklearn_metrics.roc_auc_score(labels, probabilities.T, multi_class="ovr", average="macro")
    )
    assert macro["average_precision"] == pytest.approx(
        sklearn_metrics.average_precision_score(np.eye(4)[labels], probabilities.T, average="macro")
    )
    for k in (1, 2, 3):
        expected = sklearn_metrics.top_k_accuracy_score(labels, probabilities.T, k=k)
        assert report["top_k_accuracy"][str(k)] == top_k_accuracy(labels, probabilities, k) == pytest.approx(expected)
    assert report["top_k_accuracy"]["1"] == np.mean(probabilities.argmax(axis=0) == labels)
    assert report["top_k_accuracy"]["4"] == 1.0


def test_calibration_bins_match_scikit_learn_and_the_error_adds_up():
    labels, probabilities = softmax_case(m=1000, k=3, seed=8)
    result = calibration(labels, probabilities)
    bins = result["bins"]
    assert len(bins) == 10 and sum(b["examples"] for b in bins) == 1000
    assert [b["lower"] for b in bins] == pytest.approx(np.arange(10) / 10)
    confidence = probabilities.max(axis=0)
    correct = probabilities.argmax(axis=0) == labels
    accuracy, mean_confidence = sklearn_calibration.calibration_curve(correct, confidence, n_bins=10)
    filled = [b for b in bins if b["examples"]]
    assert [b["accuracy"] for b in filled] == pytest.approx(accuracy)
    assert [b["confidence"] for b in filled] == pytest.approx(mean_confidence)
    error = sum(b["examples"] / 1000 * abs(b["accuracy"] - b["confidence"]) for b in filled)
    assert result["expected_calibration_error"] == pytest.approx(error)
    assert all(b["lower"] <= b["confidence"] < b["upper"] for b in filled)


def test_calibration_worked_by_hand():
    # four examples, two classes: confidences 0.95 (right), 0.95 (wrong), 0.65 (right), 1.0 (right)
    probabilities = np.array([[0.05, 0.95, 0.35, 0.0], [0.95, 0.05, 0.65, 1.0]])
    labels = np.array([1, 1, 1, 1])
    result = calibration(labels, probabilities)
    # bin 9 holds 0.95, 0.95 and 1.0: accuracy 2/3, confidence 0.9667; bin 6 holds 0.65: accuracy 1
    assert result["bins"][9]["examples"] == 3 and result["bins"][6]["examples"] == 1
    expected = 3 / 4 * abs(2 / 3 - (0.95 + 0.95 + 1.0) / 3) + 1 / 4 * abs(1 - 0.65)
    assert result["expected_calibration_error"] == pytest.approx(expected)
