"""Same math as the peer: from the same initial weights, plain full-batch gradient descent in dnn and in
scikit-learn's MLPClassifier and MLPRegressor gives the same cost at every iteration and the same final weights,
on data sets scikit-learn ships (standardised), with L2 and with class weights."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes, load_linnerud, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.preprocessing import StandardScaler

from dnncli.engine import (
    ArraySource,
    Network,
    Settings,
    balanced_class_weights,
    encode_labels,
    initialize,
    make_trainer,
)
from dnncli.engine.network import l2_penalty

# sklearn's activation names for dnn's hidden activations they share
SKLEARN_ACTIVATIONS = {"relu": "relu", "tanh": "tanh", "sigmoid": "logistic"}
ITERATIONS = 150


def standardised(loader):
    data = loader()
    return StandardScaler().fit_transform(data.data), data.target


def plain_gradient_descent(estimator, net, m, learning_rate, l2):
    """``estimator`` (MLPClassifier or MLPRegressor) as plain full-batch gradient descent in dnn's terms: no
    momentum, no shuffling, a constant rate, no stopping before the last iteration."""
    return estimator(
        hidden_layer_sizes=net.layers[1:-1],
        activation=SKLEARN_ACTIVATIONS[net.activations[0]],
        solver="sgd",
        alpha=l2,
        batch_size=m,
        learning_rate="constant",
        learning_rate_init=learning_rate,
        momentum=0.0,
        nesterovs_momentum=False,
        shuffle=False,
        tol=0.0,
        n_iter_no_change=10**9,
        early_stopping=False,
        random_state=0,
    )


def sklearn_run(model, net, params, rows, y, sample_weight=None):
    """sklearn's loss curve and model after ``ITERATIONS`` steps from dnn's initial ``params``.

    A first fit of one iteration makes sklearn's arrays; they are then replaced by dnn's (sklearn's
    coefs_ are (n_in, n_out), dnn's W transposed) and a warm-started fit continues from them.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # the iterations run out: that is the plan
        model.set_params(max_iter=1, warm_start=True).fit(rows, y, sample_weight=sample_weight)
        model.coefs_ = [params[f"W{l}"].T.copy() for l in range(1, net.depth + 1)]
        model.intercepts_ = [params[f"b{l}"].ravel().copy() for l in range(1, net.depth + 1)]
        model.loss_curve_ = []
        model.set_params(max_iter=ITERATIONS).fit(rows, y, sample_weight=sample_weight)
    return np.array(model.loss_curve_), model


def dnn_run(net, params, rows, Y, settings_, path):
    """dnn's cost before each of ``ITERATIONS`` steps, its final parameters, and the L2 term of each cost."""
    trainer = make_trainer(net, {k: v.copy() for k, v in params.items()}, settings_, ArraySource(rows, Y), path)
    assert trainer.fast is (path == "on")
    costs, penalties = [], []
    for _ in range(ITERATIONS):
        penalties.append(l2_penalty(net, trainer.snapshot()[0], settings_.l2, len(rows)))
        costs.append(trainer.step())
    return np.array(costs), trainer.snapshot()[0], np.array(penalties)


def assert_same_weights(net, final, model):
    for l in range(1, net.depth + 1):
        np.testing.assert_allclose(final[f"W{l}"], model.coefs_[l - 1].T, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(final[f"b{l}"].ravel(), model.intercepts_[l - 1], rtol=1e-9, atol=1e-12)


def moved(net, params, final):
    """How far the weights went from their start, relative to their size: the runs compared did learn."""
    return min(np.linalg.norm(final[f"W{l}"] - params[f"W{l}"]) / np.linalg.norm(params[f"W{l}"]) for l in (1, 2))


CLASSIFICATIONS = {
    # name: loader, dnn's network, learning rate, L2 (sklearn's alpha)
    "breast-cancer, two classes": (load_breast_cancer, Network((30, 8, 4, 1), ("tanh", "tanh"), "sigmoid"), 0.5, 0.3),
    "wine, three classes": (load_wine, Network((13, 10, 3), ("relu",), "softmax"), 0.3, 0.5),
    "breast-cancer, logistic hidden units": (load_breast_cancer, Network((30, 5, 1), ("sigmoid",), "sigmoid"), 1, 0),
}
PATHS = ["off", "on"]  # the general path and the fast path


@pytest.mark.parametrize("path", PATHS, ids=["general", "fast"])
@pytest.mark.parametrize("case", CLASSIFICATIONS)
def test_the_classifier_follows_sklearns_mlpclassifier(case, path):
    loader, net, rate, l2 = CLASSIFICATIONS[case]
    rows, labels = standardised(loader)
    params = initialize(net.layers, "xavier", 7)
    costs, final, _ = dnn_run(net, params, rows, encode_labels(net, labels), Settings(rate, l2=l2), path)
    curve, model = sklearn_run(
        plain_gradient_descent(MLPClassifier, net, len(rows), rate, l2), net, params, rows, labels
    )
    assert model.out_activation_ == {"sigmoid": "logistic", "softmax": "softmax"}[net.output]
    np.testing.assert_allclose(costs, curve, rtol=1e-9, atol=0)
    assert costs[-1] < 0.5 * costs[0] and moved(net, params, final) > 0.1
    assert_same_weights(net, final, model)


REGRESSIONS = {
    # name: the rows and targets (m, k), dnn's network, learning rate, L2
    "diabetes, one target": ("diabetes", Network((10, 8, 1), ("relu",), "identity"), 0.05, 3.0),
    "linnerud, three targets": ("linnerud", Network((3, 6, 4, 3), ("tanh", "tanh"), "identity"), 0.1, 0.1),
}


def regression_data(name):
    """Standardised rows and targets: diabetes' one (m, 1), linnerud's three (m, 3)."""
    data = {"diabetes": load_diabetes, "linnerud": load_linnerud}[name]()
    targets = data.target.reshape(len(data.target), -1)
    return StandardScaler().fit_transform(data.data), StandardScaler().fit_transform(targets)


@pytest.mark.parametrize("path", PATHS, ids=["general", "fast"])
@pytest.mark.parametrize("case", REGRESSIONS)
def test_the_regression_follows_sklearns_mlpregressor(case, path):
    """For k targets dnn's squared error is k times sklearn's (which averages over the targets too), beside the
    same L2 term, and has sklearn's gradient: the same weights at every step."""
    name, net, rate, l2 = REGRESSIONS[case]
    rows, targets = regression_data(name)
    k = targets.shape[1]
    params = initialize(net.layers, "xavier", 3)
    costs, final, penalties = dnn_run(net, params, rows, targets.T.copy(), Settings(rate, l2=l2), path)
    y = targets.ravel() if k == 1 else targets
    curve, model = sklearn_run(plain_gradient_descent(MLPRegressor, net, len(rows), rate, l2), net, params, rows, y)
    assert model.out_activation_ == "identity"
    assert penalties.min() > 0.01 * costs.max()  # the L2 term counts in the costs compared
    np.testing.assert_allclose(costs - penalties, k * (curve - penalties), rtol=1e-9, atol=0)
    if k == 1:
        np.testing.assert_allclose(costs, curve, rtol=1e-9, atol=0)
    assert costs[-1] < 0.7 * costs[0] and moved(net, params, final) > 0.1
    assert_same_weights(net, final, model)


WEIGHTED = {
    "breast-cancer, balanced": (load_breast_cancer, Network((30, 6, 1), ("tanh",), "sigmoid"), "balanced"),
    "breast-cancer, (0.4, 2.5)": (load_breast_cancer, Network((30, 6, 1), ("relu",), "sigmoid"), (0.4, 2.5)),
    "wine, balanced": (load_wine, Network((13, 7, 3), ("tanh",), "softmax"), "balanced"),
    "wine, (1, 3, 0.5)": (load_wine, Network((13, 7, 3), ("relu",), "softmax"), (1.0, 3.0, 0.5)),
}


@pytest.mark.parametrize("path", PATHS, ids=["general", "fast"])
@pytest.mark.parametrize("case", WEIGHTED)
def test_class_weights_follow_sklearns_sample_weights(case, path):
    """sklearn divides a weighted cost and its gradient (L2 term too) by the sum S of the weights, dnn by m:
    dnn's cost is S/m times sklearn's, and sklearn at the rate times S/m takes dnn's steps. ('balanced'
    weights sum to m: the same costs.)"""
    loader, net, class_weights = WEIGHTED[case]
    rows, labels = standardised(loader)
    m = len(rows)
    if class_weights == "balanced":
        class_weights = balanced_class_weights(np.bincount(labels))
    sample_weight = np.asarray(class_weights)[labels]
    scale = sample_weight.sum() / m
    params = initialize(net.layers, "xavier", 5)
    settings_ = Settings(0.2, l2=0.4, class_weights=class_weights)
    costs, final, _ = dnn_run(net, params, rows, encode_labels(net, labels), settings_, path)
    model = plain_gradient_descent(MLPClassifier, net, m, 0.2 * scale, 0.4)
    curve, model = sklearn_run(model, net, params, rows, labels, sample_weight)
    np.testing.assert_allclose(costs, scale * curve, rtol=1e-9, atol=0)
    assert costs[-1] < 0.5 * costs[0] and moved(net, params, final) > 0.1
    assert_same_weights(net, final, model)
