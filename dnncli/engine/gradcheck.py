"""Backpropagation checked against central differences."""

import numpy as np

from .network import cost, forward, gradients


def numerical_gradient(net, params, X, Y, name, masks=None, l2=0.0, epsilon=1e-6):
    """d cost / d params[name] by central differences, one entry at a time."""
    p = params[name]
    grad = np.zeros_like(p)
    for index in np.ndindex(p.shape):
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


def check_gradients(net, params, X, Y, masks=None, l2=0.0, epsilon=1e-6):
    """Relative difference between backprop and central differences, per layer (W and b together)."""
    _, grads = gradients(net, params, X, Y, masks, l2)
    report = []
    for l in range(1, net.depth + 1):
        names = (f"W{l}", f"b{l}")
        analytic = np.concatenate([grads["d" + n].ravel() for n in names])
        numeric = np.concatenate([numerical_gradient(net, params, X, Y, n, masks, l2, epsilon).ravel() for n in names])
        report.append(relative_difference(analytic, numeric))
    return report
