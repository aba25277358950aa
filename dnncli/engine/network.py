"""A fully-connected network: forward pass, cost, backward pass, predictions.

Parameters are a dict of plain arrays in layer order, ``W1, b1, ..., WL, bL``,
with ``Wl`` of shape (n_l, n_{l-1}) and ``bl`` of shape (n_l, 1). Examples are
columns: ``X`` is (features, m).
"""

from dataclasses import dataclass

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES
from .losses import LOSSES, OUTPUT_ACTIVATIONS


@dataclass(frozen=True)
class Network:
    layers: tuple  # sizes, input first
    activations: tuple  # one name per hidden layer
    output: str = "sigmoid"

    def __post_init__(self):
        assert len(self.activations) == len(self.layers) - 2

    @property
    def depth(self):
        return len(self.layers) - 1

    @property
    def param_names(self):
        return [f"{kind}{l}" for l in range(1, self.depth + 1) for kind in ("W", "b")]

    @property
    def parameter_count(self):
        return sum(n_in * n_out + n_out for n_in, n_out in zip(self.layers[:-1], self.layers[1:], strict=True))

    @property
    def n_classes(self):
        return 2 if self.output == "sigmoid" else self.layers[-1]


def times(W, A):
    """W A. An input kept as rows (A = rows.T, as ``ArraySource`` hands it out) is
    multiplied as (rows W^T)^T: the same product, in the operand order that OpenBLAS
    runs faster with its default threads (bench/products.py, docs/performance.md)."""
    if A.flags.f_contiguous and not A.flags.c_contiguous:
        return (A.T @ W.T).T
    return W @ A


def forward(net, params, X, masks=None, Z1=None):
    """Output pre-activation ``ZL`` and the cache ``backward`` needs.

    ``masks`` (optional) holds, per hidden layer, an inverted-dropout mask already
    divided by its keep probability, or None for no dropout on that layer.
    ``Z1`` is the first layer's pre-activation when the caller already has it
    (the full-batch fast path forms it without touching ``X``).
    """
    cache = []
    A = X
    L = net.depth
    for l in range(1, L + 1):
        if l == 1 and Z1 is not None:
            Z = Z1
        else:
            Z = times(params[f"W{l}"], A)
            Z += params[f"b{l}"]
        if l == L:
            cache.append((A, Z, None))
            return Z, cache
        G = ACTIVATIONS[net.activations[l - 1]](Z)
        cache.append((A, Z, G))
        A = G if masks is None or masks[l - 1] is None else G * masks[l - 1]


def output_gradient(net, ZL, Y):
    """d(mean cost)/dZL = (a - y) / m, exact for sigmoid+BCE and softmax+CCE."""
    return (OUTPUT_ACTIVATIONS[net.output](ZL) - Y) / Y.shape[1]


def backward_to_first_layer(net, params, cache, dZL, masks=None, l2=0.0):
    """Gradients of every layer but ``dW1``, and ``dZ1`` from which ``dW1 = dZ1 X^T`` follows."""
    grads = {}
    m = dZL.shape[1]
    dZ = dZL
    for l in range(net.depth, 0, -1):
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True)
        if l == 1:
            return grads, dZ
        A_prev = cache[l - 1][0]
        W = params[f"W{l}"]
        dW = dZ @ A_prev.T
        if l2:
            dW += (l2 / m) * W
        grads[f"dW{l}"] = dW
        dA = W.T @ dZ
        if masks is not None and masks[l - 2] is not None:
            dA *= masks[l - 2]
        _, Z_prev, G_prev = cache[l - 2]
        dZ = dA * DERIVATIVES[net.activations[l - 2]](Z_prev, G_prev)


def backward(net, params, cache, dZL, masks=None, l2=0.0, dW1_out=None):
    """Gradients ``{"dW1": ..., "db1": ...}`` of the cost from the output gradient ``dZL``.

    The gradient with respect to the input ``X`` is never formed: nothing uses it,
    and for a wide input it would be the most expensive product of all.
    ``dW1_out``, if given, is an array of W1's shape that receives ``dW1``: a trainer
    reuses one, because a fresh array as large as W1 at every step costs the
    system a page fault for every 4 KiB of it (docs/performance.md).
    """
    grads, dZ1 = backward_to_first_layer(net, params, cache, dZL, masks, l2)
    dW1 = np.matmul(dZ1, cache[0][0].T, out=dW1_out)
    if l2:
        dW1 += (l2 / dZL.shape[1]) * params["W1"]
    grads["dW1"] = dW1
    return grads


def l2_penalty(net, params, l2, m, first=1):
    """(lambda / 2m) * sum of squared weights of layers ``first``..L; biases are not penalised."""
    if not l2:
        return 0.0
    total = sum(float(np.vdot(params[f"W{l}"], params[f"W{l}"])) for l in range(first, net.depth + 1))
    return l2 / (2 * m) * total


def cost(net, params, ZL, Y, l2=0.0):
    return LOSSES[net.output](ZL, Y) + l2_penalty(net, params, l2, Y.shape[1])


def compute_cost(net, params, X, Y, l2=0.0):
    ZL, _ = forward(net, params, X)
    return cost(net, params, ZL, Y, l2)


def gradients(net, params, X, Y, masks=None, l2=0.0):
    """Cost and gradients for one batch: the forward and backward pass together."""
    ZL, cache = forward(net, params, X, masks)
    grads = backward(net, params, cache, output_gradient(net, ZL, Y), masks, l2)
    return cost(net, params, ZL, Y, l2), grads


def predict_proba(net, params, X):
    """Class probabilities: (1, m) for a sigmoid output (probability of class 1), (K, m) for softmax."""
    ZL, _ = forward(net, params, X)
    return OUTPUT_ACTIVATIONS[net.output](ZL)


def predict_labels(net, probabilities, threshold=0.5):
    """Integer class of each example from ``predict_proba``'s output."""
    if net.output == "sigmoid":
        return (probabilities[0] > threshold).astype(np.int64)
    return probabilities.argmax(axis=0)


def encode_labels(net, labels, dtype=np.float64):
    """Targets ``Y`` for integer ``labels`` of shape (m,): a (1, m) row or one-hot (K, m)."""
    labels = np.asarray(labels)
    if net.output == "sigmoid":
        return labels.reshape(1, -1).astype(dtype)
    Y = np.zeros((net.layers[-1], labels.size), dtype=dtype)
    Y[labels, np.arange(labels.size)] = 1
    return Y


def accuracy(net, params, X, labels):
    return float(np.mean(predict_labels(net, predict_proba(net, params, X)) == labels))
