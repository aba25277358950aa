"""The full-batch fast path: gradient descent that never multiplies by the wide input after the start."""

import numpy as np

from .health import dead_units, gradient_norms
from .losses import LOSSES
from .network import backward_to_first_layer, forward, l2_penalty, output_gradient, update_running_statistics
from .optimizers import OPTIMIZERS
from .trainer import FAST_PATH_PREFIX, Trainer, dropout_masks, model_arrays

# Names of the fast path's own arrays in the optimizer state it saves.
FAST_W1_0, FAST_A, FAST_C = (FAST_PATH_PREFIX + name for name in ("W1_0", "a", "C"))

# The fast path keeps K = X^T X (m x m, float64); beyond this it is not worth the memory.
FAST_PATH_MAX_GRAM_BYTES = 512 * 2**20

LINEAR_OPTIMIZERS = ("gd", "momentum")  # updates linear in the gradient: the fast path can follow them


def fast_path_obstacle(settings, m):
    """Why the full-batch fast path cannot serve these settings, or None if it can."""
    if settings.batch_size is not None and settings.batch_size < m:
        return "it needs full-batch training (no training.batch_size below the number of examples)"
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
    """Full-batch gradient descent (plain or momentum, with L2, hidden dropout, batch norm
    and any schedule) that never multiplies by the wide input X after the start.

    Every update of the first layer, dW1 = dZ1 X^T + (lambda/m) W1, lies in the span
    of the initial W1_0 and X^T, so throughout

        W1 = a W1_0 + C X^T        (a a scalar, C an n1 x m matrix)
        Z1 = W1 X + b1 = a Z1_0 + C K + b1,   Z1_0 = W1_0 X,  K = X^T X

    and a step costs n1 m^2 instead of 2 n1 m n_features. The gradient has the same
    form, dW1 = da W1_0 + dC X^T with da = (lambda/m) a and dC = dZ1 + (lambda/m) C,
    and so has momentum's velocity. Batch norm changes nothing here: it acts on Z1
    after it is formed, and ``backward_to_first_layer`` hands back dZ1 before it.
    An optimizer that is linear in the gradient updates (a, C) exactly as it would
    update W1, so the optimizer's own update runs on them as on any parameter
    ("fast_a", "fast_C", with velocities
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
        self.statistics = {name: params[name] for name in net.statistic_names}
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
        ZL, cache = forward(net, self.params, None, masks, Z1=Z1.astype(self.dtype, copy=False), training=True)
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
        params = {name: p for name, p in self.params.items() if name not in (FAST_A, FAST_C)}
        params["W1"] = self.through_input(self.params[FAST_A], self.params[FAST_C])
        params = model_arrays(self.net, params, self.statistics)
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
