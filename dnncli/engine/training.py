"""Iterative training: one parameter update per ``step()``.

Everything random in a run is a pure function of the seed and the position in
the run (the epoch for shuffling, the iteration for dropout), so a run resumed
from a checkpoint at iteration t continues bit for bit as if never stopped.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .health import dead_units, gradient_norms
from .losses import LOSSES
from .network import (
    backward,
    backward_to_first_layer,
    cost,
    forward,
    l2_penalty,
    output_gradient,
)
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES

SHUFFLE_STREAM = 0
DROPOUT_STREAM = 1

# Names of the fast path's own arrays in the optimizer state it saves (their velocities add "v_").
FAST_W1_0, FAST_A, FAST_C = "fast_W1_0", "fast_a", "fast_C"

# The fast path keeps K = X^T X (m x m, float64); beyond this it is not worth the memory.
FAST_PATH_MAX_GRAM_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Settings:
    learning_rate: float
    optimizer: str = "gd"
    optimizer_params: dict = field(default_factory=dict)
    schedule: str = "constant"
    schedule_params: dict = field(default_factory=dict)
    l2: float = 0.0
    keep_probs: tuple = None  # per hidden layer, 1.0 for no dropout
    batch_size: int = None  # None: the whole set in every step
    seed: int = 0

    def rate(self, t):
        return SCHEDULES[self.schedule].rate(self.learning_rate, t, **self.schedule_hyper)

    @cached_property
    def schedule_hyper(self):
        return {**SCHEDULES[self.schedule].defaults, **self.schedule_params}

    @cached_property
    def optimizer_hyper(self):
        return {**OPTIMIZERS[self.optimizer].defaults, **self.optimizer_params}

    @property
    def has_dropout(self):
        return self.keep_probs is not None and any(k < 1 for k in self.keep_probs)


class ArraySource:
    """Examples held in memory as rows: ``rows`` is (m, features), ``targets`` (outputs, m)."""

    def __init__(self, rows, targets):
        self.rows = rows
        self.targets = targets
        self.m = rows.shape[0]

    def everything(self):
        return self.rows.T, self.targets

    def take(self, indices):
        return self.rows[indices].T, self.targets[:, indices]


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
    return name.removeprefix("v_").startswith("fast_")


def steps_per_epoch(m, batch_size):
    return 1 if batch_size is None else -(-m // batch_size)


class Trainer:
    """Any optimizer, full batch or mini-batches."""

    fast = False

    def __init__(self, net, params, settings, source, state=None, iteration=0):
        self.net = net
        self.params = params
        self.settings = settings
        self.source = source
        optimizer = OPTIMIZERS[settings.optimizer]
        if state is None:
            state = optimizer.init_state(params)
        self.state = {name: value for name, value in state.items() if not is_fast_path_state(name)}
        self.update = optimizer.update
        self.hyper = settings.optimizer_hyper
        self.iteration = iteration
        self.dtype = params["W1"].dtype.type
        self._orders = {}  # epoch -> permutation, for this epoch and the next
        self._dW1 = np.empty_like(params["W1"])  # reused by every step, see network.backward

    def batch(self):
        size = self.settings.batch_size
        if size is None or size >= self.source.m:
            return self.source.everything()
        batch = self.source.take(self.batch_indices(self.iteration))
        if hasattr(self.source, "will_take"):  # a source that reads ahead, such as one on disk
            self.source.will_take(self.batch_indices(self.iteration + 1))
        return batch

    def batch_indices(self, iteration):
        """The examples of ``iteration``'s mini-batch: its slice of its epoch's shuffled order."""
        size = self.settings.batch_size
        epoch, k = divmod(iteration, steps_per_epoch(self.source.m, size))
        if epoch not in self._orders:
            self._orders = {e: p for e, p in self._orders.items() if e >= epoch - 1}
            self._orders[epoch] = epoch_order(self.settings.seed, epoch, self.source.m)
        return self._orders[epoch][k * size : (k + 1) * size]

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
        ZL, cache = forward(self.net, self.params, X, masks)
        l2 = self.settings.l2
        batch_cost = cost(self.net, self.params, ZL, Y, l2)
        grads = backward(self.net, self.params, cache, output_gradient(self.net, ZL, Y), masks, l2, self._dW1)
        if observe:
            self.health = {"dead_relu": dead_units(self.net, cache), "gradient_norm": gradient_norms(self.net, grads)}
        self.update(self.params, grads, self.state, self.settings.rate(self.iteration), **self.hyper)
        self.iteration += 1
        return batch_cost

    def snapshot(self):
        """Parameters and optimizer state as named arrays, ready to save."""
        return self.params, self.state


LINEAR_OPTIMIZERS = ("gd", "momentum")  # updates linear in the gradient: the fast path can follow them


def fast_path_obstacle(settings, m):
    """Why the full-batch fast path cannot serve these settings, or None if it can."""
    if settings.batch_size is not None and settings.batch_size < m:
        return "it needs full-batch training (no training.batch_size below the number of examples)"
    if settings.optimizer not in LINEAR_OPTIMIZERS:
        return f"optimizer {settings.optimizer!r} is not linear in the gradient (use {' or '.join(LINEAR_OPTIMIZERS)})"
    return None


def fast_path_pays(n_features, m):
    return n_features > m and m * m * 8 <= FAST_PATH_MAX_GRAM_BYTES


def fast_path_can_resume(state):
    """A state saved by the general path with a W1 velocity has a direction the fast path cannot represent."""
    return state is None or "v_W1" not in state or FAST_C in state


# Features at a time when a float32 input is widened to float64, so no float64 copy of X is ever whole.
WIDEN_FEATURES = 1024


def input_blocks(X):
    """(rows of X, those rows as float64) in blocks: all of X at once when it already is float64."""
    if X.dtype == np.float64:
        yield slice(None), X
        return
    for start in range(0, X.shape[0], WIDEN_FEATURES):
        part = slice(start, start + WIDEN_FEATURES)
        yield part, X[part].astype(np.float64)


def gram(X):
    """K = X^T X (m x m) in float64."""
    K = np.zeros((X.shape[1], X.shape[1]))
    for _, block in input_blocks(X):
        K += block.T @ block
    return K


def times_input(W, X):
    """W X in float64, for W (n1 x features)."""
    Z = np.zeros((W.shape[0], X.shape[1]))
    for part, block in input_blocks(X):
        Z += W[:, part] @ block
    return Z


def times_input_transposed(S, X):
    """S X^T in float64, for S (n1 x m)."""
    out = np.empty((S.shape[0], X.shape[0]))
    for part, block in input_blocks(X):
        np.matmul(S, block.T, out=out[:, part])
    return out


class FastTrainer:
    """Full-batch gradient descent (plain or momentum, with L2, hidden dropout and any
    schedule) that never multiplies by the wide input X after the start.

    Every update of the first layer, dW1 = dZ1 X^T + (lambda/m) W1, lies in the span
    of the initial W1_0 and X^T, so throughout

        W1 = a W1_0 + C X^T        (a a scalar, C an n1 x m matrix)
        Z1 = W1 X + b1 = a Z1_0 + C K + b1,   Z1_0 = W1_0 X,  K = X^T X

    and a step costs n1 m^2 instead of 2 n1 m n_features. The gradient has the same
    form, dW1 = da W1_0 + dC X^T with da = (lambda/m) a and dC = dZ1 + (lambda/m) C,
    and so has momentum's velocity. An optimizer that is linear in the gradient
    updates (a, C) exactly as it would update W1, so the optimizer's own update
    runs on them as on any parameter ("fast_a", "fast_C", with velocities
    "v_fast_a", "v_fast_C"). W1_0, K, a and C are float64 whatever the training
    dtype; ``snapshot`` materialises W1 (and momentum's v_W1) for checkpoints.
    """

    fast = True

    def __init__(self, net, params, settings, source, state=None, iteration=0):
        assert fast_path_obstacle(settings, source.m) is None
        assert fast_path_can_resume(state)
        state = {} if state is None else state
        self.net = net
        self.settings = settings
        self.iteration = iteration
        self.dtype = params["W1"].dtype.type
        self.X, self.Y = source.everything()
        self.m = source.m
        self.W1_0 = np.array(state.get(FAST_W1_0, params["W1"]), dtype=np.float64)  # a copy: W1 is not ours
        self.K = gram(self.X)
        self.Z1_0 = times_input(self.W1_0, self.X)
        self.W1_0_sqnorm = float(np.vdot(self.W1_0, self.W1_0))
        # W1 lives only as its coordinates (a, C); the other parameters as they are
        self.params = {name: params[name] for name in net.param_names if name != "W1"}
        self.params[FAST_A] = np.array(state.get(FAST_A, 1.0), dtype=np.float64)
        self.params[FAST_C] = np.array(state.get(FAST_C, np.zeros((params["W1"].shape[0], self.m))), dtype=np.float64)
        optimizer = OPTIMIZERS[settings.optimizer]
        fresh = optimizer.init_state(self.params)
        self.state = {name: state.get(name, value) for name, value in fresh.items()}
        self.update = optimizer.update
        self.hyper = settings.optimizer_hyper

    def first_layer(self):
        """Z1 = a Z1_0 + C K + b1 in float64, and C K."""
        a, C = float(self.params[FAST_A]), self.params[FAST_C]
        CK = C @ self.K
        Z1 = CK + self.params["b1"]
        Z1 += self.Z1_0 if a == 1 else a * self.Z1_0
        return Z1, CK

    def step(self, observe=False):
        """One update; returns the cost before it (with the L2 term), as ``Trainer.step``."""
        net, s, m = self.net, self.settings, self.m
        Z1, CK = self.first_layer()
        masks = dropout_masks(net, s.keep_probs, s.seed, self.iteration, m, self.dtype) if s.has_dropout else None
        ZL, cache = forward(net, self.params, None, masks, Z1=Z1.astype(self.dtype, copy=False))
        batch_cost = LOSSES[net.output](ZL, self.Y)
        grads, dZ1 = backward_to_first_layer(net, self.params, cache, output_gradient(net, ZL, self.Y), masks, s.l2)
        a, C = self.params[FAST_A], self.params[FAST_C]
        if s.l2:
            shrink = s.l2 / m
            w1 = self.span_sqnorm(a, C, CK)  # ||W1||^2
            batch_cost += shrink / 2 * float(w1) + l2_penalty(net, self.params, s.l2, m, first=2)
            grads["d" + FAST_A] = np.array(shrink * a)
            grads["d" + FAST_C] = dZ1 + shrink * C
        else:
            grads["d" + FAST_A] = np.zeros(())
            grads["d" + FAST_C] = dZ1
        if observe:
            da, dC = float(grads["d" + FAST_A]), grads["d" + FAST_C]
            first = self.span_sqnorm(da, dC, dC @ self.K)  # ||dW1||^2, dW1 = da W1_0 + dC X^T
            self.health = {
                "dead_relu": dead_units(net, cache),
                "gradient_norm": gradient_norms(net, grads, max(float(first), 0.0)),
            }
        self.update(self.params, grads, self.state, s.rate(self.iteration), **self.hyper)
        self.iteration += 1
        return batch_cost

    def span_sqnorm(self, a, C, CK):
        """||a W1_0 + C X^T||^2 = a^2 ||W1_0||^2 + 2a <Z1_0, C> + <C K, C>, without touching X."""
        return a * a * self.W1_0_sqnorm + 2 * a * np.vdot(self.Z1_0, C) + np.vdot(CK, C)

    def through_input(self, a, C):
        """a W1_0 + C X^T, in the training dtype."""
        W = times_input_transposed(C, self.X)
        W += a * self.W1_0
        return W.astype(self.dtype, copy=False)

    def snapshot(self):
        """Parameters with W1 materialised, and the optimizer state with the fast path's own arrays."""
        params = {name: p for name, p in self.params.items() if name not in (FAST_A, FAST_C)}
        params["W1"] = self.through_input(self.params[FAST_A], self.params[FAST_C])
        params = {name: params[name] for name in self.net.param_names}
        state = dict(self.state)
        if "v_" + FAST_C in state:
            state["v_W1"] = self.through_input(state["v_" + FAST_A], state["v_" + FAST_C])
        state.update({FAST_W1_0: self.W1_0, FAST_A: self.params[FAST_A], FAST_C: self.params[FAST_C]})
        return params, state


def make_trainer(net, params, settings, source, fast_path="auto", state=None, iteration=0):
    """The fast path where it applies and pays (``auto``), where asked (``on``), or never (``off``).

    A general-path state with a W1 velocity (momentum saved without the fast path)
    continues on the general path: the fast path cannot represent that velocity.
    """
    use_fast = fast_path_can_resume(state) and (
        fast_path == "on"
        or (
            fast_path == "auto"
            and fast_path_obstacle(settings, source.m) is None
            and fast_path_pays(net.layers[0], source.m)
        )
    )
    kind = FastTrainer if use_fast else Trainer
    return kind(net, params, settings, source, state=state, iteration=iteration)
