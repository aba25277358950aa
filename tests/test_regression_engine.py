"""The identity output, for regression: its cost and gradients, its predictions, and every optimizer, schedule,
L2, dropout and batch norm training it on either path and resuming bit for bit."""

import numpy as np
import pytest

from conftest import checkable_problem
from dnncli.engine import (
    ACTIVATIONS,
    OPTIMIZERS,
    ArraySource,
    FastTrainer,
    Network,
    Settings,
    Trainer,
    accuracy,
    batch_norm_arrays,
    check_gradients,
    compute_cost,
    encode_labels,
    example_weights,
    forward,
    gradients,
    initialize,
    make_trainer,
    predict_labels,
    predict_proba,
    predict_values,
)
from dnncli.engine.fastpath import LINEAR_OPTIMIZERS
from dnncli.engine.trainer import dropout_masks

TOLERANCE = 1e-7


def regression_problem(layers, activations, m=7, seed=0, batch_norm=None, dtype=np.float64):
    """A network with an identity output, its arrays, a batch and real-valued targets (``checkable_problem``)."""
    return checkable_problem(layers, activations, "identity", m, seed, batch_norm, dtype)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_of_the_squared_error_matches_central_differences(activation):
    net, params, X, Y = regression_problem((5, 4, 3, 1), (activation, activation))
    assert max(check_gradients(net, params, X, Y)) < TOLERANCE


def test_several_outputs_with_l2_and_dropout():
    net, params, X, Y = regression_problem((6, 5, 4, 3), ("relu", "tanh"), m=10, seed=2)
    masks = dropout_masks(net, (0.6, 0.8), seed=9, iteration=0, batch=10, dtype=np.float64)
    assert any((mask == 0).any() for mask in masks)
    assert max(check_gradients(net, params, X, Y, masks=masks, l2=0.7)) < TOLERANCE


def test_no_hidden_layer_is_linear_regression():
    net, params, X, Y = regression_problem((6, 2), (), m=5)
    assert max(check_gradients(net, params, X, Y, l2=0.3)) < TOLERANCE
    # the gradient is the normal equations' residual: ((W X + b - Y) X^T + lambda W) / m
    _, grads = gradients(net, params, X, Y, l2=0.3)
    residual = params["W1"] @ X + params["b1"] - Y
    np.testing.assert_allclose(grads["dW1"], (residual @ X.T + 0.3 * params["W1"]) / 5, rtol=1e-12)
    np.testing.assert_allclose(grads["db1"], residual.sum(axis=1, keepdims=True) / 5, rtol=1e-12)


def test_batch_norm_with_l2_dropout_the_projection_and_the_cost():
    net, params, X, Y = regression_problem((6, 5, 4, 4, 2), ("relu", "tanh", "leaky_relu"), 9, 1, (True, False, True))
    masks = dropout_masks(net, (0.7, 1.0, 0.8), seed=2, iteration=0, batch=9, dtype=np.float64)
    projection = np.random.default_rng(5).normal(size=(2, 9))
    assert max(check_gradients(net, params, X, Y, masks, 0.4, projection=projection)) < TOLERANCE
    assert max(check_gradients(net, params, X, Y, masks, 0.4)) < TOLERANCE


def test_the_cost_by_hand():
    # one unit, no hidden layer: z = w x + b, cost = (1/2m) sum (z - y)^2 + (lambda / 2m) w^2
    net = Network((1, 1), (), "identity")
    params = {"W1": np.array([[2.0]]), "b1": np.array([[-1.0]])}
    X = np.array([[0.0, 1.0, 3.0]])
    Y = np.array([[0.5, 2.0, 4.0]])  # z = -1, 1, 5
    assert compute_cost(net, params, X, Y) == pytest.approx((1.5**2 + 1 + 1) / 6, rel=1e-15)
    assert compute_cost(net, params, X, Y, l2=0.3) == pytest.approx((1.5**2 + 1 + 1) / 6 + 0.3 / 6 * 4, rel=1e-15)
    # two outputs: the squared errors of both, summed, over 2m
    two = Network((1, 2), (), "identity")
    params = {"W1": np.array([[2.0], [0.0]]), "b1": np.array([[-1.0], [1.0]])}
    Y2 = np.vstack([Y, [[1.0, 1.0, 3.0]]])  # the second output is 1 for every example
    assert compute_cost(two, params, X, Y2) == pytest.approx((1.5**2 + 1 + 1 + 0 + 0 + 4) / 6, rel=1e-15)


