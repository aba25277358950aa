"""Iterative training on the general path: one parameter update per ``step()``, any optimizer, full batch
or mini-batches.

Everything random in a run is a pure function of the seed and the position in
the run (the epoch for shuffling, the iteration for dropout), so a run resumed
from a checkpoint at iteration t continues bit for bit as if never stopped.
"""

import numpy as np

from .class_weights import example_weights
from .health import dead_units, gradient_norms
from .network import backward, cost, forward, output_gradient, update_running_statistics
from .optimizers import OPTIMIZERS
from .sources import reads_ahead, varies

SHUFFLE_STREAM = 0
DROPOUT_STREAM = 1
FAST_PATH_PREFIX = "fast_"  # the fast path's own arrays in a saved state (their velocities add "v_")


def epoch_order(seed, epoch, m):
    return np.random.default_rng([seed, SHUFFLE_STREAM, epoch]).permutation(m)


def dropout_masks(net, keep_probs, seed, iteration, batch, dtype):
    """Inverted-dropout masks for one iteration: 1/keep where a unit is kept, 0 where dropped."""
    if keep_probs is None:
        return None
    rng = np.random.default_rng([seed, DROPOUT_STREAM, iteration])
    masks = []
    for size, keep in zip(net.layers[1:-1], keep_probs, strict=True):
        if keep >= 1:
            masks.append(None)
        else:
            kept = rng.random((size, batch), dtype=np.float64) < keep
            masks.append(kept.astype(dtype) / dtype(keep))
    return masks


def is_fast_path_state(name):
    return name.removeprefix("v_").startswith(FAST_PATH_PREFIX)


def steps_per_epoch(m, batch_size):
    return 1 if batch_size is None else -(-m // batch_size)


def model_arrays(net, params, statistics):
    """Parameters and running statistics together, in the network's order: what a checkpoint saves."""
    arrays = {**params, **statistics}
    return {name: arrays[name] for name in net.array_names}


def largest_product(layers, batch, first_inputs=None):
    """Multiply-adds of the largest matrix product in a step on ``batch`` examples: W_l A_{l-1} for
    each layer, the first with ``first_inputs`` inputs in place of the input's features (the fast path's
    n1 x m Gram product). What a run's choice of BLAS threads goes by."""
    fan_in = [first_inputs or layers[0], *layers[1:-1]]
    return max(n_out * n_in * batch for n_in, n_out in zip(fan_in, layers[1:], strict=True))


class BatchOrder:
    """The examples of each iteration's mini-batch: its slice of its epoch's shuffled order.

    Both trainers take their batches from here, so the fast path and the general path see
    the same examples in the same order. ``full`` is true when every step takes every example.
    """

    def __init__(self, seed, m, batch_size):
        self.seed = seed
        self.m = m
        self.size = batch_size
        self.full = batch_size is None or batch_size >= m
        self._orders = {}  # epoch -> permutation, for this epoch and the last

    def indices(self, iteration):
        epoch, k = divmod(iteration, steps_per_epoch(self.m, self.size))
        if epoch not in self._orders:
            self._orders = {e: p for e, p in self._orders.items() if e >= epoch - 1}
            self._orders[epoch] = epoch_order(self.seed, epoch, self.m)
        return self._orders[epoch][k * self.size : (k + 1) * self.size]


class Trainer:
    """Any optimizer, full batch or mini-batches.

    ``params`` holds the model's arrays (``net.array_names``): the parameters, which the
    optimizer updates, and batch norm's running statistics, which each step updates.
    """

    fast = False

    def __init__(self, net, params, settings, source, state=None, iteration=0):
        self.net = net
        self.params = {name: params[name] for name in net.param_names}
        self.statistics = {name: params[name] for name in net.statistic_names}
        self.settings = settings
        self.source = source
        optimizer = OPTIMIZERS[settings.optimizer]
        if state is None:
            state = optimizer.init_state(self.params)
        self.state = {name: value for name, value in state.items() if not is_fast_path_state(name)}
        self.update = optimizer.update
        self.hyper = settings.optimizer_hyper
        self.iteration = iteration
        self.dtype = params["W1"].dtype.type
        self.order = BatchOrder(settings.seed, source.m, settings.batch_size)
        self.largest_product = largest_product(net.layers, min(settings.batch_size or source.m, source.m))
        self._dW1 = np.empty_like(params["W1"])  # reused by every step, see network.backward

    def batch(self):
        if varies(self.source):
            self.source.at(self.iteration)
        if self.order.full:
            return self.source.everything()
        batch = self.source.take(self.batch_indices(self.iteration))
        if reads_ahead(self.source):
            self.source.will_take(self.batch_indices(self.iteration + 1))
        return batch

    def batch_indices(self, iteration):
        """The examples of ``iteration``'s mini-batch (see ``BatchOrder``)."""
        return self.order.indices(iteration)

    def masks(self, batch):
        if not self.settings.has_dropout:
            return None
        s = self.settings
        return dropout_masks(self.net, s.keep_probs, s.seed, self.iteration, batch, self.dtype)

    def step(self, observe=False):
        """One update; returns the cost of the batch before it (with the L2 term).

        With ``observe``, ``self.health`` holds this step's dead ReLU units and gradient norms.
        """
        X, Y = self.batch()
        masks = self.masks(X.shape[1])
        weights = example_weights(self.net, Y, self.settings.class_weights)
        ZL, cache = forward(self.net, self.params, X, masks, training=True)
        l2 = self.settings.l2
        batch_cost = cost(self.net, self.params, ZL, Y, l2, weights)
        dZL = output_gradient(self.net, ZL, Y, weights)
        grads = backward(self.net, self.params, cache, dZL, masks, l2, self._dW1)
        if observe:
            self.health = {"dead_relu": dead_units(self.net, cache), "gradient_norm": gradient_norms(self.net, grads)}
        self.update(self.params, grads, self.state, self.settings.rate(self.iteration), **self.hyper)
        update_running_statistics(self.net, self.statistics, cache, self.settings.batch_norm_momentum)
        self.iteration += 1
        return batch_cost

    def snapshot(self):
        """The model's arrays (parameters and running statistics) and the optimizer state, ready to save."""
        return model_arrays(self.net, self.params, self.statistics), self.state
