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
from .sources import has_order, reads_ahead, varies

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


class PieceOrder:
    """The mini-batches of examples kept in pieces (example i in piece i // ``piece``), for a source that reads a
    piece at a time: its batches must draw from a few pieces at a time, not from the whole set.

    Each epoch takes the pieces in a shuffled order, ``window`` at a time, and shuffles the examples of each
    window's pieces together; the epoch's order is its windows one after another, and the batches are its
    consecutive slices, as ``BatchOrder``'s are of its permutation. A batch draws from one window, or from two
    where it straddles them. With one window holding every piece, the order is ``BatchOrder``'s exactly. The
    pieces' order is drawn from the seed and the epoch, a window's examples from the seed, the epoch and the
    window, so a resumed run sees the same batches.
    """

    def __init__(self, seed, m, batch_size, piece, window):
        self.seed = seed
        self.m = m
        self.size = batch_size
        self.piece = piece
        self.window = window
        self.pieces = -(-m // piece)
        self.full = batch_size is None or batch_size >= m
        self.whole = BatchOrder(seed, m, batch_size) if window >= self.pieces else None
        self._epochs = {}  # epoch -> (its pieces in order, where each window's examples end), this epoch and the last
        self._windows = {}  # (epoch, window) -> its examples in their shuffled order, for the windows last used

    def place(self, iteration):
        """(epoch, first and last position in the epoch's order) of ``iteration``'s batch."""
        epoch, k = divmod(iteration, steps_per_epoch(self.m, self.size))
        return epoch, k * self.size, min((k + 1) * self.size, self.m) - 1

    def indices(self, iteration):
        if self.whole is not None:
            return self.whole.indices(iteration)
        epoch, first, last = self.place(iteration)
        ends = self.epoch(epoch)[1]
        parts = []
        for j in self.windows_between(epoch, first, last):
            begin = ends[j - 1] if j else 0
            parts.append(self.examples(epoch, j)[max(first - begin, 0) : last + 1 - begin])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def windows_between(self, epoch, first, last):
        ends = self.epoch(epoch)[1]
        return range(
            int(np.searchsorted(ends, first, side="right")), int(np.searchsorted(ends, last, side="right")) + 1
        )

    def windows_of(self, iteration):
        """The windows, (epoch, window), that ``iteration``'s batch draws from, and the window after them."""
        if self.whole is not None:
            epoch = self.place(iteration)[0]
            return [(epoch, 0)], (epoch + 1, 0)
        epoch, first, last = self.place(iteration)
        windows = [(epoch, j) for j in self.windows_between(epoch, first, last)]
        after = windows[-1][1] + 1
        return windows, ((epoch, after) if after < len(self.epoch(epoch)[1]) else (epoch + 1, 0))

    def window_pieces(self, epoch, j):
        """The pieces of window ``j`` of ``epoch``."""
        if self.whole is not None:
            return np.arange(self.pieces)
        return self.epoch(epoch)[0][j * self.window : (j + 1) * self.window]

    def epoch(self, epoch):
        if epoch not in self._epochs:
            self._epochs = {e: v for e, v in self._epochs.items() if e >= epoch - 1}
            order = np.random.default_rng([self.seed, SHUFFLE_STREAM, epoch]).permutation(self.pieces)
            sizes = np.where(order == self.pieces - 1, self.m - (self.pieces - 1) * self.piece, self.piece)
            ends = np.cumsum(np.add.reduceat(sizes, np.arange(0, self.pieces, self.window)))
            self._epochs[epoch] = (order, ends)
        return self._epochs[epoch]

    def examples(self, epoch, j):
        if (epoch, j) not in self._windows:
            if len(self._windows) >= 4:
                self._windows.pop(next(iter(self._windows)))
            starts = self.window_pieces(epoch, j) * self.piece
            examples = np.concatenate([np.arange(start, min(start + self.piece, self.m)) for start in starts])
            rng = np.random.default_rng([self.seed, SHUFFLE_STREAM, epoch, j])
            self._windows[(epoch, j)] = examples[rng.permutation(examples.size)]
        return self._windows[(epoch, j)]


def batch_order(source, seed, batch_size):
    """The order of a source's mini-batches: its own where it has one (``sources.HasOrder``), else
    ``BatchOrder``'s shuffle of every example."""
    if has_order(source):
        return source.batch_order(seed, batch_size)
    return BatchOrder(seed, source.m, batch_size)


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
        self.order = batch_order(source, settings.seed, settings.batch_size)
        self.varies, self.reads_ahead = varies(source), reads_ahead(source)  # once: a protocol check takes 20 us
        self.largest_product = largest_product(net.layers, min(settings.batch_size or source.m, source.m))
        self._dW1 = np.empty_like(params["W1"])  # reused by every step, see network.backward

    def batch(self):
        if self.varies:
            self.source.at(self.iteration)
        if self.order.full:
            return self.source.everything()
        batch = self.source.take(self.batch_indices(self.iteration))
        if self.reads_ahead:
            self.source.will_take(self.batch_indices(self.iteration + 1))
        return batch

    def batch_indices(self, iteration):
        """The examples of ``iteration``'s mini-batch (see ``BatchOrder`` and ``batch_order``)."""
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
