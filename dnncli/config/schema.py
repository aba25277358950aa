"""Every key a config may hold: ``SCHEMA``, a nested table of ``Field``s.

Each field has its default and a check that turns the raw YAML value into the
value used, or raises ``ValueError`` saying what is allowed. Names of
activations, initialisers, optimizers and schedules are checked against the
engine's own tables, so adding one there is all it takes.
"""

import difflib
import math
from dataclasses import dataclass

import yaml

from ..engine import ACTIVATIONS, INITIALIZERS, OPTIMIZERS, OUTPUT_ACTIVATIONS, SCHEDULES
from ..engine.settings import hyperparameters
from ..errors import UserError

REQUIRED = object()


class ConfigError(UserError):
    pass


@dataclass(frozen=True)
class Field:
    check: object
    default: object = REQUIRED
    help: str = ""


def describe(value):
    return (
        repr(value)
        if isinstance(value, str)
        else yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip()
    )


# --- checks: raw YAML value -> value, or ValueError with what is allowed ----


def integer(minimum=None):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        return value

    return check


def number(minimum=None, maximum=None, above=None, below=None):
    def check(value):
        if isinstance(value, str):
            try:
                value = float(value)  # PyYAML reads 1e-3 (no dot) as a string
            except ValueError:
                raise ValueError("must be a number") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError("must be a number")
        value = float(value)
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
        if above is not None and value <= above:
            raise ValueError(f"must be greater than {above}")
        if below is not None and value >= below:
            raise ValueError(f"must be less than {below}")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be at most {maximum}")
        return value

    return check


def optional(check):
    def checked(value):
        return None if value is None else check(value)

    return checked


