"""`dnn report`: one HTML page about a run, to open in any browser."""

import click

from ..errors import UserError
from .options import named_path, warn

DEFAULT_REPORT = "report.html"


@click.command("report")
@click.argument("run_folder", type=click.Path(file_okay=False), required=False, metavar="[RUN]")
@click.option("--best", is_flag=True, help="Evaluate the run's best.npz, its weights at the best validation cost.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    default=DEFAULT_REPORT,
    show_default=True,
    callback=named_path(),
    help="HTML file to write.",
)
def report_command(run_folder, best, out):
    """Write one self-contained HTML page about RUN [default: the newest run].

    The run (config, times, versions, best and last iteration), learning
    curves, health over time, and on the test set the confusion matrix, ROC
    and precision-recall curves, the reliability diagram and the pictures
    with the highest loss. A sweep folder gives its trials and the metric
    against each parameter, the learning curve of each, the best marked, and
    each trial's own report, in a folder beside it (OUT's name with -trials)
    that its rows link to. Styles and pictures are inside the file: it opens
    without network. Needs matplotlib, the optional plot extra.

    \b
    dnn report
    dnn report runs/cat/3 --best --out cat.html
    """
    from pathlib import Path

    from ..files import atomic_file, check_output
    from ..report.html import page_bytes, report_pages, trials_folder
    from ..run.layout import latest_run
    from ..sweep.index import is_sweep

    folder = Path(run_folder) if run_folder else latest_run()
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    out = check_output(out)
    trials = trials_folder(out)
    if is_sweep(folder) and trials.exists() and not trials.is_dir():
        raise UserError(f"{trials}: is a file, where the report of each trial goes; remove it or give another --out")
    for path, page in report_pages(folder, out, best, warn):
        path.parent.mkdir(exist_ok=True)  # the trials' folder, made once the first trial's page is ready
        with atomic_file(path, "wb", output=True) as f:
            f.write(page_bytes(page))
    click.echo(str(out))
