"""What several commands share, written once: options, and how a warning is printed."""

import click

from ..errors import UserError, warning_text


class FiniteFloatRange(click.FloatRange):
    """``click.FloatRange`` that also refuses NaN and infinity, which its comparisons let through."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number != number or number in (float("inf"), float("-inf")):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def config_option(required=True, help="YAML config of a run."):
    return click.option("--config", "config_path", type=click.Path(dir_okay=False), required=required, help=help)


def config_keys(ctx, param, incomplete):
    """Shell completion after ``--set``: the config keys that start with what is typed, each with its ``=``.

    It imports ``config.schema`` (and with it NumPy, for the engine's tables) only when asked to complete.
    """
    from click.shell_completion import CompletionItem

    from ..config.schema import leaf_keys

    if "=" in incomplete:
        return []
    return [CompletionItem(f"{key}=", type="plain") for key in leaf_keys() if key.startswith(incomplete)]


set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    shell_complete=config_keys,
    help="Override a config key, e.g. training.iterations=100 (repeatable).",
)


def named_path(what="a file name"):
    """A callback refusing an empty path: ``Path("")`` is the current folder, so ``--out ""`` would write over
    ``.`` and ``PICTURE ""`` would read everything in it."""

    def refuse_empty(ctx, param, value):
        if value == "" or (isinstance(value, tuple) and "" in value):
            name = param.opts[0] if param.param_type_name == "option" else param.human_readable_name.removesuffix("...")
            raise UserError(f"{name}: give {what}")
        return value

    return refuse_empty


def model_options(command):
    """``--run``, ``--checkpoint`` and ``--best``: the ways to choose a model (see ``chosen_model``)."""
    command = click.option(
        "--best", is_flag=True, help="Use the run's best.npz, its weights at the best validation cost."
    )(command)
    command = click.option(
        "--checkpoint", "checkpoint_file", type=click.Path(dir_okay=False), help="Checkpoint file to use instead."
    )(command)
    return click.option(
        "--run", "run_folder", type=click.Path(file_okay=False), help="Run folder to use [default: the newest]."
    )(command)


def chosen_model(run_folder, checkpoint_file, best):
    """The checkpoint that ``model_options`` choose."""
    if run_folder and checkpoint_file:
        raise click.UsageError("give --run or --checkpoint, not both")
    if checkpoint_file and best:
        raise click.UsageError("--best picks a run's best.npz: give --run (or nothing, for the newest run)")
    from ..run.selection import model_path

    return model_path(run_folder, checkpoint_file, best)


def warn(text):
    """A warning on stderr, one ``Warning:`` per warning (its later lines, if any, indented by the caller)."""
    click.echo(f"Warning: {warning_text(text)}", err=True)
