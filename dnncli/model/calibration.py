"""Temperature scaling: one number T that divides a model's logits, so its probabilities say how often it is right.

A network trained to a low training cost is often more sure than it is right: a probability of 0.99 for
answers right 80% of the time. Dividing the output layer's pre-activation (the logits) by T > 1 softens
every probability, T < 1 sharpens them; T = 1 leaves them. ``fit_temperature`` chooses the T that
minimises the mean log loss on examples the model was not trained on (the validation split), by a
golden-section search on log T between ``LOWEST`` and ``HIGHEST``: the loss of z / T is convex in 1 / T,
so the search finds its one minimum. The most probable class never changes; for two classes with a
threshold other than 0.5 on the probability, the class can (the threshold is chosen after calibrating).
How calibrated the probabilities are is ``metrics.calibration``'s expected calibration error.
"""

import math
from dataclasses import dataclass

import numpy as np

from ..engine import LOSSES, OUTPUT_ACTIVATIONS

LOWEST, HIGHEST = 0.01, 100.0  # the temperatures searched
TOLERANCE = 1e-6  # of log T, where the search stops
GOLDEN = (math.sqrt(5) - 1) / 2


@dataclass(frozen=True)
class Temperature:
    temperature: float
    log_loss_before: float  # at T = 1, on the examples it was fitted on
    log_loss_after: float
    examples: int


def targets(logits, labels):
    """The cost's targets for integer ``labels`` (m,): a (1, m) row for one output, else one-hot (K, m)."""
    labels = np.asarray(labels)
    if logits.shape[0] == 1:
        return labels.reshape(1, -1).astype(np.float64)
    one_hot = np.zeros(logits.shape, dtype=np.float64)
    one_hot[labels, np.arange(labels.size)] = 1
    return one_hot


def output_of(logits):
    return "sigmoid" if logits.shape[0] == 1 else "softmax"


def scaled_log_loss(logits, y, temperature):
    """Mean log loss of the probabilities of ``logits / temperature`` against targets ``y``."""
    return LOSSES[output_of(logits)](logits / temperature, y)


def fit_temperature(logits, labels):
    """The ``Temperature`` that minimises the mean log loss of ``logits`` (K, m) or (1, m) for a sigmoid,
    with true ``labels`` (m,)."""
    logits = np.asarray(logits, dtype=np.float64)
    y = targets(logits, labels)

    def loss(log_t):
        return scaled_log_loss(logits, y, math.exp(log_t))

    low, high = math.log(LOWEST), math.log(HIGHEST)
    a, b = high - GOLDEN * (high - low), low + GOLDEN * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    while high - low > TOLERANCE:
        if loss_a <= loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - GOLDEN * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + GOLDEN * (high - low)
            loss_b = loss(b)
    temperature = math.exp((low + high) / 2)
    return Temperature(temperature, loss(0.0), loss(math.log(temperature)), int(y.shape[1]))


def calibrated(logits, temperature):
    """Class probabilities of ``logits / temperature``: (1, m) for a sigmoid output (class 1's), (K, m) else."""
    logits = np.asarray(logits)
    return OUTPUT_ACTIVATIONS[output_of(logits)](logits / temperature)
