"""How a network is doing on one batch: dead ReLU units and gradient norms, per layer.

A forward and backward pass of its own, without dropout, so it can run at the
rare points where training logs without touching the step loop.
"""

import numpy as np

from .network import backward, forward, output_gradient


def layer_health(net, params, X, Y, l2=0.0):
    """``dead_relu``: per hidden layer, the share of units that output 0 for every example
    of ``X`` (None for a layer that is not ReLU); ``gradient_norm``: per layer l,
    sqrt(||dWl||^2 + ||dbl||^2) of the cost on (X, Y)."""
    ZL, cache = forward(net, params, X)
    grads = backward(net, params, cache, output_gradient(net, ZL, Y), l2=l2)
    dead = [
        float(np.mean(~G.any(axis=1))) if name == "relu" else None
        for (_, _, G), name in zip(cache[:-1], net.activations, strict=True)
    ]
    norms = [
        float(np.sqrt(np.vdot(grads[f"dW{l}"], grads[f"dW{l}"]) + np.vdot(grads[f"db{l}"], grads[f"db{l}"])))
        for l in range(1, net.depth + 1)
    ]
    return {"dead_relu": dead, "gradient_norm": norms}


def rising_streak(costs):
    """How many of the last costs in a row were each higher than the one before."""
    streak = 0
    for i in range(len(costs) - 1, 0, -1):
        if not costs[i] > costs[i - 1]:
            break
        streak += 1
    return streak
