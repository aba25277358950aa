"""The YAML config: read safely, checked once against a table of keys, defaults filled in.

Every key a config may hold is in ``SCHEMA``: a nested table of ``Field``s, each
with its default and a check that turns the raw YAML value into the value used,
or raises ``ValueError`` saying what is allowed. Names of activations,
initialisers, optimizers and schedules are checked against the engine's own
tables, so adding one there is all it takes.
"""

import difflib
import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from .engine import ACTIVATIONS, INITIALIZERS, OPTIMIZERS, OUTPUT_ACTIVATIONS, SCHEDULES
from .errors import UserError

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
        resolved = {"name": name}
        for key in value:
            if key != "name" and key not in defaults:
                allowed = ", ".join(defaults) or "no other settings"
                raise ValueError(f"{name} has no setting {key!r}{did_you_mean(key, defaults)} (it takes {allowed})")
        for key, default in defaults.items():
            raw = value.get(key, default)
            resolved[key] = integer(1)(raw) if isinstance(default, int) else number()(raw)
        return resolved

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
        "fast_path": Field(switch, "auto", "full-batch fast path: auto picks it where it applies and pays"),
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


# --- reading ---------------------------------------------------------------


def did_you_mean(word, candidates):
    close = difflib.get_close_matches(str(word), list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def where(source, key):
    return f"{source}: {key}" if source else key


def read_yaml(path):
    """The mapping in a YAML file, read with ``yaml.safe_load``."""
    path = Path(path)
    try:
        text_ = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a config file") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read: {e}") from None
    return parse_yaml(text_, path)


def parse_yaml(text_, source):
    try:
        data = yaml.safe_load(text_)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = e.problem or e.context or "invalid YAML"
        if isinstance(e, yaml.constructor.ConstructorError):
            problem = f"{problem} (tags that build Python objects are not allowed)"
        raise ConfigError(f"{source}: YAML error{at}: {problem}") from None
    except yaml.reader.ReaderError as e:
        raise ConfigError(f"{source}: not YAML text: {e.reason} at character {e.position + 1}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{source}: YAML error: {str(e).splitlines()[0]}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a config must be a mapping of keys to values, not a {type(data).__name__}")
    return data


