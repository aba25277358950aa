"""`dnn init-config`: a commented config with every key of ``SCHEMA`` at its default, ready for the demo data."""

import os
from pathlib import Path

import yaml

from .load import ConfigDumper
from .schema import SCHEMA

STARTER_PATH = "dnn.yaml"
STARTER = {  # values of the starter config where the defaults are not enough
    "name": "demo",
    "model.layers": [12288, 20, 7, 5, 1],
    "training.learning_rate": 0.0075,
    "training.iterations": 2500,
}
LEFT_UNSET = ("output.dir",)  # written as a comment, so that its default ($DNN_RUNS) applies


def yaml_value(value):
    if isinstance(value, dict) and list(value) == ["name"]:
        value = value["name"]  # a component with default settings: just its name
    text = yaml.dump(value, Dumper=ConfigDumper, default_flow_style=True)
    return text.removesuffix("\n").removesuffix("\n...").strip()


def starter_config(path):
    """A commented config with every key of ``config.SCHEMA`` at its default, ready for the demo data."""
    base = Path(path).resolve().parent
    values = dict(STARTER)
    for split in ("train", "test"):
        values[f"data.{split}"] = os.path.relpath(Path.cwd() / "data" / "demo" / f"{split}.h5", base)
    lines = [
        f"# A dnn config. `dnn check --config {path}` checks it, `dnn train --config {path}` trains.",
        "# Every key is here, at its default where the demo needs no other value.",
        "# Data paths are relative to this file; `dnn data demo` makes the demo data they name.",
    ]

    def walk(schema, prefix, indent):
        for key, spec in schema.items():
            if isinstance(spec, dict):
                lines.extend(["", f"{indent}{key}:"] if not indent else [f"{indent}{key}:"])
                walk(spec, f"{prefix}{key}.", indent + "  ")
                continue
            if spec.help:
                lines.append(f"{indent}# {spec.help}")
            line = f"{key}: {yaml_value(values.get(prefix + key, spec.default))}"
            lines.append(f"{indent}# {line}" if prefix + key in LEFT_UNSET else f"{indent}{line}")

    walk(SCHEMA, "", "")
    return "\n".join(lines) + "\n"


def hidden_sizes(inputs):
    """Two hidden layers that fit a table of ``inputs`` encoded inputs: twice the inputs (16 to 256), then half."""
    first = min(256, max(16, 2 * inputs))
    return [first, max(8, first // 2)]


TABLE_STARTER = {  # what a first run on a table does: Adam on mini-batches, stopped when validation stops improving
    "training.optimizer": "adam",
    "training.learning_rate": 0.001,
    "training.batch_size": 64,
    "training.epochs": 200,
    "training.validation_fraction": 0.2,
    "training.early_stopping.patience": 10,
}


def table_starter_config(path, table, target, columns, inputs, rows):
    """A config to start from for the table ``table``: ``columns`` (name -> kind, as read), the ``target``
    named by the user or left for them to name, two hidden layers that fit ``inputs`` (the encoded inputs),
    and a log point each epoch (``rows`` rows, four fifths of them trained on after the test share)."""
    base = Path(path).resolve().parent
    train_rows = max(1, int(rows * 0.8 * 0.8))
    per_epoch = -(-train_rows // TABLE_STARTER["training.batch_size"])
    name = Path(table).name.split(".")[0]
    config = {
        "name": run_name_of(name),
        "data": {
            "train": os.path.relpath(Path(table).resolve(), base),
            "target": target,
            "test_fraction": 0.2,
            "columns": columns,
        },
        "model": {"layers": ["auto", *hidden_sizes(inputs), "auto"], "activation": "relu"},
        "training": {
            "optimizer": "adam",
            "learning_rate": 0.001,
            "batch_size": TABLE_STARTER["training.batch_size"],
            "epochs": TABLE_STARTER["training.epochs"],
            "validation_fraction": TABLE_STARTER["training.validation_fraction"],
            "early_stopping": {"patience": TABLE_STARTER["training.early_stopping.patience"]},
            "log_every": per_epoch,
        },
    }
    lines = [
        f"# A dnn config for {Path(table).name}. `dnn check --config {path}` checks it, `dnn train --config {path}` trains.",
        "# Every other key takes its default: `dnn config show --config " + str(path) + "` lists them all.",
    ]
    if target is None:
        lines.append("# Name the column to predict in data.target (dnn guesses no target).")
    lines.append("# data.columns: each column's kind as read; change one that is not meant, or remove the lines.")
    text = yaml.dump(config, Dumper=ConfigDumper, sort_keys=False, default_flow_style=False)
    return "\n".join(lines) + "\n" + text


def run_name_of(name):
    """A run name made of a file name: letters, digits, '.', '_' and '-', starting with a letter or digit."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "-" for c in name).strip(".-_")
    return cleaned[:100] or "table"
