"""The estimators' parameters: each sets one key of a config, so an estimator trains as `dnn train` does on the
config its parameters make.

``PARAMETERS`` maps each parameter to its key. A parameter's default is its key's (``config.schema.SCHEMA``, one
home for each default); the keys a config must set itself (the layers, the learning rate, how long to train)
have the estimators' own, ``OWN_DEFAULTS``. A config is checked by the config layer's own checks, and its
messages name the parameters, not the keys.
"""

import numpy as np

from ..config.load import check_consistency, resolve
from ..config.schema import AUTO, SCHEMA, Field
from ..engine import OPTIMIZERS, SCHEDULES
from ..engine.settings import hyperparameters

PARAMETERS = {  # parameter -> the config key it sets
    "hidden_layer_sizes": "model.layers",  # the hidden sizes; the data gives the first and the last
    "activation": "model.activation",
    "output": "model.output",
    "init": "model.init",
    "batch_norm": "model.batch_norm",
    "batch_norm_momentum": "model.batch_norm_momentum",
    "batch_norm_epsilon": "model.batch_norm_epsilon",
    "learning_rate": "training.learning_rate",
    "epochs": "training.epochs",
    "iterations": "training.iterations",  # when set, in place of epochs
    "batch_size": "training.batch_size",
    "optimizer": "training.optimizer",
    "schedule": "training.schedule",
    "l2": "training.l2",
    "keep_prob": "training.keep_prob",
    "class_weight": "training.class_weight",  # DNNClassifier's alone
    "validation_fraction": "training.validation_fraction",
    "patience": "training.early_stopping.patience",
    "min_delta": "training.early_stopping.min_delta",
    "log_every": "training.log_every",
    "divergence": "training.divergence",
    "fast_path": "training.fast_path",
    "column_kinds": "data.columns",
    "max_categories": "data.max_categories",
    "min_category_count": "data.min_category_count",
    "seed": "seed",
    "dtype": "dtype",
}
OWN_DEFAULTS = {"hidden_layer_sizes": (100,), "learning_rate": 0.1, "epochs": 200}  # measured: docs/guide/07-python.md
COMPONENTS = {"training.optimizer": OPTIMIZERS, "training.schedule": SCHEDULES}  # a name, or a mapping with settings
ROWS = "X"  # the data.train of an estimator's config: its rows are in memory, and messages call them X


def field_of(key):
    node = SCHEMA
    for part in key.split("."):
        node = node[part]
    assert isinstance(node, Field), key
    return node


def default(name):
    """The default of parameter ``name``: the estimators' own, or its config key's (a component by its name,
    ``data.columns``' empty mapping as None)."""
    if name in OWN_DEFAULTS:
        return OWN_DEFAULTS[name]
    value = field_of(PARAMETERS[name]).default
    return value.get("name") if isinstance(value, dict) else value


DEFAULTS = {name: default(name) for name in PARAMETERS}


def plain(value):
    """A parameter as YAML would give it: NumPy's numbers as Python's (a grid of ``np.arange`` sizes), tuples
    as lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return value


def config_value(name, value):
    value = plain(value)
    if name == "hidden_layer_sizes":
        return [AUTO, *(value if isinstance(value, list) else [value]), AUTO]
    if name == "column_kinds":
        return {} if value is None else value
    return value


def config_of(parameters, data):
    """The resolved config of an estimator's ``parameters`` (name -> value) on rows in memory whose ``data`` keys
    (target, task, columns) the estimator gives; a bad value is a ``UserError`` naming its key (``in_parameters``
    names the parameter)."""
    raw = {"data": {"format": "table", "train": ROWS}, "training": {"checkpoint_every": None}}
    for name, value in parameters.items():
        section, *path = PARAMETERS[name].split(".")
        node = raw.setdefault(section, {}) if path else raw
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1] if path else section] = config_value(name, value)
    if parameters.get("iterations") is not None:
        raw["training"]["epochs"] = None  # iterations, when given, stand in for epochs
    raw["data"].update(plain(data))
    config = resolve(raw)
    check_consistency(config)
    return config


def in_parameters(message):
    """A config layer's message with each key an estimator sets named by its parameter."""
    for name, key in sorted(PARAMETERS.items(), key=lambda item: -len(item[1])):
        message = message.replace(key, name)
    return message


def parameters_of(config, names):
    """The values of parameters ``names`` that make ``config`` (a resolved config, a `dnn train` run's too)."""
    parameters = {}
    for name in names:
        key = PARAMETERS[name]
        value = config
        for part in key.split("."):
            value = value[part]
        if name == "hidden_layer_sizes":
            value = tuple(value[1:-1])
        elif key in COMPONENTS:
            settings = {k: v for k, v in value.items() if k != "name"}
            same = settings == hyperparameters(COMPONENTS[key], value["name"], {})
            value = value["name"] if same else dict(value)
        elif name == "column_kinds":
            targets = config["data"]["target"]
            targets = [targets] if isinstance(targets, str) else targets or []
            value = {column: kind for column, kind in value.items() if column not in targets} or None
        parameters[name] = value
    return parameters
