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
