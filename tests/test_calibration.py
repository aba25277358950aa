"""Temperature scaling (model.calibration): the fitted T against a peer's search, the calibration error it
leaves against scikit-learn's reliability curve."""

import math

import numpy as np
import pytest

from dnncli.model.calibration import HIGHEST, LOWEST, calibrated, fit_temperature, scaled_log_loss, targets
from dnncli.model.metrics import calibration

optimize = pytest.importorskip("scipy.optimize")
sklearn_calibration = pytest.importorskip("sklearn.calibration")
sklearn_metrics = pytest.importorskip("sklearn.metrics")


def overconfident(m=2000, k=3, sharpness=4.0, seed=1):
    """Labels drawn from softmax(z), and logits ``sharpness`` times z: a model more sure than it is right."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(k, m)) * 1.5
    p = np.exp(z) / np.exp(z).sum(axis=0)
    labels = np.array([rng.choice(k, p=column) for column in p.T])
    return sharpness * z, labels


@pytest.mark.parametrize("k, sharpness", [(1, 4.0), (3, 4.0), (3, 0.5), (5, 2.0)])
def test_the_temperature_is_the_minimum_a_peer_finds(k, sharpness):
    if k == 1:  # a sigmoid: one logit, the second class's
        two, labels = overconfident(k=2, sharpness=sharpness)
        logits = (two[1] - two[0])[None, :]
    else:
        logits, labels = overconfident(k=k, sharpness=sharpness)
    fitted = fit_temperature(logits, labels)
    y = targets(logits, labels)
    peer = optimize.minimize_scalar(
        lambda u: scaled_log_loss(logits, y, math.exp(u)), bounds=(math.log(LOWEST), math.log(HIGHEST)),
        method="bounded", options={"xatol": 1e-8},
    )  # fmt: skip
    assert fitted.temperature == pytest.approx(math.exp(peer.x), rel=1e-4)
    assert fitted.temperature == pytest.approx(sharpness, rel=0.15)  # the logits were made sharpness times too sure
    assert fitted.log_loss_after <= fitted.log_loss_before
    expected_before = sklearn_metrics.log_loss(
        labels, calibrated(logits, 1.0).T if k > 1 else calibrated(logits, 1.0)[0]
    )
    assert fitted.log_loss_before == pytest.approx(expected_before, rel=1e-9)


def test_calibrated_probabilities_have_a_lower_calibration_error_as_scikit_learn_counts_it():
    logits, labels = overconfident(m=4000, k=3, sharpness=3.0, seed=2)
    fitted = fit_temperature(logits[:, :2000], labels[:2000])  # fitted on one half, measured on the other
    held_logits, held_labels = logits[:, 2000:], labels[2000:]
    errors = []
    for t in (1.0, fitted.temperature):
        p = calibrated(held_logits, t)
        confidence, correct = p.max(axis=0), p.argmax(axis=0) == held_labels
        accuracy, mean_confidence = sklearn_calibration.calibration_curve(correct, confidence, n_bins=10)
        counts = np.histogram(confidence, bins=np.linspace(0, 1, 11))[0]
        peer = np.sum(counts[counts > 0] / len(confidence) * np.abs(accuracy - mean_confidence))
        ours = calibration(held_labels, p)["expected_calibration_error"]
        assert ours == pytest.approx(peer)
        errors.append(ours)
    assert errors[1] < errors[0] / 3
    assert np.array_equal(calibrated(held_logits, fitted.temperature).argmax(axis=0), held_logits.argmax(axis=0))


def test_a_sigmoid_output_is_calibrated_as_its_two_class_softmax():
    rng = np.random.default_rng(3)
    z = rng.normal(size=(1, 50)) * 5
    labels = (rng.random(50) < 1 / (1 + np.exp(-z[0] / 5))).astype(int)
    as_softmax = np.vstack([np.zeros(50), z[0]])
    assert fit_temperature(z, labels).temperature == pytest.approx(fit_temperature(as_softmax, labels).temperature)
    assert calibrated(z, 2.0)[0] == pytest.approx(calibrated(as_softmax, 2.0)[1])


def test_a_model_always_right_and_sure_is_sharpened_to_the_lowest_temperature():
    logits = np.array([[3.0, -2.0, 4.0, -5.0]])
    assert fit_temperature(logits, [1, 0, 1, 0]).temperature == pytest.approx(LOWEST, rel=1e-3)
