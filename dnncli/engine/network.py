"""A fully-connected network: forward pass, cost, backward pass, predictions.

Parameters are a dict of plain arrays in layer order, ``W1, b1, ..., WL, bL``,
with ``Wl`` of shape (n_l, n_{l-1}) and ``bl`` of shape (n_l, 1). Examples are
columns: ``X`` is (features, m).

A hidden layer with batch normalisation adds its scale and shift ``gammal``,
``betal`` (n_l, 1) to the parameters, and its running mean and variance
``running_meanl``, ``running_varl`` (n_l, 1) to the model's arrays: statistics,
not parameters (no gradient, no optimizer state), used by the forward pass in
inference mode and updated by the trainers after each training step.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES
from .losses import LOSSES, OUTPUT_ACTIVATIONS, REGRESSION_OUTPUTS


@dataclass(frozen=True)
class Network:
    layers: tuple  # sizes, input first
    activations: tuple  # one name per hidden layer
    output: str = "sigmoid"  # a key of OUTPUT_ACTIVATIONS: sigmoid, softmax, or identity for a regression
    batch_norm: tuple = None  # one bool per hidden layer: its pre-activation is normalised; None for none
    batch_norm_epsilon: float = 1e-5  # in the square root of the normalisation, as PyTorch and ONNX

    def __post_init__(self):
        assert len(self.activations) == len(self.layers) - 2
        hidden = len(self.layers) - 2
        normalised = (False,) * hidden if self.batch_norm is None else tuple(bool(b) for b in self.batch_norm)
        assert len(normalised) == hidden
        object.__setattr__(self, "batch_norm", normalised)

    @property
    def depth(self):
        return len(self.layers) - 1

    def normalised(self, l):
        """Whether layer ``l`` (1-based) normalises its pre-activation over the batch."""
        return l < self.depth and self.batch_norm[l - 1]

    @property
    def has_batch_norm(self):
        return any(self.batch_norm)

    def layer_param_names(self, l):
        """W and b of layer ``l``, then batch norm's scale and shift where it has them."""
        return [f"W{l}", f"b{l}"] + ([f"gamma{l}", f"beta{l}"] if self.normalised(l) else [])

    @property
    def param_names(self):
        return [name for l in range(1, self.depth + 1) for name in self.layer_param_names(l)]

    @property
    def statistic_names(self):
        """The running statistics of the layers with batch normalisation: saved with the model, never trained."""
        return [
            f"{kind}{l}" for l in range(1, self.depth) if self.normalised(l) for kind in ("running_mean", "running_var")
        ]

    @property
    def array_names(self):
        """Every array of the model: its parameters, then its running statistics."""
        return self.param_names + self.statistic_names

    @property
    def parameter_count(self):
        weights = sum(n_in * n_out + n_out for n_in, n_out in zip(self.layers[:-1], self.layers[1:], strict=True))
        return weights + sum(2 * self.layers[l] for l in range(1, self.depth) if self.normalised(l))

    @property
    def is_regression(self):
        """Whether the network predicts numbers (an identity output) rather than classes."""
        return self.output in REGRESSION_OUTPUTS

    @property
    def n_classes(self):
        """How many classes it tells apart; None for a regression, which has none."""
        if self.is_regression:
            return None
        return 2 if self.output == "sigmoid" else self.layers[-1]


def batch_norm_arrays(net, dtype=np.float64):
    """A fresh layer's scale 1 and shift 0, running mean 0 and variance 1 (PyTorch's start)."""
    arrays = {}
    for l in range(1, net.depth):
        if net.normalised(l):
            shape = (net.layers[l], 1)
            arrays.update(
                {
                    f"gamma{l}": np.ones(shape, dtype),
                    f"beta{l}": np.zeros(shape, dtype),
                    f"running_mean{l}": np.zeros(shape, dtype),
                    f"running_var{l}": np.ones(shape, dtype),
                }
            )
    return arrays


def times(W, A):
    """W A. An input kept as rows (A = rows.T, as ``ArraySource`` hands it out) is
    multiplied as (rows W^T)^T: the same product, in the operand order that OpenBLAS
    runs faster with its default threads (bench/products.py, docs/performance/general-path.md)."""
    if A.flags.f_contiguous and not A.flags.c_contiguous:
        return (A.T @ W.T).T
    return W @ A


