"""Looking before training: `dnn check`, `dnn config show`, `dnn init-config`, `dnn summary`."""

import math
import os
import shlex
from pathlib import Path

import click
import numpy as np
import yaml
from rich.table import Table

from . import checkpoint
from . import config as configs
from . import train as training
from .atomic import write_text
from .engine import Network, initialize
from .errors import UserError
from .options import config_option, set_option
from .progress import table_console
from .runs import CHECKPOINT, CONFIG, latest_run

SATURATED = 1.5  # an initial cost above this many times ln K means over-confident initial outputs
STARTER_PATH = "dnn.yaml"
STARTER = {  # values of the starter config where the defaults are not enough
    "name": "demo",
    "model.layers": [12288, 20, 7, 5, 1],
    "training.learning_rate": 0.0075,
    "training.iterations": 2500,
}

# --- dnn check ---------------------------------------------------------------


def class_counts(dataset):
    counts = np.bincount(dataset.labels, minlength=len(dataset.classes))
    return ", ".join(f"{name} {count}" for name, count in zip(dataset.classes, counts, strict=True))


def describe_set(dataset):
    shape = "x".join(str(s) for s in dataset.input_shape)
    return f"{dataset.source}: {dataset.m} examples of {shape} = {dataset.features} values; {class_counts(dataset)}"


def class_entropy(labels, n_classes):
    """-sum p_k ln p_k of the class frequencies: the cost of always guessing those frequencies."""
    p = np.bincount(labels, minlength=n_classes) / labels.size
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def initial_cost(job):
    """Cross-entropy (no L2 term) of the freshly initialised network on the training set, a part at a time."""
    net, config = job.net, job.config
    params = initialize(net.layers, config["model"]["init"], config["seed"], job.dtype)
    return training.score(net, params, job.train, job.dtype)["cost"]


def check_output_folder(folder):
    """The nearest existing folder on the way to ``folder`` must take new files."""
    path = Path(folder).resolve()
    existing = next(p for p in [path, *path.parents] if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"output.dir: cannot write run folders under {folder} ({existing} is not a writable folder)")
    return "" if existing == path else " (will be created)"


def activations_text(net):
    names = net.activations
    return names[0] if len(set(names)) == 1 else ", ".join(names)


def check(path, overrides=()):
    """Yields (what, finding) as each check passes; a failing one raises ``UserError``."""
    config = configs.load(path, overrides)
    yield "config", f"{path}: valid"
    job = training.prepare(config)
    net, settings = job.net, job.settings
    yield "train set", describe_set(job.train)
    if job.validation is not None:
        yield "validation", f"{job.validation.m} examples held out of the training set; {class_counts(job.validation)}"
    yield "test set", describe_set(job.test) if job.test is not None else "none (data.test is not set)"
    layers = " -> ".join(map(str, net.layers))
    yield (
        "model",
        (
            f"{layers} ({activations_text(net)}; {net.output} output), {parameter_count(net):,} parameters; "
            "the input and output sizes fit the data"
        ),
    )
    full_batch = settings.batch_size is None or settings.batch_size >= job.train.m
    batches = "full batch" if full_batch else f"mini-batches of {settings.batch_size}"
    yield (
        "training",
        f"{job.iterations} iterations of {settings.optimizer} at learning rate {settings.learning_rate:g}, {batches}",
    )
    cost, k = initial_cost(job), net.n_classes
    if not math.isfinite(cost):
        raise UserError(f"model.init: the initial cost is {cost}; the network cannot train from these weights")
    entropy = class_entropy(job.train.labels, k)
    yield (
        "initial cost",
        (
            f"{cost:.6f}; expected about ln {k} = {math.log(k):.6f} (an untrained network's even guess); "
            f"always guessing the class frequencies scores {entropy:.6f}"
        ),
    )
    if cost > SATURATED * math.log(k):
        yield (
            "warning",
            (
                f"the initial cost is {cost / math.log(k):.1f} times ln {k}: the initial outputs are over-confident, "
                f"so training may start slowly; a smaller model.init (now {config['model']['init']}) starts nearer"
            ),
        )
    output = config["output"]["dir"]
    yield "output", f"{output}/{config['name']}/{check_output_folder(output)}"


# --- dnn init-config -----------------------------------------------------------


