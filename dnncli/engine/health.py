"""How a network is doing: dead ReLU units and gradient norms, per layer.

The trainers read both off the step they are taking when asked (``step(observe=True)``),
so a log point costs no extra pass; ``layer_health`` does a pass of its own for any
parameters and batch.
"""

import numpy as np

from .network import backward, forward, output_gradient


def dead_units(net, cache):
    """Per hidden layer, the share of units that output 0 for every example of the batch
    (None for a layer that is not ReLU); ``cache`` is ``forward``'s."""
    return [
        float(np.mean(~G.any(axis=1))) if name == "relu" else None
        for (_, _, G, _), name in zip(cache[:-1], net.activations, strict=True)
    ]


def squared_norm(array):
    return float(np.vdot(array, array))


def gradient_norms(net, grads, first_weights_squared=None):
    """Per layer l, sqrt(||dWl||^2 + ||dbl||^2); ``first_weights_squared`` stands in for
    ||dW1||^2 when the caller never forms dW1 (the fast path)."""
    norms = []
    for l in range(1, net.depth + 1):
        weights = first_weights_squared if l == 1 and first_weights_squared is not None else None
        if weights is None:
            weights = squared_norm(grads[f"dW{l}"])
        norms.append(float(np.sqrt(weights + squared_norm(grads[f"db{l}"]))))
    return norms


def layer_health(net, params, X, Y, l2=0.0, weights=None):
    """``dead_relu`` and ``gradient_norm`` of the cost on (X, Y) as a training batch, without dropout."""
    ZL, cache = forward(net, params, X, training=True)
    grads = backward(net, params, cache, output_gradient(net, ZL, Y, weights), l2=l2)
    return {"dead_relu": dead_units(net, cache), "gradient_norm": gradient_norms(net, grads)}


def rising_streak(costs):
    """How many of the last costs in a row were each higher than the one before."""
    streak = 0
    for i in range(len(costs) - 1, 0, -1):
        if not costs[i] > costs[i - 1]:
            break
        streak += 1
    return streak