class Normalised(NamedTuple):
    """What a training-mode batch normalisation leaves for its backward pass and the running statistics."""

    Z_hat: np.ndarray  # (Z - mean) / sqrt(var + eps)
    inv_std: np.ndarray  # 1 / sqrt(var + eps), (n, 1)
    mean: np.ndarray  # of the batch, (n, 1)
    var: np.ndarray  # of the batch, biased (divided by m), (n, 1)


def normalise(Z, gamma, beta, epsilon):
    """Z_n = gamma (Z - mean) / sqrt(var + eps) + beta, mean and (biased) var of each unit over the batch."""
    mean = Z.mean(axis=1, keepdims=True)
    centred = Z - mean
    var = np.mean(centred * centred, axis=1, keepdims=True)
    inv_std = 1 / np.sqrt(var + epsilon)
    Z_hat = centred
    Z_hat *= inv_std
    return gamma * Z_hat + beta, Normalised(Z_hat, inv_std, mean, var)


def normalise_backward(dZ_n, gamma, norm):
    """dgamma = sum dZ_n Z_hat;  dbeta = sum dZ_n;
    dZ = inv_std (dZ_hat - mean(dZ_hat) - Z_hat mean(dZ_hat Z_hat)),  dZ_hat = gamma dZ_n (means over the batch)."""
    dgamma = np.sum(dZ_n * norm.Z_hat, axis=1, keepdims=True)
    dbeta = dZ_n.sum(axis=1, keepdims=True)
    dZ_hat = gamma * dZ_n
    m = dZ_n.shape[1]
    dZ = dZ_hat - dZ_hat.mean(axis=1, keepdims=True)
    dZ -= norm.Z_hat * (np.sum(dZ_hat * norm.Z_hat, axis=1, keepdims=True) / m)
    dZ *= norm.inv_std
    return dgamma, dbeta, dZ


def normalise_for_inference(Z, gamma, beta, running_mean, running_var, epsilon):
    """Z_n = gamma (Z - running_mean) / sqrt(running_var + eps) + beta: the same function for every batch."""
    Z_n = Z - running_mean
    Z_n *= gamma / np.sqrt(running_var + epsilon)
    Z_n += beta
    return Z_n


def forward(net, params, X, masks=None, Z1=None, training=False):
    """Output pre-activation ``ZL`` and the cache ``backward`` needs.

    ``masks`` (optional) holds, per hidden layer, an inverted-dropout mask already
    divided by its keep probability, or None for no dropout on that layer.
    ``Z1`` is the first layer's pre-activation when the caller already has it
    (the full-batch fast path forms it without touching ``X``).
    ``training`` normalises a layer with batch norm by the batch's own mean and
    variance (and caches them); otherwise by the running statistics in ``params``.
    It never changes the running statistics: the trainers do, after the step.
    The cache holds (A_prev, Z, G, Normalised or None) per layer, with Z the
    activation's input (after normalisation).
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
            cache.append((A, Z, None, None))
            return Z, cache
        norm = None
        if net.normalised(l):
            gamma, beta, epsilon = params[f"gamma{l}"], params[f"beta{l}"], net.batch_norm_epsilon
            if training:
                Z, norm = normalise(Z, gamma, beta, epsilon)
            else:
                Z = normalise_for_inference(
                    Z, gamma, beta, params[f"running_mean{l}"], params[f"running_var{l}"], epsilon
                )
        G = ACTIVATIONS[net.activations[l - 1]](Z)
        cache.append((A, Z, G, norm))
        A = G if masks is None or masks[l - 1] is None else G * masks[l - 1]


def update_running_statistics(net, statistics, cache, momentum):
    """running = (1 - momentum) running + momentum batch, PyTorch's convention, in place; the batch
    variance unbiased, times m / (m - 1), as PyTorch keeps it (so a batch needs two examples)."""
    for l in range(1, net.depth):
        norm = cache[l - 1][3]
        if norm is None:
            continue
        m = cache[l - 1][1].shape[1]
        mean, var = statistics[f"running_mean{l}"], statistics[f"running_var{l}"]
        mean *= 1 - momentum
        mean += momentum * norm.mean
        var *= 1 - momentum
        var += (momentum * m / (m - 1)) * norm.var


def output_gradient(net, ZL, Y, weights=None):
    """d(cost)/dZL = w (a - y) / m, exact for each output and its loss (sigmoid with binary cross-entropy,
    softmax with categorical cross-entropy, identity with half the squared error); ``weights`` w, a (1, m)
    row, or None for 1 (no multiplication by ones)."""
    dZL = OUTPUT_ACTIVATIONS[net.output](ZL) - Y
    if weights is not None:
        dZL *= weights
    dZL /= Y.shape[1]
    return dZL


def backward_to_first_layer(net, params, cache, dZL, masks=None, l2=0.0):
    """Gradients of every layer but ``dW1``, and ``dZ1`` from which ``dW1 = dZ1 X^T`` follows.

    ``dZ1`` is the gradient of the first layer's pre-activation before any batch norm,
    so the full-batch fast path, which forms that pre-activation itself, serves batch norm too.
    """
    grads = {}
    m = dZL.shape[1]
    dZ = dZL
    for l in range(net.depth, 0, -1):
        # under batch norm b cancels in Z - mean: its gradient is 0 exactly, not a sum of rounding errors
        grads[f"db{l}"] = np.zeros_like(params[f"b{l}"]) if net.normalised(l) else dZ.sum(axis=1, keepdims=True)
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
        _, Z_prev, G_prev, norm = cache[l - 2]
        dZ = dA * DERIVATIVES[net.activations[l - 2]](Z_prev, G_prev)
        if norm is not None:
            k = l - 1
            grads[f"dgamma{k}"], grads[f"dbeta{k}"], dZ = normalise_backward(dZ, params[f"gamma{k}"], norm)


def backward(net, params, cache, dZL, masks=None, l2=0.0, dW1_out=None):
    """Gradients ``{"dW1": ..., "db1": ...}`` of the cost from the output gradient ``dZL``.

    The gradient with respect to the input ``X`` is never formed: nothing uses it,
    and for a wide input it would be the most expensive product of all.
    ``dW1_out``, if given, is an array of W1's shape that receives ``dW1``: a trainer
    reuses one, because a fresh array as large as W1 at every step costs the
    system a page fault for every 4 KiB of it (docs/performance/general-path.md).
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


