"""The trials of a sweep, drawn up front from its seed: each one's values and its own seed.

Drawn before any trial runs, in one order, so one sweep file gives the same trials whatever the number of
workers and wherever they run.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np

SEED_RANGE = 2**31


@dataclass(frozen=True)
class Trial:
    number: int  # from 1
    values: dict  # dotted key -> value
    seed: int

    @property
    def folder_name(self):
        return f"trial-{self.number:03d}"


def draw(parameter, rng):
    kind, values = parameter.kind, parameter.values
    if kind == "choice":
        return values[int(rng.integers(len(values)))]
    low, high = values
    if kind == "int_uniform":
        return int(rng.integers(low, high + 1))
    if kind == "log_uniform":
        return float(math.exp(rng.uniform(math.log(low), math.log(high))))
    return float(rng.uniform(low, high))


def grid_values(parameter):
    if parameter.kind == "int_uniform":
        low, high = parameter.values
        return list(range(low, high + 1))
    return list(parameter.values)


def draw_trials(sweep):
    """The sweep's trials in order: every grid combination, or ``sweep.trials`` random draws."""
    rng = np.random.default_rng(sweep.seed)
    if sweep.method == "grid":
        keys = [p.key for p in sweep.parameters]
        combos = [
            dict(zip(keys, combo, strict=True)) for combo in itertools.product(*map(grid_values, sweep.parameters))
        ]
    else:
        combos = [{p.key: draw(p, rng) for p in sweep.parameters} for _ in range(sweep.trials)]
    seeds = rng.integers(SEED_RANGE, size=len(combos))
    return [Trial(n, values, int(seed)) for n, (values, seed) in enumerate(zip(combos, seeds, strict=True), start=1)]
