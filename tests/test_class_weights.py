"""Class weights: each example's weight, the weighted cost against scikit-learn's log loss and against copies of
the examples, its gradients against central differences, 'balanced' against scikit-learn, and weights of one
giving the unweighted run."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_class_weight

from conftest import CLASS_WEIGHTS, checkable_problem
from dnncli.engine import (
    ACTIVATIONS,
    ArraySource,
    FastTrainer,
    Network,
    Settings,
    Trainer,
    balanced_class_weights,
    check_gradients,
    compute_cost,
    encode_labels,
    example_weights,
    gradients,
    initialize,
    predict_proba,
)
from dnncli.engine.trainer import dropout_masks

TOLERANCE = 1e-7
OUTPUT_UNITS = {"sigmoid": 1, "softmax": 3}


def test_each_example_weighs_its_class_weight():
    sigmoid = Network((2, 1), ())
    Y = encode_labels(sigmoid, np.array([0, 1, 1, 0]))
    np.testing.assert_array_equal(example_weights(sigmoid, Y, (0.5, 3.0)), [[0.5, 3.0, 3.0, 0.5]])
    softmax = Network((2, 3), (), "softmax")
    Y = encode_labels(softmax, np.array([2, 0, 1, 2]), np.float32)
    weights = example_weights(softmax, Y, (1.0, 3.0, 0.5))
    assert weights.dtype == np.float32 and weights.shape == (1, 4)
    np.testing.assert_array_equal(weights, [[0.5, 1.0, 3.0, 0.5]])
    assert example_weights(softmax, Y, None) is None  # no weights: nothing to multiply by
    with pytest.raises(AssertionError, match="one class weight per class"):
        example_weights(softmax, Y, (1.0, 2.0))


def problem(layers, activations, output, m=9, seed=0, batch_norm=None):
    """A classifier, its arrays, a batch (``checkable_problem``) and its examples' weights from CLASS_WEIGHTS."""
    net, params, X, Y = checkable_problem(layers, activations, output, m, seed, batch_norm)
    return net, params, X, Y, example_weights(net, Y, CLASS_WEIGHTS[output])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("output", sorted(OUTPUT_UNITS))
def test_backprop_of_the_weighted_cost_matches_central_differences(output, activation):
    net, params, X, Y, weights = problem((5, 4, 3, OUTPUT_UNITS[output]), (activation, activation), output)
    assert max(check_gradients(net, params, X, Y, weights=weights)) < TOLERANCE


@pytest.mark.parametrize("output", sorted(OUTPUT_UNITS))
def test_weighted_with_l2_dropout_and_batch_norm(output):
    layers = (6, 5, 4, 4, OUTPUT_UNITS[output])
    net, params, X, Y, weights = problem(layers, ("relu", "tanh", "leaky_relu"), output, 9, 3, (True, False, True))
    masks = dropout_masks(net, (0.7, 1.0, 0.8), seed=2, iteration=0, batch=9, dtype=np.float64)
    assert max(check_gradients(net, params, X, Y, masks, 0.4, weights=weights)) < TOLERANCE
    plain = Network(net.layers, net.activations, output)  # the same without batch norm
    plain_params = {name: params[name] for name in plain.param_names}
    assert max(check_gradients(plain, plain_params, X, Y, masks, 0.4, weights=weights)) < TOLERANCE


def standardised(loader):
    data = loader()
    return StandardScaler().fit_transform(data.data), data.target


@pytest.mark.parametrize(
    "loader, net, class_weights",
    [
        (load_breast_cancer, Network((30, 5, 1), ("tanh",)), (0.4, 2.5)),
        (load_wine, Network((13, 6, 3), ("relu",), "softmax"), (1.0, 3.0, 0.5)),
    ],
)
def test_the_weighted_cost_is_sklearns_weighted_log_loss_over_m(loader, net, class_weights):
    """sklearn's log_loss averages by the weights' sum S, dnn by the m examples: dnn's cost is S/m times it."""
    rows, labels = standardised(loader)
    params = initialize(net.layers, "he", 1)
    X, Y = rows.T, encode_labels(net, labels)
    weights = example_weights(net, Y, class_weights)
    sample_weight = np.asarray(class_weights)[labels]
    np.testing.assert_array_equal(weights[0], sample_weight)
    probabilities = predict_proba(net, params, X)
    predicted = probabilities[0] if net.output == "sigmoid" else probabilities.T
    expected = log_loss(labels, predicted, sample_weight=sample_weight) * sample_weight.sum() / len(labels)
    assert compute_cost(net, params, X, Y, weights=weights) == pytest.approx(expected, rel=1e-12)
    assert compute_cost(net, params, X, Y) == pytest.approx(log_loss(labels, predicted), rel=1e-12)


