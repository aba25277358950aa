"""`dnn gradcheck`: backprop of the configured network against central differences."""

import numpy as np

from .engine import check_gradients, encode_labels, initialize
from .engine.training import dropout_masks
from .train import prepare


def gradient_check(config, examples=5, entries=50, epsilon=1e-6):
    """Per layer: (shape of W, entries checked, relative difference), on the first ``examples``
    training examples, in float64 whatever the run's dtype (float32 is too coarse for the check)."""
    job = prepare(config, with_test=False)
    net, settings = job.net, job.settings
    params = initialize(net.layers, config["model"]["init"], config["seed"], np.float64)
    count = min(examples, job.train.m)
    sample = job.train.subset(np.arange(count))
    X = sample.rows(np.float64).T
    Y = encode_labels(net, sample.labels)
    masks = None
    if settings.has_dropout:
        masks = dropout_masks(net, settings.keep_probs, settings.seed, 0, count, np.float64)
    differences = check_gradients(net, params, X, Y, masks, settings.l2, epsilon, entries, config["seed"])
    rows = []
    for l, difference in enumerate(differences, start=1):
        checked = min(entries, net.layers[l] * net.layers[l - 1]) + min(entries, net.layers[l])
        rows.append(
            {"layer": l, "shape": [net.layers[l], net.layers[l - 1]], "entries": checked, "difference": difference}
        )
    return rows, count
