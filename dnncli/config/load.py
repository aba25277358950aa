"""The YAML config: read safely, checked once against ``schema.SCHEMA``, defaults filled in.

Data paths in a file are relative to the file; data paths given with ``--set``
are relative to the current folder, as on any command line.
"""

import os
from pathlib import Path

import yaml

from ..files import default_runs, read_bounded
from .schema import AUTO, REQUIRED, SCHEMA, TABLE_KEYS, ConfigError, Field, data_format, describe, did_you_mean, where

MAX_CONFIG_BYTES = 1_000_000  # a config is a page of YAML; /dev/zero or a huge file is refused, not read
MAX_DEPTH = 50  # nesting levels a config may have (it uses 3); deeper YAML is refused before it is built


class ConfigLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses nesting deeper than ``MAX_DEPTH`` and a key given twice in a mapping."""

    depth = 0

    def compose_node(self, parent, index):
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node, deep=False):
        seen = {}  # key -> the line it was first given on
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:
                continue  # an unhashable key: SafeLoader says so itself
            if first is not None:
                lines = f"lines {first} and {line}" if first != line else f"both on line {line}"
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} given twice ({lines}); keep one", key_node.start_mark
                )
            seen[key] = line
        return super().construct_mapping(node, deep)


def read_yaml(path):
    """The mapping in a YAML file, read with ``ConfigLoader`` (safe: it builds no Python objects)."""
    path = Path(path)
    raw = read_bounded(path, MAX_CONFIG_BYTES, "config file")
    try:
        text_ = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"{path}: cannot read: not UTF-8 text ({e.reason} at byte {e.start + 1})") from None
    return parse_yaml(text_, path)


def parse_yaml(text_, origin):
    try:
        data = yaml.load(text_, Loader=ConfigLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = e.problem or e.context or "invalid YAML"
        if isinstance(e, yaml.constructor.ConstructorError) and "given twice" not in problem:
            problem = f"{problem} (tags that build Python objects are not allowed)"
        raise ConfigError(f"{origin}: YAML error{at}: {problem}") from None
    except yaml.reader.ReaderError as e:
        raise ConfigError(f"{origin}: not YAML text: {e.reason} at character {e.position + 1}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{origin}: YAML error: {str(e).splitlines()[0]}") from None
    except RecursionError:
        raise ConfigError(f"{origin}: YAML error: nested too deeply") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: a config must be a mapping of keys to values, not a {type(data).__name__}")
    return data


def apply_overrides(data, overrides, origin="--set"):
    """``--set a.b=value`` overrides; the value is parsed as YAML (``[1, 2]``, ``0.1``, ``adam``)."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"{origin} {item!r}: expected KEY=VALUE, e.g. training.iterations=100")
        parts = key.split(".")
        schema = SCHEMA
        node = data
        for i, part in enumerate(parts):
            if not isinstance(schema, dict) or part not in schema:
                options = schema if isinstance(schema, dict) else {}
                prefix = ".".join(parts[:i])
                full = [f"{prefix}.{o}" if prefix else o for o in options]
                raise ConfigError(f"{origin} {key}: unknown key{did_you_mean(key, full)}")
            schema = schema[part]
            if i < len(parts) - 1:
                if isinstance(schema, Field):
                    # into a component mapping such as training.optimizer.beta1
                    current = node.get(part)
                    if current is not None and not isinstance(current, (str, dict)):
                        section = ".".join(parts[: i + 1])
                        raise ConfigError(
                            f"{origin} {key}: {section} is {describe(current)}, neither a name nor a section"
                        )
                    node[part] = current = {"name": current} if isinstance(current, str) else dict(current or {})
                    node = current
                    node[".".join(parts[i + 1 :])] = parse_value(raw, key, origin)
                    break
                node = node.setdefault(part, {})
                if not isinstance(node, dict):
                    raise ConfigError(f"{origin} {key}: {'.'.join(parts[: i + 1])} is not a section")
        else:
            node[parts[-1]] = parse_value(raw, key, origin)
    return data


def parse_value(raw, key, origin):
    try:
        return yaml.load(raw, Loader=ConfigLoader) if raw.strip() else ""
    except (yaml.YAMLError, RecursionError):
        raise ConfigError(f"{origin} {key}: cannot read value {raw!r}") from None


def blamed(origin, overridden, key):
    """Where a bad value of ``key`` came from: ``--set`` when it set the key (or one inside it), else the file."""
    if any(k == key or k.startswith(key + ".") for k in overridden):
        return "--set"
    return origin


def overridden_keys(overrides):
    return {item.partition("=")[0].strip() for item in overrides}


def resolve(data, origin=None, schema=SCHEMA, prefix="", overridden=frozenset()):
    """Check every key against ``schema`` and fill defaults; returns a new nested dict.

    ``overridden``: the dotted keys ``--set`` gave, so their errors name ``--set``, not the file.
    """
    resolved = {}
    for key in data:
        if key not in schema:
            full = f"{prefix}{key}"
            siblings = [f"{prefix}{k}" for k in schema]
            raise ConfigError(
                f"{where(blamed(origin, overridden, full), full)}: unknown key{did_you_mean(full, siblings)}"
            )
    for key, spec in schema.items():
        full = f"{prefix}{key}"
        at = where(blamed(origin, overridden, full), full)
        if isinstance(spec, dict):
            section = data.get(key, {})
            if section is None:
                section = {}
            if not isinstance(section, dict):
                raise ConfigError(f"{at}: must be a section of keys, got {describe(section)}")
            resolved[key] = resolve(section, origin, spec, full + ".", overridden)
            continue
        if key not in data:
            if spec.default is REQUIRED:
                raise ConfigError(f"{at}: missing; {spec.help}")
            resolved[key] = spec.default
            continue
        try:
            resolved[key] = spec.check(data[key])
        except ValueError as e:
            raise ConfigError(f"{at}: {e}, got {describe(data[key])}") from None
    return resolved


