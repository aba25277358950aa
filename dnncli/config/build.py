"""One path from a resolved config to the engine: the network, the settings and the number of iterations.

Every command that needs them (train, check, summary, gradcheck) builds them here, so a config value
reaches the engine in one way only.
"""

from dataclasses import dataclass

import numpy as np

from ..engine import Network, Settings, fast_path_obstacle, initialize, steps_per_epoch
from ..errors import UserError


@dataclass(frozen=True)
class Plan:
    """What a run of a config does on a training set of ``m`` examples: the engine's objects, and the loop's
    rhythm around them."""

    net: Network
    settings: Settings
    iterations: int
    dtype: type
    fast_path: str  # auto, on or off
    log_every: int
    checkpoint_every: int  # or None: only at the end
    patience: int  # logged checks without a better validation cost before stopping; None never stops
    min_delta: float  # how much lower a validation cost must be to count as better


def per_layer(value, layers):
    """A per-hidden-layer setting as a tuple, whether written once or per layer."""
    hidden = len(layers) - 2
    return tuple(value) if isinstance(value, list) else (value,) * hidden


def build_network(config):
    model = config["model"]
    layers = tuple(model["layers"])
    return Network(layers, per_layer(model["activation"], layers), model["output"])


def initial_params(config, dtype):
    """The weights a run of ``config`` starts from, in ``dtype``: a function of the seed alone."""
    return initialize(tuple(config["model"]["layers"]), config["model"]["init"], config["seed"], dtype)


def build_settings(config):
    training = config["training"]
    keep = per_layer(training["keep_prob"], config["model"]["layers"])
    optimizer, schedule = dict(training["optimizer"]), dict(training["schedule"])
    return Settings(
        learning_rate=training["learning_rate"],
        optimizer=optimizer.pop("name"),
        optimizer_params=optimizer,
        schedule=schedule.pop("name"),
        schedule_params=schedule,
        l2=training["l2"],
        keep_probs=keep if any(k < 1 for k in keep) else None,
        batch_size=training["batch_size"],
        seed=config["seed"],
    )


def build(config, m):
    """The ``Plan`` of a config on ``m`` training examples, with the rules that need ``m`` checked."""
    training = config["training"]
    settings = build_settings(config)
    if training["fast_path"] == "on":
        obstacle = fast_path_obstacle(settings, m)
        if obstacle:
            raise UserError(f"training.fast_path: 'on' cannot be served: {obstacle}; use auto or off")
    iterations = training["iterations"] or training["epochs"] * steps_per_epoch(m, training["batch_size"])
    return Plan(
        build_network(config),
        settings,
        iterations,
        np.dtype(config["dtype"]).type,
        training["fast_path"],
        training["log_every"],
        training["checkpoint_every"],
        training["early_stopping"]["patience"],
        training["early_stopping"]["min_delta"],
    )
