"""The fast path: gradient descent, on the full batch or mini-batches, that never multiplies by the wide input
after the start."""

import numpy as np

from .class_weights import example_weights
from .health import dead_units, gradient_norms
from .losses import LOSSES
from .network import backward_to_first_layer, forward, l2_penalty, output_gradient, update_running_statistics
from .optimizers import OPTIMIZERS
from .sources import reads_ahead
from .trainer import (
    FAST_PATH_PREFIX,
    BatchOrder,
    Trainer,
    batch_order,
    dropout_masks,
    largest_product,
    model_arrays,
)  # fmt: skip

# Names of the fast path's own arrays in the optimizer state it saves.
FAST_W1_0, FAST_A, FAST_C, FAST_CK = (FAST_PATH_PREFIX + name for name in ("W1_0", "a", "C", "CK"))

# The fast path keeps K = X^T X (m x m, float64); beyond this it is not worth the memory.
FAST_PATH_MAX_GRAM_BYTES = 512 * 2**20

LINEAR_OPTIMIZERS = tuple(name for name, optimizer in OPTIMIZERS.items() if optimizer.linear)


def fast_path_obstacle(settings, m):
    """Why the fast path cannot serve these settings, or None if it can."""
    if settings.optimizer not in LINEAR_OPTIMIZERS:
        return f"optimizer {settings.optimizer!r} is not linear in the gradient (use {' or '.join(LINEAR_OPTIMIZERS)})"
    if settings.inputs_vary:
        return "the training inputs change at every step (data.augment), and it keeps X^T X of fixed inputs"
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
    """Gradient descent (plain or momentum, with L2, hidden dropout, batch norm and any
    schedule), on the full batch or shuffled mini-batches, that never multiplies by the
    wide input X after the start.

    Every update of the first layer, dW1 = dZ1_b X_b^T + (lambda/B) W1 for a batch b
    of B examples, lies in the span of the initial W1_0 and X^T, so throughout

        W1 = a W1_0 + C X^T        (a a scalar, C an n1 x m matrix)
        Z1_b = W1 X_b + b1 = a Z1_0[:, b] + (C K)[:, b] + b1,   Z1_0 = W1_0 X,  K = X^T X

    The gradient has the same form, dW1 = da W1_0 + dC X^T with da = (lambda/B) a and
    dC = (lambda/B) C plus dZ1_b in the batch's columns: L2 shrinks a and every column
    of C, the batch changes only its own. An optimizer that is linear in the gradient
    updates (a, C) exactly as it would update W1, so the optimizer's own update runs
    on them as on any parameter ("fast_a", "fast_C", with velocities "v_fast_a",
    "v_fast_C"). It runs on CK = C K as well, with the gradient dC K = (lambda/B) CK +
    dZ1_b K[b, :]: K is fixed, so CK (and its velocity) stays C K without the n1 m^2
    product, and a step costs n1 m B instead of 2 n1 n B. W1_0, K, a, C and CK are
    float64 whatever the training dtype; ``snapshot`` materialises W1 (and momentum's
    v_W1) for checkpoints. Batch norm changes nothing here: it acts on Z1_b after it
    is formed, and ``backward_to_first_layer`` hands back dZ1_b before it. Nor do the
    output (sigmoid, softmax or identity) and class weights: they change only dZL, the
    start of the backward pass that hands back dZ1_b.
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
        self.order = batch_order(source, settings.seed, settings.batch_size)
        self.largest_product = largest_product(net.layers, min(settings.batch_size or self.m, self.m), self.m)
        self.W1_0 = np.array(state.get(FAST_W1_0, params["W1"]), dtype=np.float64)  # a copy: W1 is not ours
        self.K = gram(self.X)
        self.Z1_0 = times_input(self.W1_0, self.X)
        self.W1_0_sqnorm = float(np.vdot(self.W1_0, self.W1_0))
        # W1 lives only as its coordinates (a, C) and C K; the other parameters as they are
        self.params = {name: params[name] for name in net.param_names if name != "W1"}
        self.params[FAST_A] = np.array(state.get(FAST_A, 1.0), dtype=np.float64)
        self.params[FAST_C] = np.array(state.get(FAST_C, np.zeros((params["W1"].shape[0], self.m))), dtype=np.float64)
        self.statistics = {name: params[name] for name in net.statistic_names}
        self.params[FAST_CK] = self.saved_times_gram(state, FAST_C, FAST_CK)
        optimizer = OPTIMIZERS[settings.optimizer]
        fresh = optimizer.init_state(self.params)
        self.state = {name: state.get(name, value) for name, value in fresh.items()}
        if "v_" + FAST_CK in fresh:
            self.state["v_" + FAST_CK] = self.saved_times_gram(state, "v_" + FAST_C, "v_" + FAST_CK)
        self.update = optimizer.update
        self.hyper = settings.optimizer_hyper

    def saved_times_gram(self, state, name, product):
        """``state[product]`` (a saved C K or its velocity), or ``state[name] @ K`` for a state saved without it."""
        if product in state:
            return np.array(state[product], dtype=np.float64)
        if name in state:
            return np.asarray(state[name], dtype=np.float64) @ self.K
        return np.zeros((self.W1_0.shape[0], self.m))

    def batch(self):
        """The examples of this step: every one in order (a slice), or the mini-batch's indices."""
        return slice(None) if self.order.full else self.order.indices(self.iteration)

    def step(self, observe=False):
        """One update; returns the cost before it (with the L2 term), as ``Trainer.step``."""
        net, s = self.net, self.settings
        b = self.batch()
        a, C, CK = self.params[FAST_A], self.params[FAST_C], self.params[FAST_CK]
        Y = self.Y[:, b]
        size = Y.shape[1]
        Z1 = CK[:, b] + self.params["b1"]
        Z1 += self.Z1_0[:, b] if a == 1 else float(a) * self.Z1_0[:, b]
        masks = dropout_masks(net, s.keep_probs, s.seed, self.iteration, size, self.dtype) if s.has_dropout else None
        ZL, cache = forward(net, self.params, None, masks, Z1=Z1.astype(self.dtype, copy=False), training=True)
        weights = example_weights(net, Y, s.class_weights)
        batch_cost = LOSSES[net.output](ZL, Y, weights)
        dZL = output_gradient(net, ZL, Y, weights)
        grads, dZ1 = backward_to_first_layer(net, self.params, cache, dZL, masks, s.l2)
        # dC: dZ1 in the batch's columns, plus L2's shrink of all of W1; dCK = dC K
        shrink = s.l2 / size
        if shrink:
            batch_cost += shrink / 2 * float(self.span_sqnorm(a, C, CK))  # ||W1||^2
            batch_cost += l2_penalty(net, self.params, s.l2, size, first=2)
            dC, dCK = shrink * C, shrink * CK
            dC[:, b] += dZ1
            dCK += dZ1 @ self.K[b]  # K is symmetric: K[b, :] = K[:, b]^T
        elif self.order.full:
            dC, dCK = dZ1, dZ1 @ self.K  # the same numbers as adding them to zeros, without the zeros
        else:
            dC = np.zeros_like(C)
            dC[:, b] = dZ1
            dCK = dZ1 @ self.K[b]
        grads["d" + FAST_A] = np.array(shrink * a)
        grads["d" + FAST_C] = dC
        grads["d" + FAST_CK] = dCK
        if observe:
            first = self.span_sqnorm(float(grads["d" + FAST_A]), dC, dCK)  # ||dW1||^2, dW1 = da W1_0 + dC X^T
            self.health = {
                "dead_relu": dead_units(net, cache),
                "gradient_norm": gradient_norms(net, grads, max(float(first), 0.0)),
            }
        self.update(self.params, grads, self.state, s.rate(self.iteration), **self.hyper)
        update_running_statistics(net, self.statistics, cache, s.batch_norm_momentum)
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
        own = (FAST_A, FAST_C, FAST_CK)
        params = {name: p for name, p in self.params.items() if name not in own}
        params["W1"] = self.through_input(self.params[FAST_A], self.params[FAST_C])
        params = model_arrays(self.net, params, self.statistics)
        state = dict(self.state)
        if "v_" + FAST_C in state:
            state["v_W1"] = self.through_input(state["v_" + FAST_A], state["v_" + FAST_C])
        state[FAST_W1_0] = self.W1_0
        state.update({name: self.params[name] for name in own})
        return params, state


def make_trainer(net, params, settings, source, fast_path="auto", state=None, iteration=0):
    """The fast path where it applies and pays (``auto``), where asked (``on``), or never (``off``).

    A general-path state with a W1 velocity (momentum saved without the fast path)
    continues on the general path: the fast path cannot represent that velocity.
    Under ``auto``, mini-batches streamed from disk (a source that reads ahead) stay
    on the general path too: the fast path would read the whole set at its start.
    """
    streamed = reads_ahead(source) and not BatchOrder(settings.seed, source.m, settings.batch_size).full
    use_fast = fast_path_can_resume(state) and (
        fast_path == "on"
        or (
            fast_path == "auto"
            and fast_path_obstacle(settings, source.m) is None
            and fast_path_pays(net.layers[0], source.m)
            and not streamed
        )
    )
    kind = FastTrainer if use_fast else Trainer
    return kind(net, params, settings, source, state=state, iteration=iteration)
