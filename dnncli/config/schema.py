"""Every key a config may hold: ``SCHEMA``, a nested table of ``Field``s.

Each field has its default and a check that turns the raw YAML value into the
value used, or raises ``ValueError`` saying what is allowed. Names of
activations, initialisers, optimizers and schedules are checked against the
engine's own tables, so adding one there is all it takes; a default the engine
has too (the seed, the output, batch norm's momentum and epsilon) is the engine's.
"""

import difflib
import math
import os
import re
from dataclasses import MISSING, dataclass, fields

import yaml

from ..engine import ACTIVATIONS, INITIALIZERS, OPTIMIZERS, OUTPUT_ACTIVATIONS, SCHEDULES, Network, Settings
from ..engine.settings import hyperparameters
from ..errors import UserError

TABLE_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}  # and .csv.gz, .tsv.gz
COLUMN_KINDS = ("number", "category", "boolean")  # data.columns' kinds: data.columns.KINDS has one entry each
TASKS = ("auto", "classification", "regression")

REQUIRED = object()
MAX_SEED = 2**32 - 1  # numpy's RandomState, which draws the initial weights, takes seeds up to this


class ConfigError(UserError):
    pass


@dataclass(frozen=True)
class Field:
    check: object
    default: object = REQUIRED
    help: str = ""


def engine_default(cls, name):
    """The default of field ``name`` of the engine's dataclass ``cls`` (``Settings``, ``Network``)."""
    [default] = [f.default for f in fields(cls) if f.name == name and f.default is not MISSING]
    return default


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
        if isinstance(value, bool) or value not in choices:  # True == 1: a bool is no number here
            hint = did_you_mean(value, choices) if isinstance(value, str) else ""
            raise ValueError(f"must be one of {', '.join(map(str, choices))}{hint}")
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


AUTO = "auto"


def layer_sizes(value):
    """Sizes, input first; the first and the last may be ``auto``: what the data gives (the inputs a table is
    encoded to, the classes or targets)."""
    if not isinstance(value, list) or len(value) < 2:
        raise ValueError(
            "must be a list of at least two sizes, input first, e.g. [12288, 20, 7, 5, 1] or [auto, 64, auto]"
        )
    for i, size in enumerate(value):
        if size == AUTO and i in (0, len(value) - 1):
            continue
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError("must hold positive whole numbers only (auto may stand first and last)")
    return value


def column_names(value):
    """A column name, or a list of them."""
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ValueError("must be a column name or a list of column names")
    if len(set(names)) != len(names):
        raise ValueError("must name each column once")
    return value


