"""Learning-rate schedules, keyed by the name a config uses.

Each maps the base rate and the iteration number ``t`` (one update per
iteration, counted from 0) to the rate used for that update.
"""

from dataclasses import dataclass, field


def constant(lr, t):
    return lr


def inverse_time(lr, t, decay_rate, every):
    # lr / (1 + decay_rate * floor(t / every))
    return lr / (1 + decay_rate * (t // every))


def step(lr, t, factor, every):
    # lr * factor ^ floor(t / every)
    return lr * factor ** (t // every)


@dataclass(frozen=True)
class Schedule:
    rate: object
    defaults: dict = field(default_factory=dict)
    limits: dict = field(default_factory=dict)  # setting -> the range it may take, as the config checks it


SCHEDULES = {
    "constant": Schedule(constant),
    "inverse_time": Schedule(
        inverse_time, {"decay_rate": 1.0, "every": 1000}, {"decay_rate": {"minimum": 0, "maximum": 1e6}}
    ),
    # factor^k with a factor above 1 overflows a float within a few thousand steps
    "step": Schedule(step, {"factor": 0.5, "every": 1000}, {"factor": {"above": 0, "maximum": 1}}),
}
