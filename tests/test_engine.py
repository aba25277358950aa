"""The math: backprop against central differences, costs and updates against hand-worked numbers."""

import math

import numpy as np
import pytest

from dnncli.engine import (
    ACTIVATIONS,
    OPTIMIZERS,
    SCHEDULES,
    Network,
    check_gradients,
    compute_cost,
    encode_labels,
    gradients,
    initialize,
    predict_proba,
)
from dnncli.engine.trainer import dropout_masks

TOLERANCE = 1e-7


def problem(layers, activations, output="sigmoid", m=7, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    net = Network(tuple(layers), tuple(activations), output)
    params = initialize(net.layers, "xavier", seed)
    for name in params:
        params[name] = params[name] * scale + (rng.normal(0, 0.1, params[name].shape) if name[0] == "b" else 0)
    X = rng.normal(size=(layers[0], m))
    labels = rng.integers(0, net.n_classes, size=m)
    return net, params, X, encode_labels(net, labels)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_matches_central_differences(activation):
    net, params, X, Y = problem((5, 4, 3, 1), (activation, activation))
    assert max(check_gradients(net, params, X, Y)) < TOLERANCE


def test_mixed_activations_and_deep_network():
    net, params, X, Y = problem((4, 6, 5, 4, 3, 1), ("relu", "tanh", "leaky_relu", "sigmoid"), m=9, seed=3)
    assert max(check_gradients(net, params, X, Y)) < TOLERANCE


def test_no_hidden_layer_is_logistic_regression():
    net, params, X, Y = problem((6, 1), (), m=5)
    assert max(check_gradients(net, params, X, Y)) < TOLERANCE


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_softmax_output(activation):
    net, params, X, Y = problem((5, 4, 3), (activation,), "softmax", m=8, seed=1)
    assert max(check_gradients(net, params, X, Y)) < TOLERANCE


@pytest.mark.parametrize("output,last", [("sigmoid", 1), ("softmax", 4)])
def test_l2(output, last):
    net, params, X, Y = problem((5, 4, 3, last), ("relu", "tanh"), output, m=6, seed=2)
    assert max(check_gradients(net, params, X, Y, l2=0.7)) < TOLERANCE


def test_dropout_with_a_fixed_mask():
    net, params, X, Y = problem((5, 6, 4, 1), ("relu", "tanh"), m=10, seed=4)
    masks = dropout_masks(net, (0.6, 0.8), seed=9, iteration=0, batch=10, dtype=np.float64)
    assert any((mask == 0).any() for mask in masks)
    assert max(check_gradients(net, params, X, Y, masks=masks, l2=0.3)) < TOLERANCE


def test_dropout_masks_scale_kept_units():
    net = Network((3, 50, 1), ("relu",))
    (mask,) = dropout_masks(net, (0.75,), seed=1, iteration=5, batch=2000, dtype=np.float64)
    assert set(np.unique(mask)) == {0.0, 1 / 0.75}
    assert abs((mask > 0).mean() - 0.75) < 0.02
    (again,) = dropout_masks(net, (0.75,), seed=1, iteration=5, batch=2000, dtype=np.float64)
    np.testing.assert_array_equal(mask, again)


def test_binary_cost_by_hand():
    # one unit, no hidden layer: z = w x + b
    net = Network((1, 1), ())
    params = {"W1": np.array([[2.0]]), "b1": np.array([[-1.0]])}
    X = np.array([[0.0, 1.0, 3.0]])
    Y = np.array([[0.0, 1.0, 0.0]])
    z = [-1.0, 1.0, 5.0]
    a = [1 / (1 + math.exp(-v)) for v in z]
    expected = -(math.log(1 - a[0]) + math.log(a[1]) + math.log(1 - a[2])) / 3
    assert compute_cost(net, params, X, Y) == pytest.approx(expected, rel=1e-12)
    # L2 adds lambda / (2m) * w^2
    assert compute_cost(net, params, X, Y, l2=0.3) == pytest.approx(expected + 0.3 / 6 * 4.0, rel=1e-12)


def test_softmax_cost_by_hand():
    net = Network((1, 3), (), "softmax")
    params = {"W1": np.array([[1.0], [0.0], [-1.0]]), "b1": np.zeros((3, 1))}
    X = np.array([[2.0]])
    Y = np.array([[0.0], [1.0], [0.0]])
    logits = [2.0, 0.0, -2.0]
    expected = -(0.0 - math.log(sum(math.exp(v) for v in logits)))
    assert compute_cost(net, params, X, Y) == pytest.approx(expected, rel=1e-12)


def test_saturated_network_gives_a_large_finite_cost():
    net = Network((1, 1), ())
    params = {"W1": np.array([[1000.0]]), "b1": np.array([[0.0]])}
    X = np.array([[1.0, -1.0]])
    Y = np.array([[0.0, 1.0]])  # both confidently wrong
    cost = compute_cost(net, params, X, Y)
    assert math.isfinite(cost) and cost == pytest.approx(1000.0)
    _, grads = gradients(net, params, X, Y)
    assert all(np.all(np.isfinite(g)) for g in grads.values())
    soft = Network((1, 2), (), "softmax")
    sp = {"W1": np.array([[1000.0], [-1000.0]]), "b1": np.zeros((2, 1))}
    assert compute_cost(soft, sp, np.array([[1.0]]), np.array([[0.0], [1.0]])) == pytest.approx(2000.0)
    p = predict_proba(soft, sp, np.array([[1.0]]))
    assert np.all(np.isfinite(p)) and p[0, 0] == 1.0


def test_course_init_matches_the_legacy_random_stream():
    params = initialize((4, 3, 1), "course", 1)
    rng = np.random.RandomState(1)
    np.testing.assert_array_equal(params["W1"], rng.randn(3, 4) / np.sqrt(4))
    np.testing.assert_array_equal(params["W2"], rng.randn(1, 3) / np.sqrt(3))
    assert not params["b1"].any() and params["b1"].shape == (3, 1)


@pytest.mark.parametrize("scheme,std", [("he", math.sqrt(2 / 400)), ("xavier", math.sqrt(2 / 600)), ("small", 0.01)])
def test_init_scales(scheme, std):
    W = initialize((400, 200, 1), scheme, 0)["W1"]
    assert W.std() == pytest.approx(std, rel=0.02)


def test_float32_stays_float32():
    net, params, X, Y = problem((5, 4, 1), ("relu",))
    params32 = {k: v.astype(np.float32) for k, v in params.items()}
    _, grads = gradients(net, params32, X.astype(np.float32), Y.astype(np.float32))
    assert {g.dtype for g in grads.values()} == {np.dtype(np.float32)}
    assert predict_proba(net, params32, X.astype(np.float32)).dtype == np.float32


def one_step(name, params, grads, state, lr, **hyper):
    opt = OPTIMIZERS[name]
    hyper = {**opt.defaults, **hyper}
    opt.update(params, grads, state, lr, **hyper)


def test_gradient_descent_step_by_hand():
    params = {"W1": np.array([[1.0, -2.0]])}
    one_step("gd", params, {"dW1": np.array([[0.5, 0.25]])}, {}, 0.1)
    np.testing.assert_allclose(params["W1"], [[0.95, -2.025]], rtol=0, atol=1e-15)


def test_momentum_step_by_hand():
    # v = 0.9 * 0.2 + 0.1 * 0.5 = 0.23 ; w = 1 - 0.1 * 0.23 = 0.977
    params = {"W1": np.array([[1.0]])}
    state = {"v_W1": np.array([[0.2]])}
    one_step("momentum", params, {"dW1": np.array([[0.5]])}, state, 0.1, beta=0.9)
    assert state["v_W1"][0, 0] == pytest.approx(0.23, abs=1e-15)
    assert params["W1"][0, 0] == pytest.approx(0.977, abs=1e-15)


def test_adam_two_steps_by_hand():
    params = {"W1": np.array([[1.0]])}
    state = OPTIMIZERS["adam"].init_state(params)
    # step 1, g = 0.5: m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25; w = 1 - 0.01 * 0.5 / (0.5 + 1e-8)
    one_step("adam", params, {"dW1": np.array([[0.5]])}, state, 0.01)
    assert state["m_W1"][0, 0] == pytest.approx(0.05, rel=1e-12)
    assert state["v_W1"][0, 0] == pytest.approx(0.00025, rel=1e-12)
    w1 = 1 - 0.01 * 0.5 / (0.5 + 1e-8)
    assert params["W1"][0, 0] == pytest.approx(w1, rel=1e-14)
    # step 2, g = -1: m = 0.9*0.05 - 0.1 = -0.055, v = 0.999*0.00025 + 0.001 = 0.00124975
    one_step("adam", params, {"dW1": np.array([[-1.0]])}, state, 0.01)
    m_hat = -0.055 / (1 - 0.9**2)
    v_hat = 0.00124975 / (1 - 0.999**2)
    assert int(state["t"]) == 2
    assert params["W1"][0, 0] == pytest.approx(w1 - 0.01 * m_hat / (math.sqrt(v_hat) + 1e-8), rel=1e-14)


def test_rmsprop_two_steps_by_hand():
    params = {"W1": np.array([[1.0]]), "b1": np.array([[0.0]])}
    state = OPTIMIZERS["rmsprop"].init_state(params)
    assert set(state) == {"s_W1", "s_b1"}
    # step 1, g = 0.5: s = 0.1 * 0.25 = 0.025; w = 1 - 0.01 * 0.5 / (sqrt(0.025) + 1e-8)
    one_step("rmsprop", params, {"dW1": np.array([[0.5]]), "db1": np.array([[0.0]])}, state, 0.01)
    assert state["s_W1"][0, 0] == pytest.approx(0.025, rel=1e-14)
    w1 = 1 - 0.01 * 0.5 / (math.sqrt(0.025) + 1e-8)
    assert params["W1"][0, 0] == pytest.approx(w1, rel=1e-14)
    assert params["b1"][0, 0] == 0.0  # a zero gradient: 0 / (0 + epsilon), epsilon outside the root
    # step 2, g = -1: s = 0.9 * 0.025 + 0.1 * 1 = 0.1225, sqrt(s) = 0.35; w = w1 + 0.01 / (0.35 + 1e-8)
    s_before = state["s_W1"]
    one_step("rmsprop", params, {"dW1": np.array([[-1.0]]), "db1": np.array([[0.0]])}, state, 0.01)
    assert state["s_W1"] is s_before and state["s_W1"][0, 0] == pytest.approx(0.1225, rel=1e-14)
    assert params["W1"][0, 0] == pytest.approx(w1 + 0.01 / (0.35 + 1e-8), rel=1e-14)


def test_schedules_by_hand():
    assert SCHEDULES["constant"].rate(0.1, 5000) == 0.1
    assert SCHEDULES["inverse_time"].rate(0.1, 2500, decay_rate=1.0, every=1000) == pytest.approx(0.1 / 3)
    assert SCHEDULES["step"].rate(0.1, 2500, factor=0.5, every=1000) == pytest.approx(0.025)
    assert SCHEDULES["step"].rate(0.1, 999, factor=0.5, every=1000) == 0.1