def apply_overrides(data, overrides, source="--set"):
    """``--set a.b=value`` overrides; the value is parsed as YAML (``[1, 2]``, ``0.1``, ``adam``)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{source} {item!r}: expected KEY=VALUE, e.g. training.iterations=100")
        parts = key.split(".")
        schema = SCHEMA
        node = data
        for i, part in enumerate(parts):
            if not isinstance(schema, dict) or part not in schema:
                options = schema if isinstance(schema, dict) else {}
                prefix = ".".join(parts[:i])
                full = [f"{prefix}.{o}" if prefix else o for o in options]
                raise ConfigError(f"{source} {key}: unknown key{did_you_mean(key, full)}")
            schema = schema[part]
            if i < len(parts) - 1:
                if isinstance(schema, Field):
                    # into a component mapping such as training.optimizer.beta1
                    current = node.get(part)
                    node[part] = current = {"name": current} if isinstance(current, str) else dict(current or {})
                    node = current
                    node[".".join(parts[i + 1 :])] = parse_value(raw, key, source)
                    break
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"{source} {key}: {'.'.join(parts[: i + 1])} is not a section")
        else:
            node[parts[-1]] = parse_value(raw, key, source)
    return data


def parse_value(raw, key, source):
    try:
        return yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        raise ConfigError(f"{source} {key}: cannot read value {raw!r}") from None


def resolve(data, source=None, schema=SCHEMA, prefix=""):
    """Check every key against ``schema`` and fill defaults; returns a new nested dict."""
    resolved = {}
    for key in data:
        if key not in schema:
            full = f"{prefix}{key}"
            siblings = [f"{prefix}{k}" for k in schema]
            raise ConfigError(f"{where(source, full)}: unknown key{did_you_mean(full, siblings)}")
    for key, spec in schema.items():
        full = f"{prefix}{key}"
        if isinstance(spec, dict):
            section = data.get(key, {})
            if section is None:
                section = {}
            if not isinstance(section, dict):
                raise ConfigError(f"{where(source, full)}: must be a section of keys, got {describe(section)}")
            resolved[key] = resolve(section, source, spec, full + ".")
            continue
        if key not in data:
            if spec.default is REQUIRED:
                raise ConfigError(f"{where(source, full)}: missing; {spec.help}")
            resolved[key] = spec.default
            continue
        try:
            resolved[key] = spec.check(data[key])
        except ValueError as e:
            raise ConfigError(f"{where(source, full)}: {e}, got {describe(data[key])}") from None
    return resolved


def check_consistency(config, source=None):
    """Rules that tie keys together."""
    model, training = config["model"], config["training"]
    layers = model["layers"]
    hidden = len(layers) - 2
    activation = model["activation"]
    if isinstance(activation, list) and len(activation) != hidden:
        raise ConfigError(
            f"{where(source, 'model.activation')}: a list needs one entry per hidden layer ({hidden}), got {len(activation)}"
        )
    if model["output"] == "sigmoid" and layers[-1] != 1:
        raise ConfigError(
            f"{where(source, 'model.layers')}: a sigmoid output has one unit, so the last size must be 1, got {layers[-1]}"
        )
    if model["output"] == "softmax" and layers[-1] < 2:
        raise ConfigError(f"{where(source, 'model.layers')}: a softmax output needs at least 2 units, got {layers[-1]}")
    if (training["iterations"] is None) == (training["epochs"] is None):
        both = "not both" if training["iterations"] is not None else "one of them"
        raise ConfigError(
            f"{where(source, 'training.iterations')}: set training.iterations or training.epochs ({both})"
        )
    keep = training["keep_prob"]
    if isinstance(keep, list) and len(keep) != hidden:
        raise ConfigError(
            f"{where(source, 'training.keep_prob')}: a list needs one entry per hidden layer ({hidden}), got {len(keep)}"
        )
    data = config["data"]
    if data["in_memory"] is False and data["format"] == "folder":
        raise ConfigError(
            f"{where(source, 'data.in_memory')}: a folder set is decoded into memory; to read from disk, import it first (dnn data import FOLDER --out FILE.h5)"
        )
    if data["in_memory"] is False and training["batch_size"] is None:
        raise ConfigError(
            f"{where(source, 'data.in_memory')}: reading from disk goes a batch at a time; set training.batch_size, e.g. 256"
        )
    if training["early_stopping"]["patience"] is not None and training["validation_fraction"] == 0:
        raise ConfigError(
            f"{where(source, 'training.early_stopping.patience')}: early stopping watches the validation cost; set training.validation_fraction above 0"
        )


def per_layer(value, config):
    """A per-hidden-layer setting as a list, whether written once or per layer."""
    hidden = len(config["model"]["layers"]) - 2
    return list(value) if isinstance(value, list) else [value] * hidden


def absolute_paths(config, base):
    """Data paths made absolute, relative ones taken from ``base`` (the config's folder)."""
    data = config["data"]
    for key in ("train", "test"):
        if data[key] is not None:
            data[key] = str((Path(base) / Path(data[key]).expanduser()).resolve())
    return config


def absolute_data_path(override):
    """``data.train=x.h5`` given on the command line means x.h5 in the current folder."""
    key, sep, raw = override.partition("=")
    if sep and key.strip() in ("data.train", "data.test") and raw.strip():
        return f"{key}={Path(raw.strip()).expanduser().resolve()}"
    return override


def load(path, overrides=()):
    """The resolved config of a YAML file with ``--set`` overrides applied.

    Data paths in the file are relative to the file; data paths given with
    ``--set`` are relative to the current folder, as on any command line.
    """
    path = Path(path)
    data = read_yaml(path)
    base = path.parent
    apply_overrides(data, [absolute_data_path(item) for item in overrides])
    config = resolve(data, str(path))
    check_consistency(config, str(path))
    return absolute_paths(config, base)


class ConfigDumper(yaml.SafeDumper):
    """Sections as blocks, lists in one line: ``layers: [12288, 20, 7, 5, 1]``."""


ConfigDumper.add_representer(
    list, lambda dumper, value: dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=True)
)


def dump(config):
    """The config as YAML that ``load`` reads back to the same config."""
    return yaml.dump(config, Dumper=ConfigDumper, sort_keys=False, default_flow_style=False)


def changed_keys(old, new, prefix=""):
    """Dotted keys whose values differ between two resolved configs."""
    keys = []
    for key in list(old) + [k for k in new if k not in old]:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += changed_keys(a, b, f"{prefix}{key}.")
        elif a != b:
            keys.append(f"{prefix}{key}")
    return keys