@pytest.mark.parametrize("output", sorted(OUTPUT_UNITS))
def test_a_whole_class_weight_counts_as_copies_of_its_examples(output):
    """Weights (1, 3) or (2, 1, 3): the cost and gradients, times m, are those of a set where each example
    appears as many times as its class weight, times its size."""
    net, params, X, Y, _ = problem((5, 4, OUTPUT_UNITS[output]), ("tanh",), output, m=12, seed=4)
    class_weights = (1, 3) if output == "sigmoid" else (2, 1, 3)
    labels = Y[0].astype(int) if output == "sigmoid" else Y.argmax(axis=0)
    copies = np.repeat(np.arange(12), np.asarray(class_weights)[labels])
    weighted_cost, weighted = gradients(net, params, X, Y, l2=0.2, weights=example_weights(net, Y, class_weights))
    copied_cost, copied = gradients(net, params, X[:, copies], Y[:, copies], l2=0.2)
    assert weighted_cost * 12 == pytest.approx(copied_cost * copies.size, rel=1e-12)
    for name, gradient in weighted.items():
        np.testing.assert_allclose(gradient * 12, copied[name] * copies.size, rtol=1e-12, atol=1e-14)


@settings(max_examples=50, deadline=None)
@given(counts=st.lists(st.integers(1, 500), min_size=2, max_size=12))
def test_balanced_weights_are_sklearns(counts):
    labels = np.repeat(np.arange(len(counts)), counts)
    expected = compute_class_weight("balanced", classes=np.arange(len(counts)), y=labels)
    balanced = balanced_class_weights(counts)
    assert isinstance(balanced, tuple) and all(isinstance(w, float) for w in balanced)
    np.testing.assert_allclose(balanced, expected, rtol=1e-15, atol=0)
    # every class weighs n / K in all: the weights of the n examples sum to n
    assert np.dot(balanced, counts) == pytest.approx(sum(counts), rel=1e-12)


@pytest.mark.parametrize("loader", [load_breast_cancer, load_wine])
def test_balanced_weights_of_real_labels(loader):
    labels = loader().target
    classes = np.unique(labels)
    expected = compute_class_weight("balanced", classes=classes, y=labels)
    np.testing.assert_allclose(balanced_class_weights(np.bincount(labels)), expected, rtol=1e-15, atol=0)


def test_a_class_without_examples_has_no_balanced_weight():
    with pytest.raises(AssertionError, match="every class needs an example"):
        balanced_class_weights([4, 0, 2])


@pytest.mark.parametrize("kind", [Trainer, FastTrainer])
@pytest.mark.parametrize("output", sorted(OUTPUT_UNITS))
def test_weights_of_one_give_the_unweighted_run_bit_for_bit(kind, output):
    net, params, X, Y, _ = problem((20, 6, 4, OUTPUT_UNITS[output]), ("relu", "tanh"), output, m=15)
    source = ArraySource(X.T.copy(), Y)
    runs = []
    for class_weights in (None, (1.0,) * net.n_classes):
        settings_ = Settings(
            0.1, "momentum", l2=0.3, keep_probs=(0.8, 1.0), batch_size=6, seed=2, class_weights=class_weights
        )
        trainer = kind(net, {k: v.copy() for k, v in params.items()}, settings_, source)
        runs.append(([trainer.step() for _ in range(10)], trainer.snapshot()[0]))
    (costs, final), (costs_ones, final_ones) = runs
    assert costs_ones == costs
    for name, value in final.items():
        np.testing.assert_array_equal(final_ones[name], value)


def test_weights_change_the_run():
    net, params, X, Y, _ = problem((20, 6, 1), ("relu",), "sigmoid", m=15)
    source = ArraySource(X.T.copy(), Y)
    finals = []
    for class_weights in (None, CLASS_WEIGHTS["sigmoid"]):
        trainer = Trainer(
            net, {k: v.copy() for k, v in params.items()}, Settings(0.1, class_weights=class_weights), source
        )
        trainer.step()
        finals.append(trainer.snapshot()[0]["W1"])
    assert not np.allclose(*finals)
