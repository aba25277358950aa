"""The `dnn` command line: small click commands around the package's modules."""

import os
import sys
import traceback

import click
from rich.console import Console
from rich.table import Table

from . import __version__, history, inspect, plot
from . import config as configs
from . import train as training
from .errors import EXIT_INTERRUPTED, RunFailure
from .progress import MODES, reporter


class DnnGroup(click.Group):
    """Turns what escapes a command into the error contract: one line, a known exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.ClickException:
            if debugging(ctx):
                traceback.print_exc()
            raise
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(EXIT_INTERRUPTED)
        except Exception as e:
            if debugging(ctx):
                raise
            raise RunFailure(f"unexpected {type(e).__name__}: {e} (run with --debug for the traceback)") from None


def debugging(ctx):
    return ctx.find_root().meta.get("dnn.debug") or os.environ.get("DNN_DEBUG", "") not in ("", "0")


@click.group(cls=DnnGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dnn")
@click.option("--debug", is_flag=True, help="Show the traceback of an error (also DNN_DEBUG=1).")
@click.pass_context
def main(ctx, debug):
    """Train deep fully-connected networks from a YAML config, with a NumPy engine.

    \b
    dnn data demo --out data/demo     make the built-in demo data set
    dnn train --config configs/demo.yaml
    """
    ctx.meta["dnn.debug"] = debug


for command in (*inspect.COMMANDS, history.runs, plot.plot):
    main.add_command(command)


def stdout_console():
    return Console(highlight=False)


def summary_table(folder, final, run):
    table = Table(title=f"run {folder}", title_justify="left")
    table.add_column("split")
    table.add_column("examples", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("cost", justify="right")
    for split, scores in final.items():
        if scores is not None:
            table.add_row(split, str(scores["examples"]), f"{scores['accuracy']:.4f}", f"{scores['cost']:.6f}")
    p = run.progress
    path = "fast path" if run.trainer.fast else "general path"
    caption = f"{run.trainer.iteration} iterations in {p.seconds:.1f}s ({path})"
    if p.stopped_early:
        caption += f"; stopped early, best validation cost at iteration {p.best_iteration}"
    table.caption = caption
    return table


@main.command()
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="YAML config of the run.")
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a config key, e.g. training.iterations=100 (repeatable).",
)
@click.option(
    "--resume",
    "resume_folder",
    type=click.Path(file_okay=False),
    help="Continue this run folder to its configured length.",
)
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(MODES[:-1]),
    default="auto",
    show_default=True,
    help="auto: a bar on a terminal, plain lines otherwise.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the run folder.")
def train(config_path, overrides, resume_folder, progress_mode, quiet):
    """Train a network; the run folder is the last line printed.

    \b
    dnn train --config configs/cat.yaml
    dnn train --config configs/cat.yaml --set training.iterations=100
    dnn train --resume runs/cat/3
    """
    if config_path is None and resume_folder is None:
        raise click.UsageError("give --config FILE for a new run, or --resume RUN_DIR to continue one")
    report = reporter("quiet" if quiet else progress_mode)
    if resume_folder:
        folder, final, run = training.resume(resume_folder, overrides, config_path, report)
    else:
        folder, final, run = training.start(configs.load(config_path, overrides), report)
    if not quiet and progress_mode != "jsonl":
        stdout_console().print(summary_table(folder, final, run))
    click.echo(str(folder))


@main.group()
def data():
    """Make and inspect data sets."""


@data.command("demo")
@click.option(
    "--out", type=click.Path(file_okay=False), default="data/demo", show_default=True, help="Folder to write into."
)
def data_demo(out):
    """Write the built-in demo data set: train.h5, test.h5 and sample pictures."""
    from .demo import write_demo

    for path in write_demo(out):
        click.echo(str(path))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
