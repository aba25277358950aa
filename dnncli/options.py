"""Command-line options that several commands share, written once."""

import click


def config_option(required=True, help="YAML config of a run."):
    return click.option("--config", "config_path", type=click.Path(dir_okay=False), required=required, help=help)


set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. training.iterations=100 (repeatable).",
)


def model_options(command):
    """``--run`` and ``--checkpoint``: the two ways to choose a model (see ``predict.model_path``)."""
    command = click.option(
        "--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False), help="Checkpoint file to use instead."
    )(command)
    return click.option(
        "--run", "run_folder", type=click.Path(file_okay=False), help="Run folder to use [default: the newest]."
    )(command)
