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
    against each parameter. Styles and pictures are inside the file: it
    opens without network. Needs matplotlib: pip install 'dnncli[plot]'.

    \b
    dnn report
    dnn report runs/cat/3 --best --out cat.html
    """
    from pathlib import Path

    from ..files import atomic_file
    from ..report.html import run_report
    from ..run.layout import latest_run

    folder = Path(run_folder) if run_folder else latest_run()
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    page = run_report(folder, best, warn=warn)
    out = Path(out)
    if not out.parent.is_dir():
        raise UserError(f"{out.parent}: no such folder")
    with atomic_file(out, "wb", output=True) as f:
        f.write(page.encode("ascii", "xmlcharrefreplace"))  # ASCII: the same bytes whatever the locale
    click.echo(str(out))