def text(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be a non-empty string")
    return value


def run_name(value):
    text(value)
    if "/" in value or "\\" in value or value in (".", ".."):
        raise ValueError("must be a plain name, without slashes")
    return value


def one_of(choices):
    choices = list(choices)

    def check(value):
        if value not in choices:
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            raise ValueError(f"must be one of {', '.join(choices)}{hint}")
        return value

    return check


def switch(value):
    """auto, on or off; YAML 1.1 reads a bare on/off as true/false, which mean the same here."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return one_of(["auto", "on", "off"])(value)


def auto_or_boolean(value):
    if value == "auto" or isinstance(value, bool):
        return value
    raise ValueError("must be auto, true or false")


def path(value):
    if not isinstance(value, str) or not value:
        raise ValueError("must be a file path")
    return value


def layer_sizes(value):
    if not isinstance(value, list) or len(value) < 2:
        raise ValueError("must be a list of at least two sizes, input first, e.g. [12288, 20, 7, 5, 1]")
    for size in value:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError("must hold positive whole numbers only")
    return value


def per_hidden_layer(check_one):
    """One value for every hidden layer, or a list with one per hidden layer."""

    def check(value):
        if isinstance(value, list):
            if not value:
                raise ValueError("must not be an empty list")
            return [check_one(v) for v in value]
        return check_one(value)

    return check


def component(table):
    """A name from ``table`` (``adam``), or a mapping with the name and its settings
    (``{name: adam, beta1: 0.9}``); the result has every setting filled in."""

    def check(value):
        if isinstance(value, str):
            value = {"name": value}
        if not isinstance(value, dict) or "name" not in value:
            raise ValueError(f"must be one of {', '.join(table)}, or a mapping with a 'name'")
        name = one_of(table)(value["name"])
        defaults = table[name].defaults
        given = {key: raw for key, raw in value.items() if key != "name"}
        for key in given:
            if key not in defaults:
                allowed = ", ".join(defaults) or "no other settings"
                raise ValueError(f"{name} has no setting {key!r}{did_you_mean(key, defaults)} (it takes {allowed})")
        settings = hyperparameters(table, name, given)
        checked = {key: integer(1)(raw) if isinstance(defaults[key], int) else number()(raw) for key, raw in settings.items()}
        return {"name": name, **checked}

    return check


# --- the table -------------------------------------------------------------

SCHEMA = {
    "name": Field(run_name, "run", "name of the run; runs go to <output.dir>/<name>/<n>/"),
    "seed": Field(integer(0), 1, "seed of everything random: initial weights, shuffling, dropout, validation split"),
    "dtype": Field(one_of(["float64", "float32"]), "float64", "floating-point type of training"),
    "data": {
        "format": Field(
            one_of(["hdf5", "folder"]),
            "hdf5",
            "hdf5: a file in the cat layout; folder: one subfolder of pictures per class",
        ),
        "train": Field(path, REQUIRED, "training set; relative paths are relative to the config file"),
        "test": Field(optional(path), None, "test set (optional)"),
        "size": Field(integer(1), 64, "folder sets: pictures are decoded to size x size RGB"),
        "in_memory": Field(
            auto_or_boolean,
            "auto",
            "hdf5 sets: true loads them, false reads them from disk a batch at a time, auto loads a set that fits",
        ),
        "keys": {
            "train_x": Field(text, "train_set_x", "dataset of training pictures in the train file"),
            "train_y": Field(text, "train_set_y", "dataset of training labels in the train file"),
            "test_x": Field(text, "test_set_x", "dataset of test pictures in the test file"),
            "test_y": Field(text, "test_set_y", "dataset of test labels in the test file"),
            "classes": Field(text, "list_classes", "dataset of class names (optional in the file)"),
        },
    },
    "model": {
        "layers": Field(layer_sizes, REQUIRED, "layer sizes, input first: [12288, 20, 7, 5, 1]"),
        "activation": Field(
            per_hidden_layer(one_of(ACTIVATIONS)), "relu", "hidden activation, or a list of one per hidden layer"
        ),
        "output": Field(one_of(OUTPUT_ACTIVATIONS), "sigmoid", "output layer: sigmoid (two classes) or softmax"),
        "init": Field(one_of(INITIALIZERS), "course", "weight initialisation"),
    },
    "training": {
        "learning_rate": Field(number(above=0), REQUIRED, "base learning rate"),
        "iterations": Field(optional(integer(1)), None, "number of updates; or set epochs instead"),
        "epochs": Field(optional(integer(1)), None, "passes over the training set; or set iterations instead"),
        "batch_size": Field(optional(integer(1)), None, "examples per update; null for the whole set (full batch)"),
        "optimizer": Field(
            component(OPTIMIZERS),
            {"name": "gd"},
            f"one of {', '.join(OPTIMIZERS)}, or a mapping with name and settings",
        ),
        "schedule": Field(
            component(SCHEDULES), {"name": "constant"}, f"learning-rate schedule: one of {', '.join(SCHEDULES)}"
        ),
        "l2": Field(number(minimum=0), 0.0, "L2 regularisation strength lambda; 0 for none"),
        "keep_prob": Field(
            per_hidden_layer(number(above=0, maximum=1)),
            1.0,
            "dropout keep probability, or one per hidden layer; 1 for none",
        ),
        "validation_fraction": Field(
            number(minimum=0, below=1), 0.0, "share of the training set held out for validation"
        ),
        "early_stopping": {
            "patience": Field(
                optional(integer(1)), None, "stop after this many logged checks without a better validation cost"
            ),
            "min_delta": Field(number(minimum=0), 0.0, "how much lower a validation cost must be to count as better"),
        },
        "log_every": Field(integer(1), 100, "log the cost (and validation metrics) every this many iterations"),
        "checkpoint_every": Field(
            optional(integer(1)), 500, "save a checkpoint every this many iterations; null for only at the end"
        ),
        "fast_path": Field(switch, "auto", "fast path for gd and momentum: auto picks it where it applies and pays"),
    },
    "output": {
        "dir": Field(path, "runs", "folder of runs; relative to where dnn runs"),
    },
}


def leaf_keys(schema=SCHEMA, prefix=""):
    """Every dotted key a config may set: ``name``, ..., ``training.early_stopping.patience``."""
    for key, spec in schema.items():
        if isinstance(spec, dict):
            yield from leaf_keys(spec, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}"


def did_you_mean(word, candidates):
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def where(origin, key):
    return f"{origin}: {key}" if origin else key
