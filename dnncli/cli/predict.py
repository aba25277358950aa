"""`dnn predict`: a trained model's class and probability for picture files."""

import click

from ..errors import EXIT_USAGE, UserError, one_line
from .options import FiniteFloatRange, chosen_model, model_options, named_path, warn


def report_error(error):
    click.echo(f"Error: {error.format_message()}", err=True)


def failure_record(path, error):
    """The JSON line of a picture that could not be classified: its path (where known) and why."""
    message = error.format_message()
    if path is not None:
        message = message.removeprefix(f"{path}: ")
    return {"path": None if path is None else str(path), "error": message}


@click.command("predict")
@click.argument(
    "pictures", nargs=-1, required=True, metavar="PICTURE...", callback=named_path("a picture, a folder or a pattern")
)
@model_options
@click.option(
    "--threshold",
    type=FiniteFloatRange(0, 1),
    help="Two-class models: the second class is picked when its probability is above this [default: 0.5].",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON record per picture on stdout (JSON lines).")
def predict_command(pictures, run_folder, checkpoint_file, best, threshold, as_json):
    """Classify pictures with a trained model.

    PICTURE is a file, a folder (every picture below it) or a glob pattern.
    Any size and colour mode is converted to what the model takes (see
    dnncli/data/pictures.py). The model used is named on stderr. A picture that
    cannot be read is reported on stderr (and with --json as a record with its
    error), the others are still classified, and the exit code is 2.

    \b
    dnn predict cat.jpg
    dnn predict photos/ 'more/*.png' --json
    dnn predict cat.jpg --run runs/cat/2 --threshold 0.7
    """
    from ..data.pictures import expand_paths
    from ..model.predict import picture_model, predictions
    from ..report.console import stdout_console
    from ..run.selection import unfinished_run
    from ..text import json_text, plural

    path = chosen_model(run_folder, checkpoint_file, best)
    saved = picture_model(path)
    if threshold is not None and saved.net.output != "sigmoid":
        raise UserError(f"--threshold: only for a two-class (sigmoid) model; this one has {len(saved.classes)} classes")
    click.echo(f"model: {path} (iteration {saved.iteration})", err=True)
    unfinished = unfinished_run(path)
    if unfinished:
        warn(unfinished)
    paths, problems = expand_paths(pictures, warn=warn)
    failures = []

    def failed(path, error):
        failures.append(error)
        report_error(error)
        if as_json:
            click.echo(json_text(failure_record(path, error)))

    for problem in problems:
        failed(None, problem)
    console = stdout_console()
    table = None
    classified = 0
    for record in predictions(saved, paths, 0.5 if threshold is None else threshold, failed):
        classified += 1
        if as_json:
            click.echo(json_text(record))
        elif console.is_terminal:
            if table is None:  # a row at a time, each as soon as it is known
                from ..report.tables import StreamedTable

                widest_path, widest_class = max(len(str(p)) for p in paths), max(map(len, saved.classes))
                columns = [
                    ("picture", widest_path, "left"),
                    ("class", widest_class, "left"),
                    ("probability", 6, "right"),
                ]
                table = StreamedTable(console, columns)
            table.row(one_line(record["path"]), one_line(record["class"]), f"{record['probability']:.4f}")
        else:  # a name holding a tab or a newline would break the line into columns or rows: escaped
            click.echo(f"{one_line(record['path'])}\t{one_line(record['class'])}\t{record['probability']:.4f}")
    if table is not None:
        table.close()
    if failures:
        click.echo(
            f"{classified} of {len(paths)} pictures classified, {plural(len(failures), 'problem')} above", err=True
        )
        raise click.exceptions.Exit(EXIT_USAGE)