def test_a_regression_has_values_not_classes():
    net, params, X, Y = regression_problem((4, 3, 2), ("relu",))
    assert net.is_regression and net.n_classes is None
    ZL, _ = forward(net, params, X)
    np.testing.assert_array_equal(predict_values(net, params, X), ZL)
    np.testing.assert_array_equal(predict_proba(net, params, X), ZL)  # the identity output activation
    for refused in (
        lambda: encode_labels(net, np.array([0, 1])),
        lambda: predict_labels(net, ZL),
        lambda: accuracy(net, params, X, np.zeros(7)),
        lambda: example_weights(net, Y, (1.0, 2.0)),
    ):
        with pytest.raises(AssertionError):
            refused()
    classifier = Network((4, 3, 1), ("relu",))
    assert not classifier.is_regression and classifier.n_classes == 2
    with pytest.raises(AssertionError, match="predict_values is for a network that predicts numbers"):
        predict_values(classifier, initialize(classifier.layers, "he", 0), X)


def test_float32_stays_float32():
    net, params, X, Y = regression_problem((5, 4, 2), ("relu",), dtype=np.float32)
    cost, grads = gradients(net, params, X, Y, l2=0.1)
    assert isinstance(cost, float)
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    assert predict_values(net, params, X).dtype == np.float32


# --- training ---------------------------------------------------------------


def regression_job(batch_norm=None, seed=0, m=64, features=8, dtype=np.float64):
    """Two numbers to predict from eight, neither of them linear in the inputs, and a network for them."""
    rng = np.random.default_rng(seed)
    rows = rng.normal(size=(m, features))
    Y = np.vstack([np.sin(rows[:, 0]) + rows[:, 1] * rows[:, 2], rows[:, 3] - 0.5 * rows[:, 4] ** 2])
    net = Network((features, 16, 8, 2), ("tanh", "relu"), "identity", batch_norm)
    params = initialize(net.layers, "he", seed, dtype)
    params.update(batch_norm_arrays(net, dtype))
    params = {name: params[name] for name in net.array_names}
    return net, params, ArraySource(rows.astype(dtype), Y.astype(dtype))


RATES = {"gd": 0.05, "momentum": 0.05, "adam": 0.01, "rmsprop": 0.005}
TRAININGS = {
    "plain": dict(),
    "l2": dict(l2=0.5),
    "dropout": dict(keep_probs=(0.9, 0.8)),
    "batch_norm": dict(),
    "inverse_time": dict(schedule="inverse_time", schedule_params={"decay_rate": 0.5, "every": 50}),
    "step": dict(schedule="step", schedule_params={"factor": 0.5, "every": 60}),
    "mini-batches": dict(batch_size=16, seed=3),
}


@pytest.mark.parametrize("training", TRAININGS)
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_and_option_learns_a_regression(optimizer, training):
    net, params, source = regression_job(batch_norm=(True, True) if training == "batch_norm" else None)
    settings_ = Settings(learning_rate=RATES[optimizer], optimizer=optimizer, **TRAININGS[training])
    trainer = Trainer(net, params, settings_, source)
    costs = [trainer.step() for _ in range(200)]
    assert all(np.isfinite(costs))
    assert np.mean(costs[-20:]) < 0.3 * np.mean(costs[:4])


# mini-batches shuffled, dropout, L2, a schedule and batch norm: everything that carries state across a resume
STATEFUL = dict(l2=0.2, keep_probs=(0.8, 1.0), batch_size=16, seed=5, schedule="step", schedule_params={"every": 7})
PATHS = [(optimizer, Trainer) for optimizer in sorted(OPTIMIZERS)]
PATHS += [(optimizer, FastTrainer) for optimizer in LINEAR_OPTIMIZERS]


@pytest.mark.parametrize("optimizer, first", PATHS)
def test_a_regression_resumes_bit_for_bit(tmp_path, optimizer, first):
    """Stopped after 10 steps of 30 (in its third epoch of 4 batches), its arrays and optimizer state saved
    to .npz files and read back, it continues on its path as if never stopped."""
    net, params, source = regression_job(batch_norm=(True, False), seed=4)
    settings_ = Settings(learning_rate=RATES[optimizer], optimizer=optimizer, **STATEFUL)
    straight = first(net, {k: v.copy() for k, v in params.items()}, settings_, source)
    costs = [straight.step() for _ in range(30)]
    interrupted = first(net, {k: v.copy() for k, v in params.items()}, settings_, source)
    for _ in range(10):
        interrupted.step()
    arrays, state = interrupted.snapshot()
    np.savez(tmp_path / "arrays.npz", **arrays)
    np.savez(tmp_path / "state.npz", **state)
    with np.load(tmp_path / "arrays.npz") as saved_arrays, np.load(tmp_path / "state.npz") as saved_state:
        arrays, state = dict(saved_arrays), dict(saved_state)
    resumed = make_trainer(net, arrays, settings_, source, "on" if first is FastTrainer else "off", state, 10)
    assert resumed.fast is straight.fast
    assert [resumed.step() for _ in range(20)] == costs[10:]
    assert costs[-1] < costs[0]
    for name, value in straight.snapshot()[0].items():
        np.testing.assert_array_equal(resumed.snapshot()[0][name], value)
