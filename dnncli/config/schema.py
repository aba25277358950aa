"""Every key a config may hold: ``SCHEMA``, a nested table of ``Field``s.

Each field has its default and a check that turns the raw YAML value into the
value used, or raises ``ValueError`` saying what is allowed. Names of
activations, initialisers, optimizers and schedules are checked against the
engine's own tables, so adding one there is all it takes.
"""

import difflib
import math
import re
from dataclasses import dataclass

import yaml

from ..engine import ACTIVATIONS, INITIALIZERS, OPTIMIZERS, OUTPUT_ACTIVATIONS, SCHEDULES
from ..engine.settings import hyperparameters
from ..errors import UserError

REQUIRED = object()
MAX_SEED = 2**32 - 1  # numpy's RandomState, which draws the initial weights, takes seeds up to this


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


def integer(minimum=None, maximum=None):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be a whole number")
        if minimum is not None and value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ValueError(f"must be at most {maximum}")
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


RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")  # the portable file-name set of POSIX, not starting with . or -
MAX_RUN_NAME = 100
# run.layout.LATEST lives beside the run folders, and Windows reserves these names in every folder
RESERVED_NAMES = {"latest", "con", "prn", "aux", "nul"} | {f"{d}{i}" for d in ("com", "lpt") for i in range(1, 10)}


def run_name(value):
    """A name that is a folder on every system: letters, digits, ``.``, ``_`` and ``-``, not ``latest``."""
    text(value)
    if not RUN_NAME.fullmatch(value) or value.endswith("."):
        raise ValueError(
            "must be a plain folder name: letters, digits, '.', '_' and '-', starting with a letter or digit and not ending in '.'"
        )
    if len(value) > MAX_RUN_NAME:
        raise ValueError(f"must be at most {MAX_RUN_NAME} characters")
    if value.split(".")[0].lower() in RESERVED_NAMES:
        raise ValueError(f"must not be {value.split('.')[0]!r}, a name reserved for runs/latest or by Windows")
    return value


def class_names(value):
    if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, str) and v for v in value):
        raise ValueError("must be a list of at least two class folder names, e.g. [non-cat, cat]")
    if len(set(value)) != len(value):
        raise ValueError("must name each class once")
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


def boolean(value):
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def auto_or_boolean(value):
    if value == "auto" or isinstance(value, bool):
        return value
    raise ValueError("must be auto, true or false")


URI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+:")  # http:, sqlite:, file:, ... (not a drive letter)


def tracking(value):
    """output.mlflow: false (or null) for no tracking, true for $MLFLOW_TRACKING_URI, or a tracking URI."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if not isinstance(value, str) or not URI_SCHEME.match(value) or not value.isprintable():
        raise ValueError(
            "must be true, false, or a tracking URI with its scheme, such as http://127.0.0.1:5000 or sqlite:///mlflow.db"
        )
    return value


def path(value):
    if not isinstance(value, str) or not value:
        raise ValueError("must be a file path")
    if "\0" in value:
        raise ValueError("must be a file path without a NUL character")
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
        limits = table[name].limits
        checked = {}
        for key, raw in settings.items():
            check = integer(1) if isinstance(defaults[key], int) else number(**limits.get(key, {}))
            try:
                checked[key] = check(raw)
            except ValueError as e:
                raise ValueError(f"{name}'s {key} {e}") from None
        return {"name": name, **checked}

    return check


# --- the table -------------------------------------------------------------

SCHEMA = {
    "name": Field(run_name, "run", "name of the run; runs go to <output.dir>/<name>/<n>/"),
    "seed": Field(
        integer(0, MAX_SEED), 1, "seed of everything random: initial weights, shuffling, dropout, validation split"
    ),
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
        "classes": Field(
            optional(class_names), None, "folder sets: the class folders in label order, label 0 first; null sorts them"
        ),
        "in_memory": Field(
            auto_or_boolean,
            "auto",
            "hdf5 sets: true loads them, false reads them from disk a batch at a time, auto loads a set that fits",
        ),
        "augment": {
            "flip": Field(boolean, False, "training pictures: mirror each left to right with probability 1/2"),
            "shift": Field(integer(0), 0, "training pictures: move each by up to this many pixels each way"),
            "brightness": Field(
                number(minimum=0, maximum=1), 0.0, "training pictures: add up to this share of 255 to every pixel"
            ),
            "contrast": Field(
                number(minimum=0, maximum=1), 0.0, "training pictures: scale around the mean by 1 +- up to this"
            ),
        },
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
        "batch_norm": Field(
            per_hidden_layer(boolean),
            False,
            "batch normalisation of each hidden layer's pre-activation: true, false, or a list of one per hidden layer",
        ),
        "batch_norm_momentum": Field(
            number(above=0, maximum=1),
            0.1,
            "running statistics: running = (1 - momentum) running + momentum batch (PyTorch's convention)",
        ),
        "batch_norm_epsilon": Field(number(above=0), 1e-5, "added to the variance inside the square root"),
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
        "divergence": Field(
            optional(number(above=1)),
            100.0,
            "stop the run (exit 1) when the cost exceeds this many times its initial cost; null never stops",
        ),
    },
    "output": {
        "dir": Field(path, "runs", "folder of runs, relative to where dnn runs; unset, $DNN_RUNS or else runs"),
        "mlflow": Field(
            tracking, False, "track runs in MLflow: true at $MLFLOW_TRACKING_URI, or a tracking URI; false for none"
        ),
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
