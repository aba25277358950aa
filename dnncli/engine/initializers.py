"""Weight initialisation schemes, keyed by the name a config uses.

All draw from numpy's legacy ``RandomState(seed)``, whose stream numpy keeps
stable across releases, layer by layer in order; biases start at zero.
``course`` reproduces the deep learning course's ``initialize_parameters_deep``.
"""

import numpy as np


def course(n_out, n_in, rng):
    return rng.randn(n_out, n_in) / np.sqrt(n_in)


def he(n_out, n_in, rng):
    return rng.randn(n_out, n_in) * np.sqrt(2.0 / n_in)


def xavier(n_out, n_in, rng):
    # Glorot normal: variance 2 / (fan_in + fan_out)
    return rng.randn(n_out, n_in) * np.sqrt(2.0 / (n_in + n_out))


def small(n_out, n_in, rng):
    return rng.randn(n_out, n_in) * 0.01


INITIALIZERS = {"course": course, "he": he, "xavier": xavier, "small": small}


def initialize(layers, scheme, seed, dtype=np.float64):
    """Parameters ``{"W1": ..., "b1": ..., "WL": ..., "bL": ...}`` for layer sizes ``layers``."""
    rng = np.random.RandomState(seed)
    draw = INITIALIZERS[scheme]
    params = {}
    for l in range(1, len(layers)):
        params[f"W{l}"] = draw(layers[l], layers[l - 1], rng).astype(dtype)
        params[f"b{l}"] = np.zeros((layers[l], 1), dtype=dtype)
    return params
