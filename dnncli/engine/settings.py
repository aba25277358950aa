"""What a training run is asked to do: the rate, the optimizer and schedule with their settings, L2, dropout,
batches, the seed, batch norm's momentum, whether the inputs change from step to step, and the classes' weights."""

from dataclasses import dataclass, field
from functools import cached_property

from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES


def hyperparameters(table, name, given):
    """The settings of ``table[name]`` (an optimizer or a schedule): its defaults, then those ``given``.

    The one place defaults are merged; the config checks names and values against the same tables.
    """
    return {**table[name].defaults, **given}


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
    seed: int = 1  # the config's default too (config.schema takes the engine's defaults)
    batch_norm_momentum: float = 0.1  # running = (1 - momentum) running + momentum batch (PyTorch's convention)
    inputs_vary: bool = False  # the source hands out other inputs at every step (pictures augmented afresh)
    class_weights: tuple = None  # one positive weight per class, in class order (see class_weights); None: all 1

    def rate(self, t):
        return SCHEDULES[self.schedule].rate(self.learning_rate, t, **self.schedule_hyper)

    @cached_property
    def schedule_hyper(self):
        return hyperparameters(SCHEDULES, self.schedule, self.schedule_params)

    @cached_property
    def optimizer_hyper(self):
        return hyperparameters(OPTIMIZERS, self.optimizer, self.optimizer_params)

    @property
    def has_dropout(self):
        return self.keep_probs is not None and any(k < 1 for k in self.keep_probs)
