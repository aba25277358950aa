"""`dnn train` and `dnn gradcheck`."""

import click

from ..errors import EXIT_PIPE_CLOSED, Interrupted, RunFailure
from .options import FiniteFloatRange, config_option, named_path, set_option

PROGRESS_MODES = ("auto", "rich", "plain", "jsonl")  # report.progress.REPORTERS, and auto


@click.command()
@config_option(required=False, help="YAML config of the run.")
@set_option
@click.option(
    "--resume",
    "resume_folder",
    type=click.Path(file_okay=False),
    callback=named_path("a run folder"),
    help="Continue this run folder to its configured length.",
)
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(PROGRESS_MODES),
    default="auto",
    show_default=True,
    help="auto: a bar on a terminal, plain lines otherwise.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the run folder.")
@click.option("--mlflow", "track", is_flag=True, help="Track the run in MLflow at $MLFLOW_TRACKING_URI.")
def train(config_path, overrides, resume_folder, progress_mode, quiet, track):
    """Train a network; the run folder is the last line printed.

    \b
    dnn train --config configs/cat.yaml
    dnn train --config configs/cat.yaml --set training.iterations=100
    dnn train --resume runs/cat/3
    dnn train --config configs/cat.yaml --mlflow

    --mlflow is --set output.mlflow=true; output.mlflow may name the tracking
    URI instead. A tracked run's MLflow run gets its parameters, metrics,
    checkpoints and report page.
    """
    if config_path is None and resume_folder is None:
        raise click.UsageError("give --config FILE for a new run, or --resume RUN_DIR to continue one")
    from ..run.signals import StopSignals  # signal and threading only

    # first of all, before the imports that take most of a second: from here on a signal stops the run in its
    # own words (exit 130), at the first point it can, and is never lost
    with StopSignals() as stop:
        from ..config.load import load
        from ..report.progress import reporter
        from ..run.train import resume, start

        report = reporter("quiet" if quiet else progress_mode)
        if track:
            overrides = (*overrides, "output.mlflow=true")
        try:
            if resume_folder:
                result = resume(resume_folder, overrides, config_path, report, stop)
            else:
                result = start(load(config_path, overrides), report, stop)
        except Interrupted as e:
            if e.folder is not None:
                click.echo(str(e.folder))
            raise
    from ..report.console import stdout_console
    from ..report.tables import run_lines, scores_table

    if result.mlflow is not None:
        from ..report.html import page_bytes, run_report
        from ..run.tracking import log_page

        log_page(result.mlflow, lambda: page_bytes(run_report(result.folder, warn=report.warn)), report.warn)
    if not quiet and progress_mode != "jsonl":
        console = stdout_console()
        console.print(scores_table(result))
        for line in run_lines(result):
            console.print(line, soft_wrap=True)  # a link stays whole
    click.echo(str(result.folder))
    if getattr(report, "output_closed", False):
        raise click.exceptions.Exit(EXIT_PIPE_CLOSED)  # the run went on to its end unseen


@click.command()
@config_option(help="YAML config of the network.")
@set_option
@click.option("--examples", type=click.IntRange(1), default=5, show_default=True, help="Training examples to check on.")
@click.option(
    "--entries", type=click.IntRange(1), default=50, show_default=True, help="Entries checked per weight array."
)
@click.option(
    "--threshold",
    type=FiniteFloatRange(0, min_open=True),
    default=1e-7,
    show_default=True,
    help="Largest relative difference that passes.",
)
def gradcheck(config_path, overrides, examples, entries, threshold):
    """Check backpropagation against central differences on the configured network.

    Uses the config's activations, output, L2 and dropout (with a fixed mask), on the
    first training examples, in float64. Exit code 1 if a layer is above the threshold.
    """
    from ..config.load import load
    from ..report.console import stdout_console
    from ..report.tables import gradcheck_table
    from ..run.preflight import gradient_check

    rows, count = gradient_check(load(config_path, overrides), examples, entries)
    stdout_console().print(gradcheck_table(rows, count, threshold))
    failed = [row["layer"] for row in rows if row["difference"] > threshold]
    if failed:
        raise RunFailure(f"gradient check failed for layer {', '.join(map(str, failed))} (above {threshold:g})")
