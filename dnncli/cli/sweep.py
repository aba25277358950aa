"""`dnn sweep` and `dnn lr-find`: finding a good model."""

import os

import click

from ..errors import Interrupted, UserError
from .options import FiniteFloatRange, config_option, named_path, set_option, warn

SWEEP_PROGRESS = ("auto", "rich", "plain", "quiet")
DEFAULT_CURVE = "lr-find.json"


@click.command("sweep")
@click.argument("sweep_file", required=False, type=click.Path(dir_okay=False))
@set_option
@click.option(
    "--workers", type=click.IntRange(1), help="Trials at a time on this machine [default: the number of cores]."
)
@click.option("--address", metavar="tcp://HOST:PORT", help="Send the trials to this Dask scheduler instead.")
@click.option(
    "--timeout",
    type=FiniteFloatRange(0, min_open=True),
    metavar="SECONDS",
    help="With --address: the longest wait for the scheduler to connect and answer, and for a lost scheduler or "
    "one with no workers while trials run [default: 20].",
)
@click.option(
    "--resume",
    "resume_folder",
    type=click.Path(file_okay=False),
    callback=named_path("a sweep folder"),
    help="Run what is unfinished in this sweep folder.",
)
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(SWEEP_PROGRESS),
    default="auto",
    show_default=True,
    help="auto: a live view on a terminal, plain lines otherwise.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the index of the sweep as JSON instead of the table.")
@click.option("--mlflow", "track", is_flag=True, help="Track the sweep in MLflow at $MLFLOW_TRACKING_URI.")
def sweep_command(sweep_file, overrides, workers, address, timeout, resume_folder, progress_mode, as_json, track):
    """Train many runs of a config over a search space; the best trial's folder is the last line printed.

    \b
    dnn sweep sweep.yaml --workers 2
    dnn sweep sweep.yaml --address tcp://scheduler:8786
    dnn sweep --resume sweeps/cat-search/1
    dnn sweep sweep.yaml --mlflow

    --mlflow is --set output.mlflow=true: the sweep is an MLflow run with a
    child run per trial.
    """
    if (sweep_file is None) == (resume_folder is None):
        raise click.UsageError("give a SWEEP_FILE for a new sweep, or --resume SWEEP_DIR to continue one")
    if resume_folder and (overrides or track):
        raise click.UsageError("--set and --mlflow apply to a new sweep; a resumed sweep keeps its trials' configs")
    if address and workers:
        raise click.UsageError("give --workers (this machine) or --address (a Dask cluster), not both")
    if timeout and not address:
        raise click.UsageError("--timeout bounds the waits on a Dask cluster: give it with --address")
    from ..report.sweep import sweep_reporter
    from ..sweep.driver import Driver, create
    from ..sweep.spec import read_sweep

    if track:
        overrides = (*overrides, "output.mlflow=true")
    sweep = read_sweep(sweep_file, overrides) if sweep_file else None
    if address:  # reached before the sweep folder is made: an unreachable cluster leaves no empty sweep behind
        from ..sweep.cluster import TIMEOUT_SECONDS, DaskWorkers

        pool = DaskWorkers(address, timeout or TIMEOUT_SECONDS)
    else:
        from ..sweep.local import LocalWorkers

        pool = LocalWorkers(workers or os.cpu_count() or 1)
    try:
        driver = Driver(resume_folder or create(sweep), sweep_reporter(progress_mode))
    except BaseException:
        pool.close()
        raise
    try:
        result = driver.run(pool)
    except Interrupted as e:
        click.echo(str(e.folder))
        raise
    if result.mlflow is not None:
        from ..report.html import page_bytes, sweep_report
        from ..report.tables import mlflow_text
        from ..run.tracking import log_page

        # the sweep's page alone: the trials' own pages would cost a run report each (see dnn report)
        log_page(result.mlflow, lambda: page_bytes(sweep_report(result.folder, result.index)), warn)
        if not as_json:
            click.echo(f"MLflow: {mlflow_text(result.mlflow)}")
    show_sweep(result.folder, result.index, as_json)
    if not any(row["status"] == "finished" for row in result.index["trials"]):
        raise UserError(f"{result.folder}: no trial finished; each failed for the reason listed above")


def show_sweep(folder, index, as_json):
    """The table of a sweep's trials (or its index as JSON), then the best trial's folder as the last line."""
    from pathlib import Path

    from ..report.console import table_console
    from ..report.tables import sweep_table
    from ..sweep.index import best_trial, ranked
    from ..text import json_text

    best = best_trial(index)
    if as_json:
        click.echo(
            json_text({**index, "trials": ranked(index), "best": best and str(Path(folder) / best["folder"])}, indent=2)
        )
        return
    table_console().print(sweep_table(index, folder))
    for row in ranked(index):
        if row["status"] == "failed" and row["error"]:
            click.echo(f"* {row['folder']}: {row['error']}")
    click.echo(str(Path(folder) / best["folder"]) if best else "no trial finished yet")


@click.command("lr-find")
@config_option(help="YAML config of the run to find a rate for.")
@set_option
@click.option(
    "--start", type=FiniteFloatRange(0, min_open=True), default=1e-7, show_default=True, help="The first rate."
)
@click.option("--end", type=FiniteFloatRange(0, min_open=True), default=10.0, show_default=True, help="The last rate.")
@click.option("--steps", type=click.IntRange(5), default=100, show_default=True, help="Rates tried, one update each.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=DEFAULT_CURVE,
    show_default=True,
    callback=named_path(),
    help="The curve as JSON; a PNG beside it when matplotlib is there.",
)
def lr_find(config_path, overrides, start, end, steps, out):
    """Find a learning rate: the range test (rates growing exponentially, one update each).

    Never writes a run. Prints the suggested rate and the rule that chose it.

    \b
    dnn lr-find --config configs/cat.yaml
    dnn lr-find --config configs/cat-adam.yaml --set training.batch_size=64
    """
    from ..config.load import load
    from ..files import check_output, write_json
    from ..report.plot import draw_rate_curve, rate_curve_text
    from ..report.progress import QuietReporter
    from ..run.lrfind import range_test

    out = check_output(out)
    check_output(out.with_suffix(".png"))
    found = range_test(load(config_path, overrides), start, end, steps, warn=QuietReporter().warn)
    write_json(out, found.as_json(), output=True)
    picture = draw_rate_curve(found, out.with_suffix(".png"))
    if picture is None:
        for line in rate_curve_text(found):
            click.echo(line)
    click.echo(
        f"tried {len(found.rates)} rates from {found.rates[0]:.3g} to {found.rates[-1]:.3g}; stopped: {found.stopped}"
    )
    click.echo(f"minimum of the smoothed cost at {found.minimum_rate:.3g}; that rate / 10: {found.minimum_over_10:.3g}")
    click.echo(f"curve: {out}" + (f", {picture}" if picture else ""))
    click.echo(f"suggested learning rate: {found.suggestion:.3g} ({found.rule})")
