"""Class weights: one positive weight per class, and each example weighted by its class's.

The weighted cost is (1/m) sum_i w_{y_i} loss_i (``losses.mean_over_examples``), its gradient
with respect to the output pre-activation w_i (a_i - y_i) / m, exactly. The weights of a batch
follow from its targets, so a source hands out nothing more than ``Y``.
"""

import numpy as np

from .losses import REGRESSION_OUTPUTS


def example_weights(net, Y, class_weights):
    """Each example's weight, a (1, m) row of Y's dtype, from ``class_weights`` (one per class,
    in class order); None for None, so an unweighted step does no work for them.

    A sigmoid target y (0 or 1) weighs w1 y + w0 (1 - y); a one-hot softmax target,
    class_weights @ y. A regression has no classes to weigh.
    """
    if class_weights is None:
        return None
    assert net.output not in REGRESSION_OUTPUTS, "class weights are for a network that classifies"
    assert len(class_weights) == net.n_classes, "one class weight per class"
    w = np.asarray(class_weights, dtype=Y.dtype)
    if net.output == "sigmoid":
        return w[1] * Y + w[0] * (1 - Y)
    return w.reshape(1, -1) @ Y


def balanced_class_weights(counts):
    """n / (K count_k) for the K classes' example counts (n in all): scikit-learn's
    ``compute_class_weight("balanced", ...)``, which weighs every class's examples to the same total n / K."""
    counts = np.asarray(counts, dtype=np.float64)
    assert counts.ndim == 1 and (counts > 0).all(), "every class needs an example"
    return tuple(float(w) for w in counts.sum() / (counts.size * counts))
