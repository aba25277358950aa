"""Thresholds chosen from data (model.thresholds) and the baselines beside every score (model.baselines),
against scikit-learn's precision_recall_curve, f1_score, balanced_accuracy_score and recall_score."""

import numpy as np
import pytest

from dnncli.engine import Network, predict_labels
from dnncli.model.baselines import (
    balanced_accuracy,
    class_scores_with_baseline,
    most_common_class,
    no_better,
    no_better_text,
    per_class_recall,
    regression_scores_with_baseline,
)
from dnncli.model.thresholds import choose_threshold

sklearn_metrics = pytest.importorskip("sklearn.metrics")
SIGMOID = Network((3, 1), ())


def cases():
    rng = np.random.default_rng(0)
    for m in (5, 40, 300):
        truth = rng.random(m) < 0.3
        truth[:2] = (True, False)
        yield truth, np.clip(truth * 0.25 + rng.random(m) * 0.75, 0, 1)
        yield truth, np.round(rng.random(m), 1)  # ties
    yield np.array([True, False, True]), np.array([0.0, 0.0, 1.0])  # a score of 0 to go below


def answered(scores, threshold):
    """What predict and evaluate answer at ``threshold``: the second class above it."""
    return predict_labels(SIGMOID, scores[None, :], threshold).astype(bool)


@pytest.mark.parametrize("truth, scores", list(cases()))
def test_f1_and_balanced_accuracy_are_the_best_any_threshold_gives(truth, scores):
    every = [answered(scores, t) for t in np.r_[np.unique(scores) - 1e-9, 1.0]]  # every distinct answer
    for rule, peer in (
        ("f1", sklearn_metrics.f1_score),
        ("balanced_accuracy", sklearn_metrics.balanced_accuracy_score),
    ):
        chosen = choose_threshold(truth, scores, rule)
        predicted = answered(scores, chosen["threshold"])
        assert peer(truth, predicted) == pytest.approx(chosen[rule])
        assert chosen[rule] == pytest.approx(max(peer(truth, p) for p in every))
        assert sklearn_metrics.precision_score(truth, predicted) == pytest.approx(chosen["precision"])
        assert sklearn_metrics.recall_score(truth, predicted) == pytest.approx(chosen["recall"])


@pytest.mark.parametrize("truth, scores", list(cases()))
@pytest.mark.parametrize("target", [0.5, 0.8, 1.0])
def test_a_target_precision_gets_the_most_recall_that_reaches_it(truth, scores, target):
    precision, recall, _ = sklearn_metrics.precision_recall_curve(truth, scores)
    reaching = recall[precision >= target]
    reaching = reaching[reaching > 0]  # the curve's last point answers nothing: no threshold gives it
    chosen = choose_threshold(truth, scores, "precision", target)
    if len(reaching) == 0:
        assert chosen is None
        return
    assert chosen["recall"] == pytest.approx(reaching.max())
    predicted = answered(scores, chosen["threshold"])
    assert sklearn_metrics.precision_score(truth, predicted) >= target
    assert sklearn_metrics.recall_score(truth, predicted) == pytest.approx(chosen["recall"])


def test_no_threshold_without_both_classes():
    assert choose_threshold(np.ones(4, bool), np.linspace(0, 1, 4)) is None
    assert choose_threshold(np.zeros(4, bool), np.linspace(0, 1, 4), "balanced_accuracy") is None


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
@pytest.mark.parametrize("k", [2, 3, 5])
def test_recall_and_balanced_accuracy_match_scikit_learn(k):
    rng = np.random.default_rng(k)
    labels, predicted = rng.integers(0, k, 200), rng.integers(0, k, 200)
    labels[labels == k - 1] = 0  # a class absent from the data, and answered all the same
    assert balanced_accuracy(labels, predicted, k) == pytest.approx(
        sklearn_metrics.balanced_accuracy_score(labels, predicted)
    )
    expected = sklearn_metrics.recall_score(labels, predicted, labels=range(k), average=None, zero_division=0)
    assert per_class_recall(labels, predicted, k) == pytest.approx(expected)


def test_the_majority_baseline_of_an_85_15_set_and_a_model_that_collapsed_to_it():
    train = np.r_[np.zeros(85, int), np.ones(15, int)]
    test = np.r_[np.zeros(11, int), np.ones(2, int)]
    assert most_common_class(train, 2) == 0
    collapsed = class_scores_with_baseline(train, test, np.zeros(13, int), 2)
    assert collapsed["accuracy"] == collapsed["baseline"]["accuracy"] == pytest.approx(11 / 13)  # 0.8462
    assert collapsed["balanced_accuracy"] == collapsed["baseline"]["balanced_accuracy"] == 0.5
    assert collapsed["recall"] == [1.0, 0.0]
    assert no_better(collapsed)
    assert no_better_text(collapsed, ["a", "b"]) == (
        "no better than always answering 'a': accuracy 0.8462 against its 0.8462, "
        "balanced accuracy 0.5000 against its 0.5000"
    )
    finds_some = class_scores_with_baseline(train, test, np.r_[np.zeros(10, int), 1, 1, 0], 2)
    assert finds_some["accuracy"] <= finds_some["baseline"]["accuracy"]  # no more accurate, but finds 'b'
    assert not no_better(finds_some) and no_better_text(finds_some) is None


def test_the_regression_baseline_is_the_training_mean():
    rng = np.random.default_rng(5)
    train, targets = rng.normal(3, 2, 100), rng.normal(3.5, 2, 40)
    model = targets + rng.normal(0, 0.5, 40)
    scores = regression_scores_with_baseline(train, targets, model)
    always = np.full(40, train.mean())
    assert (
        scores["baseline"]["r2"] == pytest.approx(sklearn_metrics.r2_score(targets, always))
        and scores["baseline"]["r2"] <= 0
    )
    assert scores["baseline"]["rmse"] == pytest.approx(np.sqrt(sklearn_metrics.mean_squared_error(targets, always)))
    assert scores["r2"] == pytest.approx(sklearn_metrics.r2_score(targets, model))
    assert regression_scores_with_baseline(train, train, always[:1].repeat(100))["baseline"]["r2"] == pytest.approx(0)
    assert not no_better(scores)
    worse = regression_scores_with_baseline(train, targets, targets + 10)
    assert no_better(worse) and no_better_text(worse).startswith("no better than always answering the training mean")