def cost(net, params, ZL, Y, l2=0.0, weights=None):
    """(1/m) sum_i w_i loss_i + (lambda / 2m) sum ||W||^2; ``weights`` None for w_i = 1."""
    return LOSSES[net.output](ZL, Y, weights) + l2_penalty(net, params, l2, Y.shape[1])


def compute_cost(net, params, X, Y, l2=0.0, weights=None):
    """The cost of the model on (X, Y) in inference mode (batch norm by its running statistics)."""
    ZL, _ = forward(net, params, X)
    return cost(net, params, ZL, Y, l2, weights)


def gradients(net, params, X, Y, masks=None, l2=0.0, weights=None):
    """Cost and gradients for one training batch: the forward and backward pass together."""
    ZL, cache = forward(net, params, X, masks, training=True)
    grads = backward(net, params, cache, output_gradient(net, ZL, Y, weights), masks, l2)
    return cost(net, params, ZL, Y, l2, weights), grads


def predict_proba(net, params, X):
    """The output activation: class probabilities, (1, m) for a sigmoid output (probability of class 1),
    (K, m) for softmax; for an identity output the predicted values themselves (``predict_values``)."""
    ZL, _ = forward(net, params, X)
    return OUTPUT_ACTIVATIONS[net.output](ZL)


THRESHOLD = 0.5  # a sigmoid output picks the second class above this; predict, serve and export use it


def predict_values(net, params, X):
    """A regression's predictions, (k, m) for k outputs: the identity output's pre-activation."""
    assert net.is_regression, "predict_values is for a network that predicts numbers"
    ZL, _ = forward(net, params, X)
    return ZL


def predict_labels(net, probabilities, threshold=THRESHOLD):
    """Integer class of each example from ``predict_proba``'s output."""
    assert not net.is_regression, "a regression predicts values, not labels"
    if net.output == "sigmoid":
        return (probabilities[0] > threshold).astype(np.int64)
    return probabilities.argmax(axis=0)


def encode_labels(net, labels, dtype=np.float64):
    """Targets ``Y`` for integer ``labels`` of shape (m,): a (1, m) row or one-hot (K, m)."""
    assert not net.is_regression, "a regression's targets are numbers, not labels"
    labels = np.asarray(labels)
    if net.output == "sigmoid":
        return labels.reshape(1, -1).astype(dtype)
    Y = np.zeros((net.layers[-1], labels.size), dtype=dtype)
    Y[labels, np.arange(labels.size)] = 1
    return Y


def accuracy(net, params, X, labels):
    assert not net.is_regression, "a regression has no accuracy"
    return float(np.mean(predict_labels(net, predict_proba(net, params, X)) == labels))