def check_consistency(config, origin=None):
    """Rules that tie keys together."""
    model, training = config["model"], config["training"]
    layers = model["layers"]
    hidden = len(layers) - 2
    activation = model["activation"]
    if isinstance(activation, list) and len(activation) != hidden:
        raise ConfigError(
            f"{where(origin, 'model.activation')}: a list needs one entry per hidden layer ({hidden}), got {len(activation)}"
        )
    if model["output"] == "sigmoid" and layers[-1] not in (1, AUTO):
        raise ConfigError(
            f"{where(origin, 'model.layers')}: a sigmoid output has one unit, so the last size must be 1, got {layers[-1]}"
        )
    if model["output"] == "softmax" and layers[-1] != AUTO and layers[-1] < 2:
        raise ConfigError(f"{where(origin, 'model.layers')}: a softmax output needs at least 2 units, got {layers[-1]}")
    if (training["iterations"] is None) == (training["epochs"] is None):
        both = "not both" if training["iterations"] is not None else "one of them"
        raise ConfigError(
            f"{where(origin, 'training.iterations')}: set training.iterations or training.epochs ({both})"
        )
    batch_norm = model["batch_norm"]
    if isinstance(batch_norm, list) and len(batch_norm) != hidden:
        raise ConfigError(
            f"{where(origin, 'model.batch_norm')}: a list needs one entry per hidden layer ({hidden}), got {len(batch_norm)}"
        )
    keep = training["keep_prob"]
    if isinstance(keep, list) and len(keep) != hidden:
        raise ConfigError(
            f"{where(origin, 'training.keep_prob')}: a list needs one entry per hidden layer ({hidden}), got {len(keep)}"
        )
    data = config["data"]
    data_kind = data_format(data)
    if data["in_memory"] is False and data_kind == "folder":
        raise ConfigError(
            f"{where(origin, 'data.in_memory')}: a folder set is decoded into memory; to read from disk, import it first (dnn data import FOLDER --out FILE.h5)"
        )
    if data["classes"] is not None and data_kind != "folder":
        raise ConfigError(
            f"{where(origin, 'data.classes')}: orders the class folders of a folder set (data.format: folder); an HDF5 file's labels give its order"
        )
    schema_data = SCHEMA["data"]
    if data_kind != "table":
        for key in TABLE_KEYS:
            if data[key] != schema_data[key].default:
                raise ConfigError(
                    f"{where(origin, 'data.' + key)}: only for tables (CSV or Parquet); {data['train']} is read as {data_kind}"
                )
    elif data["target"] is None:
        raise ConfigError(f"{where(origin, 'data.target')}: missing; a table needs the column to predict")
    if data["test_fraction"] and data["test"] is not None:
        raise ConfigError(
            f"{where(origin, 'data.test_fraction')}: holds rows out as the test set; data.test already names one, so set one of them"
        )
    if training["early_stopping"]["patience"] is not None and training["validation_fraction"] == 0:
        raise ConfigError(
            f"{where(origin, 'training.early_stopping.patience')}: early stopping watches the validation cost; set training.validation_fraction above 0"
        )


def absolute(path):
    """``path`` made absolute, the links of its folders resolved where they can be (a link loop stays as it is,
    for the data layer to name). The file keeps the name it was given: what it is read as follows its name, and
    a link called train.csv to a file stored under a hash (as DVC and git-annex keep them) is a CSV file."""
    path = Path(path).expanduser()
    try:
        return path.parent.resolve() / path.name if path.name not in ("", "..") else path.resolve()
    except (RuntimeError, OSError):
        return Path(os.path.abspath(path))


def absolute_paths(config, base):
    """Data paths made absolute, relative ones taken from ``base`` (the config's folder)."""
    data = config["data"]
    for key in ("train", "test"):
        if data[key] is not None:
            data[key] = str(absolute(Path(base) / Path(data[key]).expanduser()))
    return config


def is_null(raw):
    """``null``, ``~`` and the other spellings YAML reads as nothing: ``--set data.test=null`` unsets the key."""
    try:
        return yaml.safe_load(raw) is None
    except yaml.YAMLError:
        return False


def absolute_data_path(override):
    """``data.train=x.h5`` given on the command line means x.h5 in the current folder."""
    key, sep, raw = override.partition("=")
    if sep and key.strip() in ("data.train", "data.test") and raw.strip() and not is_null(raw):
        return f"{key}={absolute(raw.strip())}"
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
    runs_named = isinstance(data.get("output"), dict) and "dir" in data["output"]
    config = resolve(data, str(path), overridden=overridden_keys(overrides))
    if not runs_named:
        config["output"]["dir"] = str(default_runs())  # $DNN_RUNS, else the schema's runs
    absolute_paths(config, base)
    check_consistency(config, str(path))
    return config


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
