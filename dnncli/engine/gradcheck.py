"""Backpropagation checked against central differences.

The function checked is the cost of a training batch, or, with ``projection`` R
(of the output's shape), <R, ZL> plus the L2 term: the check a network with batch
norm needs, since a plain sum of a normalised layer is constant over the batch
and its gradient vanishes. Both run the forward pass in training mode, which
never touches the running statistics, so they stay frozen through the check.
"""

import numpy as np

from .network import backward, cost, forward, l2_penalty, output_gradient


def objective(net, params, X, Y, masks, l2, projection, weights=None):
    """The scalar checked, and its gradient with respect to ZL."""
    ZL, cache = forward(net, params, X, masks, training=True)
    if projection is None:
        return cost(net, params, ZL, Y, l2, weights), ZL, cache, output_gradient(net, ZL, Y, weights)
    return float(np.vdot(projection, ZL)) + l2_penalty(net, params, l2, X.shape[1]), ZL, cache, projection


def numerical_gradient(
    net, params, X, Y, name, masks=None, l2=0.0, epsilon=1e-6, indices=None, projection=None, weights=None
):
    """d objective / d params[name] by central differences, one entry at a time.

    ``indices`` (flat positions) limits the work to some entries; the others stay 0. ``weights``
    (a (1, m) row of example weights, or None) weighs the cost's examples; a projection has none.
    """
    p = params[name]
    grad = np.zeros_like(p)
    positions = np.ndindex(p.shape) if indices is None else (np.unravel_index(i, p.shape) for i in indices)
    for index in positions:
        original = p[index]
        p[index] = original + epsilon
        plus = objective(net, params, X, Y, masks, l2, projection, weights)[0]
        p[index] = original - epsilon
        minus = objective(net, params, X, Y, masks, l2, projection, weights)[0]
        p[index] = original
        grad[index] = (plus - minus) / (2 * epsilon)
    return grad


def relative_difference(a, b):
    """||a - b|| / (||a|| + ||b||), 0 when both are zero."""
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def check_gradients(
    net, params, X, Y, masks=None, l2=0.0, epsilon=1e-6, entries=None, seed=0, projection=None, weights=None
):
    """Relative difference between backprop and central differences, per layer (W, b, gamma, beta together).

    With ``entries``, each array larger than that is checked on that many entries drawn by ``seed``.
    ``weights``: the examples' weights in the cost (``class_weights.example_weights``), or None.
    """
    _, _, cache, dZL = objective(net, params, X, Y, masks, l2, projection, weights)
    grads = backward(net, params, cache, dZL, masks, l2)
    rng = np.random.default_rng(seed)
    report = []
    for l in range(1, net.depth + 1):
        analytic, numeric = [], []
        for name in net.layer_param_names(l):
            size = params[name].size
            indices = None if entries is None or size <= entries else rng.choice(size, entries, replace=False)
            numeric_grad = numerical_gradient(net, params, X, Y, name, masks, l2, epsilon, indices, projection, weights)
            chosen = slice(None) if indices is None else indices
            analytic.append(grads["d" + name].ravel()[chosen])
            numeric.append(numeric_grad.ravel()[chosen])
        report.append(relative_difference(np.concatenate(analytic), np.concatenate(numeric)))
    return report
