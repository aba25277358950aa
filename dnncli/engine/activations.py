"""Hidden-layer activations and their derivatives, keyed by the name a config uses.

Each derivative takes the pre-activation ``z`` and the activation ``a = g(z)``
and returns ``g'(z)``; having ``a`` at hand makes sigmoid and tanh cheap.
"""

import numpy as np

LEAKY_SLOPE = 0.01


def relu(z):
    return np.maximum(z, 0)


def relu_derivative(z, a):
    return (z > 0).astype(z.dtype)


def leaky_relu(z):
    return np.where(z > 0, z, LEAKY_SLOPE * z)


def leaky_relu_derivative(z, a):
    # scalars of z's own type: np.where(z > 0, 1, 0.01) would be a float64 array in a float32 network
    one, slope = z.dtype.type(1), z.dtype.type(LEAKY_SLOPE)
    return np.where(z > 0, one, slope)


def sigmoid(z):
    # 1 / (1 + e^-z) without overflow for large |z|
    return np.exp(-np.logaddexp(0, -z))


def sigmoid_derivative(z, a):
    return a * (1 - a)


def tanh(z):
    return np.tanh(z)


def tanh_derivative(z, a):
    return 1 - a * a


ACTIVATIONS = {
    "relu": relu,
    "leaky_relu": leaky_relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
}

DERIVATIVES = {
    "relu": relu_derivative,
    "leaky_relu": leaky_relu_derivative,
    "sigmoid": sigmoid_derivative,
    "tanh": tanh_derivative,
}
