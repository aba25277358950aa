"""The YAML config: read safely, checked once against ``schema.SCHEMA``, defaults filled in.

Data paths in a file are relative to the file; data paths given with ``--set``
are relative to the current folder, as on any command line.
"""

from pathlib import Path

import yaml

from .schema import REQUIRED, SCHEMA, ConfigError, Field, describe, did_you_mean, where


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


def parse_yaml(text_, origin):
    try:
        data = yaml.safe_load(text_)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = e.problem or e.context or "invalid YAML"
        if isinstance(e, yaml.constructor.ConstructorError):
            problem = f"{problem} (tags that build Python objects are not allowed)"
        raise ConfigError(f"{origin}: YAML error{at}: {problem}") from None
    except yaml.reader.ReaderError as e:
        raise ConfigError(f"{origin}: not YAML text: {e.reason} at character {e.position + 1}") from None
    except yaml.YAMLError as e:
        raise ConfigError(f"{origin}: YAML error: {str(e).splitlines()[0]}") from None
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
        return yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        raise ConfigError(f"{origin} {key}: cannot read value {raw!r}") from None


def resolve(data, origin=None, schema=SCHEMA, prefix=""):
    """Check every key against ``schema`` and fill defaults; returns a new nested dict."""
    resolved = {}
    for key in data:
        if key not in schema:
            full = f"{prefix}{key}"
            siblings = [f"{prefix}{k}" for k in schema]
            raise ConfigError(f"{where(origin, full)}: unknown key{did_you_mean(full, siblings)}")
    for key, spec in schema.items():
        full = f"{prefix}{key}"
        if isinstance(spec, dict):
            section = data.get(key, {})
            if section is None:
                section = {}
            if not isinstance(section, dict):
                raise ConfigError(f"{where(origin, full)}: must be a section of keys, got {describe(section)}")
            resolved[key] = resolve(section, origin, spec, full + ".")
            continue
        if key not in data:
            if spec.default is REQUIRED:
                raise ConfigError(f"{where(origin, full)}: missing; {spec.help}")
            resolved[key] = spec.default
            continue
        try:
            resolved[key] = spec.check(data[key])
        except ValueError as e:
            raise ConfigError(f"{where(origin, full)}: {e}, got {describe(data[key])}") from None
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
    if model["output"] == "sigmoid" and layers[-1] != 1:
        raise ConfigError(
            f"{where(origin, 'model.layers')}: a sigmoid output has one unit, so the last size must be 1, got {layers[-1]}"
        )
    if model["output"] == "softmax" and layers[-1] < 2:
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
    if data["in_memory"] is False and data["format"] == "folder":
        raise ConfigError(
            f"{where(origin, 'data.in_memory')}: a folder set is decoded into memory; to read from disk, import it first (dnn data import FOLDER --out FILE.h5)"
        )
    if training["early_stopping"]["patience"] is not None and training["validation_fraction"] == 0:
        raise ConfigError(
            f"{where(origin, 'training.early_stopping.patience')}: early stopping watches the validation cost; set training.validation_fraction above 0"
        )


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
