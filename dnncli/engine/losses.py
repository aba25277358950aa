"""Output layers: an activation paired with the cross-entropy that matches it.

Both costs are computed from the output pre-activation ``z`` (the logits), so a
saturated network gives a large finite cost instead of ``log(0)``. For these two
pairs the gradient of the mean cost with respect to ``z`` is exactly
``(a - y) / m``, which is what ``backward`` uses.
"""

import numpy as np

from .activations import sigmoid


def softmax(z):
    e = np.exp(z - z.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def binary_cross_entropy(z, y):
    """Mean over examples of -[y log s(z) + (1-y) log(1-s(z))] = softplus(z) - y z."""
    return float(np.mean(np.logaddexp(0, z) - y * z))


def categorical_cross_entropy(z, y):
    """Mean over examples of -sum_k y_k log softmax(z)_k = logsumexp(z) - sum_k y_k z_k."""
    top = z.max(axis=0, keepdims=True)
    logsumexp = top + np.log(np.exp(z - top).sum(axis=0, keepdims=True))
    return float(np.mean(logsumexp - (y * z).sum(axis=0, keepdims=True)))


OUTPUT_ACTIVATIONS = {"sigmoid": sigmoid, "softmax": softmax}
LOSSES = {"sigmoid": binary_cross_entropy, "softmax": categorical_cross_entropy}