def column_kinds(value):
    """Column name -> number, category or boolean."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and k for k in value):
        raise ValueError(f"must map column names to a kind ({', '.join(COLUMN_KINDS)}), e.g. {{zip: category}}")
    for name, kind in value.items():
        if kind not in COLUMN_KINDS:
            raise ValueError(f"gives column {name!r} the kind {kind!r}; a kind is one of {', '.join(COLUMN_KINDS)}")
    return value


def delimiter(value):
    if value == AUTO or (isinstance(value, str) and len(value) == 1 and value not in '"\n\r'):
        return value
    raise ValueError("must be auto or one character, e.g. ';' or '\\t'")


def class_weight(value):
    """None, balanced, or a mapping class -> positive weight (the classes are checked against the data)."""
    if value is None or value == "balanced":
        return value
    if not isinstance(value, dict) or not value:
        raise ValueError("must be balanced, or a mapping of each class to its weight, e.g. {cat: 3, non-cat: 1}")
    weights = {}
    for name, weight in value.items():
        try:
            weights[str(name)] = number(above=0)(weight)
        except ValueError as e:
            raise ValueError(f"gives class {name!r} a weight that {e}") from None
    return weights


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
        integer(0, MAX_SEED),
        engine_default(Settings, "seed"),
        "seed of everything random: initial weights, shuffling, dropout, validation split",
    ),
    "dtype": Field(one_of(["float64", "float32"]), "float64", "floating-point type of training"),
    "data": {
        "format": Field(
            one_of(["auto", "hdf5", "folder", "table"]),
            "auto",
            "hdf5: a file in the cat layout; folder: one subfolder of pictures per class; table: a CSV or Parquet "
            "file; auto: a folder is a folder set, .csv/.csv.gz/.tsv/.parquet/.pq a table, anything else HDF5",
        ),
        "train": Field(path, REQUIRED, "training set; relative paths are relative to the config file"),
        "test": Field(optional(path), None, "test set (optional)"),
        "test_fraction": Field(
            number(minimum=0, below=1),
            0.0,
            "tables: share of the rows held out as the test set when data.test is unset",
        ),
        "target": Field(optional(column_names), None, "tables: the column to predict, or a list of numeric columns"),
        "features": Field(
            optional(column_names), None, "tables: the columns to learn from; null for every other column"
        ),
        "id": Field(column_names, [], "tables: columns that name a row (kept in predictions, never learned from)"),
        "drop": Field(column_names, [], "tables: columns left out"),
        "columns": Field(
            column_kinds, {}, "tables: the kind of a column where the one read is not meant: number, category, boolean"
        ),
        "task": Field(
            one_of(TASKS), "auto", "tables: classification or regression; auto follows the target (numbers: regression)"
        ),
        "max_categories": Field(
            integer(1), 50, "tables: a category column keeps at most this many categories, the rest share 'other'"
        ),
        "min_category_count": Field(
            integer(1), 5, "tables: a category seen fewer times in the training rows shares 'other'"
        ),
        "delimiter": Field(delimiter, "auto", "tables: the CSV delimiter; auto finds , ; tab or | in the header"),
        "size": Field(integer(1), 64, "folder sets: pictures are decoded to size x size, channels deep"),
        # the same choices as data.formats.CHANNELS and FITS, which the command line offers (tests/test_defaults.py)
        "channels": Field(one_of([1, 3]), 3, "folder sets: 1 decodes pictures to grey, 3 to RGB"),
        "fit": Field(
            one_of(["squash", "crop", "pad"]),
            "squash",
            "a picture not of the model's shape: squash resizes it whole, crop takes its centre, pad letterboxes it; "
            "kept in the checkpoint for predict and serve",
        ),
        "classes": Field(
            optional(class_names), None, "folder sets: the class folders in label order, label 0 first; null sorts them"
        ),
        "in_memory": Field(
            auto_or_boolean,
            "auto",
            "hdf5 sets and tables: true loads them, false reads them from disk a batch at a time, auto loads a set that fits",
        ),
        "shuffle_window": Field(
            integer(8),
            65_536,
            "tables read from disk: rows shuffled together, in 8 pieces taken at random from the file each epoch",
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
        "layers": Field(
            layer_sizes,
            REQUIRED,
            "layer sizes, input first: [12288, 20, 7, 5, 1]; auto first and last: what the data gives",
        ),
        "activation": Field(
            per_hidden_layer(one_of(ACTIVATIONS)), "relu", "hidden activation, or a list of one per hidden layer"
        ),
        "output": Field(
            one_of([AUTO, *OUTPUT_ACTIVATIONS]),
            AUTO,
            "output layer: sigmoid (two classes), softmax (more), identity (numbers); auto follows the data",
        ),
        "init": Field(one_of(INITIALIZERS), "course", "weight initialisation"),
        "batch_norm": Field(
            per_hidden_layer(boolean),
            False,
            "batch normalisation of each hidden layer's pre-activation: true, false, or a list of one per hidden layer",
        ),
        "batch_norm_momentum": Field(
            number(above=0, maximum=1),
            engine_default(Settings, "batch_norm_momentum"),
            "running statistics: running = (1 - momentum) running + momentum batch (PyTorch's convention)",
        ),
        "batch_norm_epsilon": Field(
            number(above=0),
            engine_default(Network, "batch_norm_epsilon"),
            "added to the variance inside the square root",
        ),
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
        "class_weight": Field(
            class_weight,
            None,
            "weight of each class in the cost: null for 1 each, balanced (n / (classes x count)), or {class: weight}",
        ),
        "keep_prob": Field(
            per_hidden_layer(number(above=0, maximum=1)),
            1.0,
            "dropout keep probability, or one per hidden layer; 1 for none",
        ),
        "validation_fraction": Field(
            number(minimum=0, below=1), 0.0, "share of the training set held out for validation"
        ),
        "calibrate": Field(
            boolean,
            True,
            "at the end, fit a temperature on the validation split that calibrates the probabilities (classes)",
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


def table_format(path):
    """``csv`` or ``parquet`` for a file named like a table (``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet``, ``.pq``),
    else None."""
    name = os.path.basename(str(path)).lower()
    if name.endswith((".csv.gz", ".tsv.gz")):
        name = name[:-3]
    return TABLE_SUFFIXES.get(os.path.splitext(name)[1])


def data_format(data, path=None):
    """The format ``data.format`` means for ``path`` (the training set by default): as given, or under ``auto`` a
    folder set for a folder, a table for a file named like one, else HDF5."""
    if data["format"] != AUTO:
        return data["format"]
    path = data["train"] if path is None else path
    if os.path.isdir(path):
        return "folder"
    return "table" if table_format(path) else "hdf5"


TABLE_KEYS = (
    "target",
    "features",
    "id",
    "drop",
    "columns",
    "test_fraction",
    "max_categories",
    "min_category_count",
    "task",
    "delimiter",
    "shuffle_window",
)


def defaults(schema):
    """The default of every key of a section of ``SCHEMA`` (sections within as dicts; required keys None)."""
    return {
        key: defaults(spec) if isinstance(spec, dict) else (None if spec.default is REQUIRED else spec.default)
        for key, spec in schema.items()
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
