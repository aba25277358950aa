"""The `dnn` command line: small click commands around the package's modules."""

import importlib
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
from .gradient_check import gradient_check
from .options import config_option, set_option
from .progress import MODES, reporter


class LazyGroup(click.Group):
    """A group whose commands that need Pillow are imported when they are used.

    ``lazy`` maps a command name to ``"module:attribute"`` within dnncli. `dnn train`
    then never loads Pillow, 4 MiB of its memory (docs/performance.md).
    """

    def __init__(self, *args, lazy=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy or {})

    def list_commands(self, ctx):
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx, name):
        if name in self.lazy and name not in self.commands:
            module, attribute = self.lazy[name].split(":")
            self.add_command(getattr(importlib.import_module(f"{__package__}.{module}"), attribute), name)
        return super().get_command(ctx, name)


class DnnGroup(LazyGroup):
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


@click.group(
    cls=DnnGroup,
    lazy={"evaluate": "evaluate:evaluate_command", "predict": "predict:predict_command"},
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


def print_summary(folder, final, run):
    """The scores of a finished run as a table, then how it went in a line or two."""
    table = Table(title=f"run {folder}", title_justify="left")
    table.add_column("split")
    table.add_column("examples", justify="right")
    table.add_column("accuracy", justify="right")
    table.add_column("cost", justify="right")
    for split, scores in final.items():
        if scores is not None:
            table.add_row(split, str(scores["examples"]), f"{scores['accuracy']:.4f}", f"{scores['cost']:.6f}")
    console = stdout_console()
    console.print(table)
    p = run.progress
    path = "fast path" if run.trainer.fast else "general path"
    console.print(f"{run.trainer.iteration} iterations in {p.seconds:.1f}s ({path})")
    if p.stopped_early:
        console.print(f"stopped early: the best validation cost was at iteration {p.best_iteration} (best.npz)")


@main.command()
@config_option(required=False, help="YAML config of the run.")
@set_option
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
        print_summary(folder, final, run)
    click.echo(str(folder))


@main.command()
@config_option(help="YAML config of the network.")
@set_option
@click.option("--examples", type=click.IntRange(1), default=5, show_default=True, help="Training examples to check on.")
@click.option(
    "--entries", type=click.IntRange(1), default=50, show_default=True, help="Entries checked per weight array."
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, min_open=True),
    default=1e-7,
    show_default=True,
    help="Largest relative difference that passes.",
)
def gradcheck(config_path, overrides, examples, entries, threshold):
    """Check backpropagation against central differences on the configured network.

    Uses the config's activations, output, L2 and dropout (with a fixed mask), on the
    first training examples, in float64. Exit code 1 if a layer is above the threshold.
    """
    rows, count = gradient_check(configs.load(config_path, overrides), examples, entries)
    table = Table(title=f"gradient check: {count} examples, threshold {threshold:g}")
    for column in ("layer", "W shape", "entries", "difference", ""):
        table.add_column(column, justify="right")
    for row in rows:
        ok = row["difference"] <= threshold
        table.add_row(
            str(row["layer"]),
            "x".join(map(str, row["shape"])),
            str(row["entries"]),
            f"{row['difference']:.3e}",
            "[green]ok" if ok else "[red]FAIL",
        )
    stdout_console().print(table)
    failed = [row["layer"] for row in rows if row["difference"] > threshold]
    if failed:
        raise RunFailure(f"gradient check failed for layer {', '.join(map(str, failed))} (above {threshold:g})")


@main.group(
    cls=LazyGroup,
    lazy={"demo": "demo:demo_command", "import": "folders:import_command", "info": "folders:info_command"},
)
def data():
    """Make and inspect data sets."""


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
