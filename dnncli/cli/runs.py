"""`dnn runs` and `dnn plot`: the runs so far, in a table and on a chart."""

from pathlib import Path

import click

from ..errors import UserError
from .options import named_path

DEFAULT_PLOT = "cost.png"


@click.command("runs")
@click.argument("folder", type=click.Path(file_okay=False), required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the runs as a JSON list.")
def runs(folder, as_json):
    """List the runs under FOLDER (default: $DNN_RUNS, else runs/), newest first; or a sweep's trials, best first.

    On a terminal, a table; into a pipe or a file, a header line and a line per
    run, the columns separated by tabs. Either way a column empty for every run
    is left out.
    """
    from ..files import default_runs
    from ..sweep.index import is_sweep

    folder = folder or str(default_runs())
    if is_sweep(folder):
        return show_sweep_folder(folder, as_json)

    from ..report.console import table_console
    from ..report.tables import runs_lines, runs_table
    from ..run.listing import list_runs
    from ..text import json_text

    rows = list_runs(folder)
    console = table_console()
    if as_json:
        click.echo(json_text(rows, indent=2))
    elif rows and not console.is_terminal:  # a pipe or a file: plain lines, as cut, sort and awk read them
        for line in runs_lines(rows):
            click.echo(line)
    elif rows:
        console.print(runs_table(rows, folder))
        for row in rows:
            if row["problem"]:
                click.echo(f"* {row['problem']}")
            for text in ([row["error"]] if row["status"] == "failed" and row["error"] else []) + row["warnings"]:
                click.echo(f"! {row['run']}: {text}")
    else:
        click.echo(f"no runs under {folder}/ yet: train one with `dnn train --config FILE`")


@click.command("plot")
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(file_okay=False), metavar="RUN_DIR [MORE ...]")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=DEFAULT_PLOT,
    show_default=True,
    callback=named_path(),
    help="Picture to write.",
)
def plot(run_dirs, out):
    """Draw the cost curves of runs on one chart, as a picture; for a sweep folder, the metric of its trials
    against each swept parameter.

    Validation cost and accuracy (a regression's R²) are drawn too where the runs logged them.
    Needs matplotlib, the optional plot extra.

    \b
    dnn plot runs/cat/1
    dnn plot runs/cat/1 runs/cat/2 --out compare.png
    """
    from ..files import check_output
    from ..report.plot import draw, logged_costs
    from ..sweep.index import is_sweep

    check_output(out)
    if len(run_dirs) == 1 and is_sweep(run_dirs[0]):
        return plot_sweep_folder(run_dirs[0], out)
    curves = {}
    for folder in run_dirs:
        if not Path(folder).is_dir():
            raise UserError(f"{folder}: no such run folder")
        curves[folder] = logged_costs(folder)
    click.echo(str(draw(curves, out)))


def show_sweep_folder(folder, as_json):
    from ..sweep.index import as_seen, read_index
    from .sweep import show_sweep

    show_sweep(folder, as_seen(read_index(folder)), as_json)


def plot_sweep_folder(folder, out):
    from ..report.plot import draw_sweep
    from ..sweep.index import read_index

    click.echo(str(draw_sweep(read_index(folder), out)))
