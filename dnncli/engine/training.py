"""Iterative training: one parameter update per ``step()``.

Everything random in a run is a pure function of the seed and the position in
the run (the epoch for shuffling, the iteration for dropout), so a run resumed
from a checkpoint at iteration t continues bit for bit as if never stopped.
"""

from dataclasses import dataclass, field

import numpy as np

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
        params = {**SCHEDULES[self.schedule].defaults, **self.schedule_params}
        return SCHEDULES[self.schedule].rate(self.learning_rate, t, **params)

    @property
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
        self.state = OPTIMIZERS[settings.optimizer].init_state(params) if state is None else state
        self.iteration = iteration
        self.dtype = params["W1"].dtype.type
        self._order = (None, None)  # (epoch, permutation)

    def batch(self):
        size = self.settings.batch_size
        if size is None or size >= self.source.m:
            return self.source.everything()
        per_epoch = steps_per_epoch(self.source.m, size)
        epoch, k = divmod(self.iteration, per_epoch)
        if self._order[0] != epoch:
            self._order = (epoch, epoch_order(self.settings.seed, epoch, self.source.m))
        return self.source.take(self._order[1][k * size : (k + 1) * size])

    def masks(self, batch):
        if not self.settings.has_dropout:
            return None
        s = self.settings
        return dropout_masks(self.net, s.keep_probs, s.seed, self.iteration, batch, self.dtype)

    def step(self):
        """One update; returns the cost of the batch before it (with the L2 term)."""
        X, Y = self.batch()
        masks = self.masks(X.shape[1])
        ZL, cache = forward(self.net, self.params, X, masks)
        l2 = self.settings.l2
        batch_cost = cost(self.net, self.params, ZL, Y, l2)
        grads = backward(self.net, self.params, cache, output_gradient(self.net, ZL, Y), masks, l2)
        lr = self.settings.rate(self.iteration)
        OPTIMIZERS[self.settings.optimizer].update(self.params, grads, self.state, lr, **self.settings.optimizer_hyper)
        self.iteration += 1
        return batch_cost

    def snapshot(self):
        """Parameters and optimizer state as named arrays, ready to save."""
        return self.params, self.state


def fast_path_obstacle(settings, m):
    """Why the full-batch fast path cannot serve these settings, or None if it can."""
    if settings.batch_size is not None and settings.batch_size < m:
        return "it needs full-batch training (no training.batch_size below the number of examples)"
    if settings.optimizer not in ("gd", "momentum"):
        return f"optimizer {settings.optimizer!r} is not linear in the gradient (use gd or momentum)"
    return None


def fast_path_pays(n_features, m):
    return n_features > m and m * m * 8 <= FAST_PATH_MAX_GRAM_BYTES


