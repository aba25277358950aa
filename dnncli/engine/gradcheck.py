"""Backpropagation checked against central differences."""

import numpy as np

from .network import cost, forward, gradients


def numerical_gradient(net, params, X, Y, name, masks=None, l2=0.0, epsilon=1e-6, indices=None):
    """d cost / d params[name] by central differences, one entry at a time.

    ``indices`` (flat positions) limits the work to some entries; the others stay 0.
    """
    p = params[name]
    grad = np.zeros_like(p)
    positions = np.ndindex(p.shape) if indices is None else (np.unravel_index(i, p.shape) for i in indices)
    for index in positions:
        original = p[index]
        p[index] = original + epsilon
        plus = cost(net, params, forward(net, params, X, masks)[0], Y, l2)
        p[index] = original - epsilon
        minus = cost(net, params, forward(net, params, X, masks)[0], Y, l2)
        p[index] = original
        grad[index] = (plus - minus) / (2 * epsilon)
    return grad


def relative_difference(a, b):
    """||a - b|| / (||a|| + ||b||), 0 when both are zero."""
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def check_gradients(net, params, X, Y, masks=None, l2=0.0, epsilon=1e-6, entries=None, seed=0):
    """Relative difference between backprop and central differences, per layer (W and b together).

    With ``entries``, each array larger than that is checked on that many entries drawn by ``seed``.
    """
    _, grads = gradients(net, params, X, Y, masks, l2)
    rng = np.random.default_rng(seed)
    report = []
    for l in range(1, net.depth + 1):
        analytic, numeric = [], []
        for name in (f"W{l}", f"b{l}"):
            size = params[name].size
            indices = None if entries is None or size <= entries else rng.choice(size, entries, replace=False)
            numeric_grad = numerical_gradient(net, params, X, Y, name, masks, l2, epsilon, indices)
            chosen = slice(None) if indices is None else indices
            analytic.append(grads["d" + name].ravel()[chosen])
            numeric.append(numeric_grad.ravel()[chosen])
        report.append(relative_difference(np.concatenate(analytic), np.concatenate(numeric)))
    return report
