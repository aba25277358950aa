"""Output layers: an activation paired with the loss that matches it.

Every cost is a weighted mean over the m examples of a batch, (1/m) sum_i w_i loss_i,
the weights 1 when ``weights`` is None (class weights: ``class_weights.example_weights``).
The cross-entropies are computed from the output pre-activation ``z`` (the logits), so
a saturated network gives a large finite cost instead of ``log(0)``. For each of the
three pairs (sigmoid with binary cross-entropy, softmax with categorical cross-entropy,
identity with half the squared error) the gradient of the cost with respect to ``z`` is
exactly ``w (a - y) / m``, which is what ``network.output_gradient`` uses.
"""

import numpy as np

from .activations import sigmoid


def softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def identity(z):
    return z


def mean_over_examples(losses, weights):
    """(1/m) sum_i w_i losses_i for a (1, m) row of losses; the plain mean when ``weights`` is None.

    Normalised by m, not by the sum of the weights: Keras' and scikit-learn's convention for a
    sample weight, which keeps the gradient of an example the same whatever the batch's other weights.
    """
    return float(np.mean(losses if weights is None else weights * losses))


def binary_cross_entropy(z, y, weights=None):
    """Mean over examples of -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z."""
    return mean_over_examples(np.logaddexp(0, z) - y * z, weights)


def categorical_cross_entropy(z, y, weights=None):
    """Mean over examples of -sum_k y_k log softmax(z)_k = logsumexp(z) - sum_k y_k z_k."""
    top = z.max(axis=0, keepdims=True)
    logsumexp = top + np.log(np.exp(z - top).sum(axis=0, keepdims=True))
    return mean_over_examples(logsumexp - (y * z).sum(axis=0, keepdims=True), weights)


def half_squared_error(z, y, weights=None):
    """Mean over examples of (1/2) sum_k (z_k - y_k)^2, the identity output's cost.

    For one output this is scikit-learn's MLPRegressor loss, ((y - p)^2).mean() / 2. For k
    outputs it is k times sklearn's squared loss, which averages over the outputs too (the L2
    term beside it is the same in both), but its gradient is exactly sklearn's, (a - y) / m:
    sklearn's deltas divided by n_samples, as sklearn's loss is not.
    """
    d = z - y
    d *= d
    return mean_over_examples(0.5 * d.sum(axis=0, keepdims=True), weights)


OUTPUT_ACTIVATIONS = {"sigmoid": sigmoid, "softmax": softmax, "identity": identity}
LOSSES = {"sigmoid": binary_cross_entropy, "softmax": categorical_cross_entropy, "identity": half_squared_error}
REGRESSION_OUTPUTS = ("identity",)  # outputs that predict numbers, not classes
