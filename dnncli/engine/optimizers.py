"""Parameter updates, keyed by the name a config uses.

An optimizer's state is a dict of named arrays aligned with the parameters
(``v_W1``, ``m_W1``, ``s_W1``, ...), so a checkpoint can store it and a resumed run
continues exactly. ``update`` changes ``params`` and ``state`` in place, and
uses the gradients as its scratch space (they are spent after the update), so a
step allocates nothing as large as a weight matrix.
"""

from dataclasses import dataclass, field

import numpy as np


def no_state(params):
    return {}


def gd_update(params, grads, state, lr):
    for name, p in params.items():
        g = grads["d" + name]
        g *= lr
        p -= g


def momentum_state(params):
    return {"v_" + name: np.zeros_like(p) for name, p in params.items()}


def momentum_update(params, grads, state, lr, beta):
    # v = beta v + (1 - beta) g;  p = p - lr v
    for name, p in params.items():
        g = grads["d" + name]
        v = state["v_" + name]
        v *= beta
        g *= 1 - beta
        v += g
        np.multiply(v, lr, out=g)
        p -= g


def adam_state(params):
    state = {"t": np.zeros((), dtype=np.int64)}
    for name, p in params.items():
        state["m_" + name] = np.zeros_like(p)
        state["v_" + name] = np.zeros_like(p)
    return state


def adam_update(params, grads, state, lr, beta1, beta2, epsilon):
    # m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr m^ / (sqrt(v^) + eps)
    # with the bias corrections m^ = m / (1 - b1^t), v^ = v / (1 - b2^t)
    state["t"] += 1
    t = int(state["t"])
    correction1 = 1 - beta1**t
    correction2 = 1 - beta2**t
    for name, p in params.items():
        g = grads["d" + name]
        m = state["m_" + name]
        v = state["v_" + name]
        # b m + (1-b) g written as b (m - g) + g: no temporary
        m -= g
        m *= beta1
        m += g
        g *= g
        v -= g
        v *= beta2
        v += g
        np.divide(v, correction2, out=g)
        np.sqrt(g, out=g)
        g += epsilon
        np.divide(m, g, out=g)
        g *= lr / correction1
        p -= g


def rmsprop_state(params):
    return {"s_" + name: np.zeros_like(p) for name, p in params.items()}


RMSPROP_BLOCK = 4096  # entries squared at a time: RMSprop needs g and g^2 together, and g is the only scratch


def rmsprop_update(params, grads, state, lr, beta, epsilon):
    # s = beta s + (1 - beta) g^2;  p -= lr g / (sqrt(s) + eps), eps outside the root as in the course and PyTorch
    for name, p in params.items():
        g = grads["d" + name]
        s = state["s_" + name]
        rows = max(1, RMSPROP_BLOCK // max(1, p[0].size))  # a block of rows at a time
        square = np.empty_like(g[:rows])
        for start in range(0, len(p), rows):
            part = slice(start, start + rows)
            g_part, s_part, sq = g[part], s[part], square[: len(g[part])]
            np.multiply(g_part, g_part, out=sq)
            s_part -= sq
            s_part *= beta
            s_part += sq
            np.sqrt(s_part, out=sq)
            sq += epsilon
            g_part /= sq
            g_part *= lr
            p[part] -= g_part


@dataclass(frozen=True)
class Optimizer:
    init_state: object
    update: object
    defaults: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)  # setting -> the range it may take, as the config checks it
    copies: int = 0  # arrays of state per parameter, each of its shape: the memory the state takes
    linear: bool = False  # the update is linear in the gradient, so the fast path can follow it


DECAY = {"minimum": 0, "below": 1}  # a running average's weight: b^t must shrink, and 1 - b^t never be 0 for t >= 1

OPTIMIZERS = {
    "gd": Optimizer(no_state, gd_update, linear=True),
    "momentum": Optimizer(momentum_state, momentum_update, {"beta": 0.9}, {"beta": DECAY}, copies=1, linear=True),
    "adam": Optimizer(
        adam_state,
        adam_update,
        {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
        {"beta1": DECAY, "beta2": DECAY, "epsilon": {"above": 0, "maximum": 1}},
        copies=2,
    ),
    "rmsprop": Optimizer(
        rmsprop_state,
        rmsprop_update,
        {"beta": 0.9, "epsilon": 1e-8},
        {"beta": DECAY, "epsilon": {"above": 0, "maximum": 1}},
        copies=1,
    ),
}
