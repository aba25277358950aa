"""The learning-rate range test (`dnn lr-find`), as in fastai and Lightning: the rate grows exponentially
from tiny to large, one update (one mini-batch when the config has them) per rate, on the engine's
``Trainer`` built through ``config.build``. It never writes a run and never touches a checkpoint.

The cost it follows is each batch's loss without the L2 term (what ``dnn train`` reports as the training cost):
large rates shrink the L2 term by driving the weights toward zero, which would look like progress.

The cost is smoothed, ``s_i = (beta s_{i-1} + (1 - beta) c_i) / (1 - beta^i)``; the test stops when the
smoothed cost exceeds ``DIVERGED`` times its best or a cost is not finite. The suggestion is the rate of the
steepest descent of the smoothed cost against log(rate), before its minimum (the slope across
half a decade on each side); the rate at the minimum
divided by 10 is given too.
"""

import math
from dataclasses import dataclass, replace

import numpy as np

from ..config.build import initial_params
from ..engine import Trainer
from ..engine.network import l2_penalty
from ..errors import UserError
from ..text import plural
from .feed import training_source
from .job import prepare

START, END, STEPS = 1e-7, 10.0, 100
SMOOTHING = 0.98
DIVERGED = 4.0
SLOPE_SPAN = 5  # points on each side of a slope: half a decade of rates at the default 100 over 8 decades
RULE = "steepest descent of the smoothed cost against log(rate)"


@dataclass(frozen=True)
class RangeTest:
    rates: list
    costs: list
    smoothed: list
    stopped: str  # why the test ended
    suggestion: float  # the steepest descent
    minimum_rate: float  # the rate at the lowest smoothed cost
    rule: str = RULE

    @property
    def minimum_over_10(self):
        return self.minimum_rate / 10

    def as_json(self):
        return {
            "suggestion": self.suggestion,
            "rule": self.rule,
            "minimum_over_10": self.minimum_over_10,
            "minimum_rate": self.minimum_rate,
            "stopped": self.stopped,
            "rates": self.rates,
            "costs": self.costs,
            "smoothed": self.smoothed,
        }


def rates(start, end, steps):
    """``steps`` rates from ``start`` to ``end``, evenly spaced on a log scale."""
    low, high = math.log(start), math.log(end)  # in logs: end / start may be more than a float holds
    inner = [math.exp(low + (high - low) * i / (steps - 1)) for i in range(1, steps - 1)]
    return [start, *inner, end]


def range_test(config, start=START, end=END, steps=STEPS, warn=None, progress=None):
    if not 0 < start < end:
        raise UserError(f"--start {start:g} and --end {end:g}: need 0 < start < end")
    if steps < 5:
        raise UserError(f"--steps {steps}: need at least 5 rates")
    job = prepare(config, with_test=False, warn=warn, progress=progress)
    net = job.net
    feed = training_source(net, job.train, job.dtype)
    trainer = Trainer(net, initial_params(net, config, job.dtype), job.settings, feed)
    tried, costs, smoothed = [], [], []
    average, best, stopped = 0.0, math.inf, f"reached the last rate, {end:g}"
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for i, rate in enumerate(rates(start, end, steps)):
            trainer.settings = replace(job.settings, learning_rate=rate, schedule="constant", schedule_params={})
            penalty = l2_penalty(net, trainer.params, job.settings.l2, batch_examples(trainer))
            cost = float(trainer.step()) - penalty  # the penalty of the weights the step's cost was taken with
            if not math.isfinite(cost):
                stopped = f"the cost became {cost} at rate {rate:.3g}"
                break
            average = SMOOTHING * average + (1 - SMOOTHING) * cost
            value = average / (1 - SMOOTHING ** (i + 1))
            tried.append(rate)
            costs.append(cost)
            smoothed.append(value)
            if value > DIVERGED * best:
                stopped = f"the smoothed cost passed {DIVERGED:g} times its best at rate {rate:.3g}"
                break
            best = min(best, value)
    if len(tried) < 3:
        factor = math.exp((math.log(end) - math.log(start)) / (steps - 1))
        more = f", or take more --steps (each now multiplies the rate by {factor:.3g})" if factor > 10 else ""
        raise UserError(f"--start {start:g}: {stopped}, within {plural(len(tried) + 1, 'step')}; start lower{more}")
    return RangeTest(tried, costs, smoothed, stopped, *suggestions(tried, smoothed))


def batch_examples(trainer):
    """The number of examples in the batch of the trainer's next step."""
    size = trainer.settings.batch_size
    if size is None or size >= trainer.source.m:
        return trainer.source.m
    return len(trainer.batch_indices(trainer.iteration))


def suggestions(tried, smoothed):
    """(rate of the steepest descent before the minimum, rate at the minimum) of the smoothed curve.

    The slope is taken across ``2 * SLOPE_SPAN + 1`` points, so that one noisy mini-batch does not make a
    descent; the first tenth of the curve, where the smoothing has too few costs, is left out.
    """
    costs, logs = np.asarray(smoothed), np.log(tried)
    lowest = int(np.argmin(costs))
    points = np.arange(len(costs))
    before, after = np.clip(points - SLOPE_SPAN, 0, lowest), np.clip(points + SLOPE_SPAN, 0, lowest)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(after > before, (costs[after] - costs[before]) / (logs[after] - logs[before]), np.inf)
    skip = min(len(costs) // 10, lowest)
    steepest = skip + int(np.argmin(slope[skip : lowest + 1])) if lowest > skip else lowest
    return tried[steepest], tried[lowest]