def yaml_value(value):
    if isinstance(value, dict) and list(value) == ["name"]:
        value = value["name"]  # a component with default settings: just its name
    text = yaml.dump(value, Dumper=configs.ConfigDumper, default_flow_style=True)
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
            lines.append(f"{indent}{key}: {yaml_value(values.get(prefix + key, spec.default))}")

    walk(configs.SCHEMA, "", "")
    return "\n".join(lines) + "\n"


# --- dnn summary -------------------------------------------------------------


def described_network(run=None, config_path=None, overrides=()):
    """(network, dtype name, where it came from): from a config, a run folder, or the latest run."""
    source = config_path
    if config_path is None:
        folder = source = Path(run) if run else latest_run()
        if not folder.is_dir():
            raise UserError(f"{folder}: no such run folder")
        if not (folder / CONFIG).exists():
            saved = checkpoint.load(folder / CHECKPOINT)
            return saved.net, saved.header["dtype"], str(folder)
        config_path = folder / CONFIG
    config = configs.load(config_path, overrides)
    model = config["model"]
    net = Network(tuple(model["layers"]), tuple(configs.per_layer(model["activation"], config)), model["output"])
    return net, config["dtype"], str(source)


def layer_rows(net):
    """Per layer: number, size, activation, parameters, shapes of W and b; the input first."""
    rows = [("input", net.layers[0], "", "", "", "")]
    for l in range(1, net.depth + 1):
        n_in, n_out = net.layers[l - 1], net.layers[l]
        activation = net.activations[l - 1] if l < net.depth else f"{net.output} (output)"
        rows.append((str(l), n_out, activation, n_in * n_out + n_out, f"({n_out}, {n_in})", f"({n_out}, 1)"))
    return rows


def parameter_count(net):
    return sum(row[3] for row in layer_rows(net)[1:])


def size_text(count):
    if count < 1024:
        return f"{count:,} bytes"
    return f"{count / 1024:.1f} KiB" if count < 1024**2 else f"{count / 1024**2:.1f} MiB"


def summary_table(net, dtype, source):
    table = Table(title=f"network of {source}", title_justify="left")
    for name in ("layer", "size", "activation", "parameters", "W", "b"):
        table.add_column(name, justify="right" if name in ("size", "parameters") else "left")
    for row in layer_rows(net):
        table.add_row(*(f"{v:,}" if isinstance(v, int) else v for v in row))
    total = parameter_count(net)
    table.caption = f"{total:,} parameters, {size_text(total * np.dtype(dtype).itemsize)} of weights ({dtype})"
    return table


# --- the commands --------------------------------------------------------------


@click.command("check")
@config_option()
@set_option
def check_command(config_path, overrides):
    """Check a config, its data and network; train nothing.

    A dry run: exit 0 when `dnn train` would start, 2 with the problem if not.
    It writes nothing, no run folder.
    """
    for what, finding in check(config_path, overrides):
        click.echo(f"{what + ':':<14}{finding}")
    command = ["dnn", "train", "--config", config_path] + [part for o in overrides for part in ("--set", o)]
    click.echo(f"ready: {shlex.join(command)}")


@click.group("config")
def config_group():
    """Show configs."""


@config_group.command("show")
@config_option()
@set_option
def config_show(config_path, overrides):
    """Print the resolved config, every default filled in; `dnn train --config` takes it unchanged."""
    click.echo(configs.dump(configs.load(config_path, overrides)), nl=False)


@click.command("init-config")
@click.argument("path", type=click.Path(dir_okay=False), default=STARTER_PATH)
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def init_config(path, force):
    """Write a commented starter config to PATH (default dnn.yaml)."""
    if Path(path).exists() and not force:
        raise UserError(f"{path}: already exists; pass --force to overwrite it")
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_text(path, starter_config(path))
    except OSError as e:
        raise UserError(f"{path}: cannot write ({e.strerror or e})") from None
    click.echo(path)


@click.command("summary")
@click.option("--run", type=click.Path(file_okay=False), help="Run folder (default: the latest run).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config instead of a run.")
@set_option
def summary(run, config_path, overrides):
    """Layers, parameters and memory of a network.

    From a run folder (default: the latest run) or a config.
    """
    if run and config_path:
        raise click.UsageError("give --run DIR or --config FILE, not both")
    if overrides and not config_path:
        raise click.UsageError("--set changes a config: give --config FILE with it")
    net, dtype, source = described_network(run, config_path, overrides)
    table_console().print(summary_table(net, dtype, source))


COMMANDS = (check_command, config_group, init_config, summary)
