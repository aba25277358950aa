"""Looking before training: `dnn check`, `dnn config show`, `dnn init-config`, `dnn summary`."""

import shlex
from pathlib import Path

import click

from ..errors import UserError, one_line
from .options import config_option, named_path, set_option, warn

STARTER_PATH = "dnn.yaml"


@click.command("check")
@config_option()
@set_option
def check_command(config_path, overrides):
    """Check a config, its data and network; train nothing.

    A dry run: exit 0 when `dnn train` would start, 2 with the problem if not.
    It writes nothing, no run folder.
    """
    from ..run.preflight import check

    for what, finding in check(config_path, overrides, warn):  # a finding names files, columns, classes: one line
        click.echo(f"{what + ':':<14}{one_line(finding)}")
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
    from ..config.load import dump, load

    click.echo(dump(load(config_path, overrides)), nl=False)


@click.command("init-config")
@click.argument("path", type=click.Path(dir_okay=False), default=STARTER_PATH, callback=named_path())
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
@click.option(
    "--table",
    "table_path",
    type=click.Path(dir_okay=False),
    callback=named_path(),
    help="Start from this CSV or Parquet table: its columns' kinds, layers that fit.",
)
@click.option("--target", help="With --table: the column to predict (dnn guesses none).")
def init_config(path, force, table_path, target):
    """Write a commented starter config to PATH (default dnn.yaml).

    \b
    dnn init-config
    dnn init-config penguins.yaml --table penguins.csv --target species
    """
    from ..config.starter import starter_config
    from ..files import write_text

    if target is not None and table_path is None:
        raise UserError("--target: names a column of --table FILE; give the table too")
    if Path(path).exists() and not force:
        raise UserError(f"{path}: already exists; pass --force to overwrite it")
    text = starter_config(path) if table_path is None else table_starter(path, table_path, target)
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        write_text(path, text, output=True)
    except OSError as e:
        raise UserError(f"{path}: cannot write ({e.strerror or e})") from None
    click.echo(path)


def table_starter(path, table_path, target):
    """The starter config of a table: its columns read, the inputs they encode to counted."""
    from ..config.starter import table_starter_config
    from ..data.info import table_columns

    columns, inputs, rows = table_columns(table_path, target, warn)
    return table_starter_config(path, table_path, target, columns, inputs, rows)


@click.command("summary")
@click.option("--run", type=click.Path(file_okay=False), help="Run folder (default: the latest run).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config instead of a run.")
@set_option
def summary(run, config_path, overrides):
    """Layers, parameters and memory of a network, and the augmentation of its training pictures.

    From a run folder (default: the latest run) or a config.
    """
    if run and config_path:
        raise click.UsageError("give --run DIR or --config FILE, not both")
    if overrides and not config_path:
        raise click.UsageError("--set changes a config: give --config FILE with it")
    from ..report.console import table_console
    from ..report.tables import network_table
    from ..run.preflight import described_network

    table_console().print(network_table(*described_network(run, config_path, overrides)))