class FastTrainer:
    """Full-batch gradient descent (plain or momentum, with L2 and hidden dropout) that never
    multiplies by the wide input after the start.

    Every update of the first layer, dW1 = dZ1 X^T + (lambda/m) W1, lies in the span
    of W1_0 and X^T, so W1 = a W1_0 + C X^T throughout and
    Z1 = W1 X + b1 = a Z1_0 + C K + b1 with Z1_0 = W1_0 X and K = X^T X (float64).
    Momentum's velocity has the same form, v = alpha W1_0 + V X^T.
    """

    fast = True

    def __init__(self, net, params, settings, source, state=None, iteration=0):
        assert fast_path_obstacle(settings, source.m) is None
        self.net = net
        self.others = [name for name in net.param_names if name != "W1"]
        # W1 lives only as (a, C); snapshot() materialises it
        self.params = {name: params[name] for name in self.others}
        self.settings = settings
        self.iteration = iteration
        self.dtype = params["W1"].dtype.type
        self.X, self.Y = source.everything()
        X64 = self.X.astype(np.float64, copy=False)
        self.K = X64.T @ X64
        state = {} if state is None else state
        n1, m = params["W1"].shape[0], source.m
        self.W1_0 = state.get("fast_W1_0", params["W1"].astype(np.float64))
        self.a = float(state.get("fast_a", 1.0))
        self.C = state.get("fast_C", np.zeros((n1, m)))
        self.alpha = float(state.get("fast_alpha", 0.0))
        self.V = state.get("fast_V", np.zeros((n1, m)))
        self.Z1_0 = self.W1_0 @ X64
        self.W1_0_sqnorm = float(np.vdot(self.W1_0, self.W1_0))
        momentum = settings.optimizer == "momentum"
        self.state = {"v_" + n: state.get("v_" + n, np.zeros_like(params[n])) for n in self.others} if momentum else {}

    def step(self):
        net, s, m = self.net, self.settings, self.source_m
        CK = self.C @ self.K
        Z1 = self.a * self.Z1_0 + CK + self.params["b1"]
        masks = dropout_masks(net, s.keep_probs, s.seed, self.iteration, m, self.dtype) if s.has_dropout else None
        ZL, cache = forward(net, self.params, None, masks, Z1=Z1.astype(self.dtype, copy=False))
        batch_cost = LOSSES[net.output](ZL, self.Y)
        if s.l2:
            # ||W1||^2 = a^2 ||W1_0||^2 + 2a <Z1_0, C> + <C K, C>
            w1 = self.a**2 * self.W1_0_sqnorm + 2 * self.a * np.vdot(self.Z1_0, self.C) + np.vdot(CK, self.C)
            batch_cost += s.l2 / (2 * m) * float(w1) + l2_penalty(net, self.params, s.l2, m, first=2)
        grads, dZ1 = backward_to_first_layer(net, self.params, cache, output_gradient(net, ZL, self.Y), masks, s.l2)
        lr = s.rate(self.iteration)
        shrink = s.l2 / m
        # dW1 = (shrink a) W1_0 + (dZ1 + shrink C) X^T
        da = shrink * self.a
        dC = dZ1 + shrink * self.C if shrink else dZ1.astype(np.float64)
        if s.optimizer == "momentum":
            beta = s.optimizer_hyper["beta"]
            self.alpha = beta * self.alpha + (1 - beta) * da
            self.V *= beta
            self.V += (1 - beta) * dC
            self.a -= lr * self.alpha
            self.C -= lr * self.V
            OPTIMIZERS["momentum"].update(self.params, grads, self.state, lr, beta)
        else:
            self.a -= lr * da
            self.C -= lr * dC
            OPTIMIZERS["gd"].update(self.params, grads, self.state, lr)
        self.iteration += 1
        return batch_cost

    @property
    def source_m(self):
        return self.Y.shape[1]

    def _through_input(self, coefficient, span):
        """coefficient W1_0 + span X^T, in the training dtype."""
        X64 = self.X.astype(np.float64, copy=False)
        return (coefficient * self.W1_0 + span @ X64.T).astype(self.dtype)

    def snapshot(self):
        """Parameters with W1 materialised, and the optimizer state including the fast path's own."""
        params = dict(self.params)
        params["W1"] = self._through_input(self.a, self.C)
        state = dict(self.state)
        if self.settings.optimizer == "momentum":
            state["v_W1"] = self._through_input(self.alpha, self.V)
        state.update(
            fast_W1_0=self.W1_0,
            fast_a=np.float64(self.a),
            fast_C=self.C,
            fast_alpha=np.float64(self.alpha),
            fast_V=self.V,
        )
        return params, state


def make_trainer(net, params, settings, source, fast_path="auto", state=None, iteration=0):
    """The fast path where it applies and pays (``auto``), where asked (``on``), or never (``off``)."""
    use_fast = fast_path == "on" or (
        fast_path == "auto"
        and fast_path_obstacle(settings, source.m) is None
        and fast_path_pays(net.layers[0], source.m)
    )
    kind = FastTrainer if use_fast else Trainer
    return kind(net, params, settings, source, state=state, iteration=iteration)
