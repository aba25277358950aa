"""`dnn predict`: a trained model's class and probability for picture files."""

import click

from ..errors import EXIT_USAGE, UserError, one_line
from .options import FiniteFloatRange, chosen_model, model_options, named_path, warn

STANDARD_INPUT = "-"
STANDARD_INPUT_LIMIT = 256 * 2**20  # bytes of a picture piped in: more than any photo's file; `< /dev/zero` ends here


def report_error(error):
    click.echo(f"Error: {error.format_message()}", err=True)


def standard_input_picture():
    """The picture piped into standard input (``dnn predict -``), as bytes labelled ``-``."""
    import os
    import sys

    from ..data.pictures import PictureBytes
    from ..text import binary_size

    stream = sys.stdin.buffer
    try:
        terminal = os.isatty(stream.fileno())
    except (AttributeError, OSError, ValueError):  # no file descriptor: a stream in memory, not a terminal
        terminal = False
    if terminal:
        raise UserError(f"{STANDARD_INPUT}: standard input is a terminal; pipe a picture in: dnn predict - < cat.jpg")
    data = stream.read(STANDARD_INPUT_LIMIT + 1)
    if len(data) > STANDARD_INPUT_LIMIT:
        raise UserError(
            f"{STANDARD_INPUT}: more than {binary_size(STANDARD_INPUT_LIMIT)} on standard input, too large for a picture"
        )
    return PictureBytes(data, STANDARD_INPUT)


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
    help="Two-class models: the second class is picked when its probability is above this [default: 0.5]; a threshold dnn evaluate --choose-threshold stored replaces the default.",  # engine.THRESHOLD: a test checks
)
@click.option(
    "--min-confidence",
    type=FiniteFloatRange(0, 1),
    metavar="P",
    help="Answer 'unsure' when the class's probability is below P (the class it would be stays, as guess).",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON record per picture or row (JSON lines).")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    callback=named_path(),
    help="Tables: write the predictions to this file instead of standard output.",
)
def predict_command(pictures, run_folder, checkpoint_file, best, threshold, min_confidence, as_json, out):
    """Classify pictures, or predict a table's rows, with a trained model.

    For a model of pictures, PICTURE is a file, a folder (every picture below it), a glob pattern, or - for a
    picture piped into standard input; URLs are not fetched.
    For a model of a table, give one CSV or Parquet file: the predictions are CSV (each row's line or row
    number, its id columns, the class and the probabilities, or the predicted numbers).
    Any size and colour mode is converted to what the model takes (see
    dnncli/data/pictures.py). The model used is named on stderr. A picture that
    cannot be read is reported on stderr (and with --json as a record with its
    error), the others are still classified, and the exit code is 2.

    Beside each class: its probability (calibrated, once dnn calibrate or
    training did it), the margin over the next class, and the unfamiliarity:
    how unlike the training inputs the input is, flagged unfamiliar above 1.

    \b
    dnn predict cat.jpg
    dnn predict photos/ 'more/*.png' --json
    dnn predict cat.jpg --run runs/cat/2 --threshold 0.7
    dnn predict new-rows.csv --out predictions.csv
    curl -sL https://example.com/cat.jpg | dnn predict -
    """
    from ..data.pictures import expand_paths
    from ..model.answers import check_min_confidence
    from ..model.predict import predictions, usable_model
    from ..report.console import stdout_console
    from ..run.selection import unfinished_run
    from ..text import json_text, plural

    path = chosen_model(run_folder, checkpoint_file, best)
    saved = usable_model(path)
    check_min_confidence(saved, min_confidence)
    if saved.takes_tables:
        return predict_table(saved, path, pictures, threshold, min_confidence, as_json, out)
    if out is not None:
        raise UserError("--out: for a table model's predictions; a picture model's go to standard output")
    if threshold is not None and saved.net.output != "sigmoid":
        raise UserError(f"--threshold: only for a two-class (sigmoid) model; this one has {len(saved.classes)} classes")
    click.echo(f"model: {path} (iteration {saved.iteration})", err=True)
    unfinished = unfinished_run(path)
    if unfinished:
        warn(unfinished)
    paths, problems = expand_paths(pictures, warn=warn)
    paths = [standard_input_picture() if str(p) == STANDARD_INPUT else p for p in paths]
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
    for record in predictions(saved, paths, threshold, failed, min_confidence):
        classified += 1
        if as_json:
            click.echo(json_text(record))
        elif console.is_terminal:
            if table is None:  # a row at a time, each as soon as it is known
                from ..report.tables import StreamedTable, answer_columns

                widest_path = max(len(str(p)) for p in paths)
                table = StreamedTable(
                    console,
                    [("picture", widest_path, "left"), *answer_columns(saved.classes, min_confidence is not None)],
                )
            table.row(one_line(record["path"]), *table_cells(record))
        else:  # a name holding a tab or a newline would break the line into columns or rows: escaped
            click.echo("\t".join([one_line(record["path"]), *answer_cells(record)]))
    if table is not None:
        table.close()
    if failures:
        click.echo(
            f"{classified} of {plural(len(paths), 'picture')} classified, {plural(len(failures), 'problem')} above",
            err=True,
        )
        raise click.exceptions.Exit(EXIT_USAGE)


def answer_cells(record):
    """What a plain line of `dnn predict` shows of a picture's answer, after its path: the class (``unsure``
    below --min-confidence), its probability, the margin, the unfamiliarity (empty for a model without it) and
    ``unfamiliar`` when that is above 1."""
    unfamiliarity = "" if record["unfamiliarity"] is None else f"{record['unfamiliarity']:.2f}"
    flag = "unfamiliar" if record["unfamiliar"] else ""
    return [one_line(record["class"]), f"{record['probability']:.4f}", f"{record['margin']:.4f}", unfamiliarity, flag]


def table_cells(record):
    """The cells of `dnn predict`'s table after the picture: an unsure answer names the class it would be, and
    the unfamiliar column says yes or no with the score."""
    shown = record["class"] if "guess" not in record else f"{record['class']} ({record['guess']})"
    familiar = (
        ""
        if record["unfamiliarity"] is None
        else f"{'yes' if record['unfamiliar'] else 'no'} ({record['unfamiliarity']:.2f})"
    )
    return [one_line(shown), f"{record['probability']:.4f}", f"{record['margin']:.4f}", familiar]


SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a cell starting so is run by a spreadsheet as a formula


def spreadsheet_safe(cell):
    """A CSV cell a spreadsheet shows as text, never runs: text that starts like a formula gets a leading ',
    as OWASP advises; numbers are left as they are."""
    if isinstance(cell, str) and cell.startswith(SPREADSHEET_FORMULA):
        try:
            float(cell)
        except ValueError:
            return "'" + cell
    return cell


FAMILIAR_COLUMNS = ("unfamiliarity", "unfamiliar")


def prediction_columns(saved, table, min_confidence=None):
    encoder = saved.encoder
    ids = [name for name in encoder.ids if name in table.names]
    if saved.regression:
        return [table.position_name, *ids], [*(f"predicted_{t}" for t in encoder.target["columns"]), *FAMILIAR_COLUMNS]
    guess = ["guess"] if min_confidence is not None else []
    answer = ["predicted", *guess, "probability", "margin", *FAMILIAR_COLUMNS]
    return [table.position_name, *ids], [*answer, *(f"p_{c}" for c in saved.classes)]


def csv_row(record, saved, keys, min_confidence=None):
    cells = [record[key] for key in keys]
    familiar = [record["unfamiliarity"], {True: "true", False: "false"}.get(record["unfamiliar"])]
    if saved.regression:
        cells += [*record["predicted"].values(), *familiar]
    else:
        guess = [record.get("guess", "")] if min_confidence is not None else []
        cells += [record["predicted"], *guess, record["probability"], record["margin"], *familiar]
        cells += record["probabilities"].values()
    return [spreadsheet_safe(cell) for cell in cells]


def predict_table(saved, path, arguments, threshold, min_confidence, as_json, out):
    """`dnn predict` of a table model: one table file in, a CSV (or JSON lines) of predictions out."""
    import csv
    import io
    from pathlib import Path

    from ..data.table_sets import warn_unknown
    from ..data.tables import read_table
    from ..files import check_output, regular_file, write_text
    from ..model.predict import table_failures, table_predictions, with_failures
    from ..text import json_text, plural

    if len(arguments) != 1:
        raise UserError(f"{len(arguments)} files given; a table model predicts one table file at a time")
    if out is not None:
        regular_file(Path(arguments[0]), "table")  # an input, so that --out may not name it in any spelling
        check_output(out)
    if threshold is not None and saved.net.output != "sigmoid":
        raise UserError("--threshold: only for a two-class (sigmoid) model")
    click.echo(f"model: {path} (iteration {saved.iteration})", err=True)
    skipped = []
    table = read_table(arguments[0], warn=warn, skipped=skipped)
    problems = {}
    records, unknown = table_predictions(saved, table, threshold, problems, min_confidence)
    warn_unknown(table.path, unknown, warn)
    failed = table_failures(table, problems, skipped)
    for line, message in failed:
        click.echo(f"Error: {one_line(f'{table.path}: {table.position_name} {line}: {message}')}", err=True)
    text = io.StringIO()
    if as_json:
        text.write("".join(json_text(record) + "\n" for record in with_failures(table, records, failed)))
    else:
        keys, predicted = prediction_columns(saved, table, min_confidence)
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([spreadsheet_safe(name) for name in keys + predicted])
        writer.writerows(csv_row(record, saved, keys, min_confidence) for record in records)
    if out is None:
        click.echo(text.getvalue(), nl=False)
    else:
        write_text(out, text.getvalue(), output=True)
        click.echo(str(out))
    if failed:
        rows = len(records) + len(failed)
        click.echo(
            f"{len(records)} of {plural(rows, 'row')} predicted, {plural(len(failed), 'problem')} above", err=True
        )
        raise click.exceptions.Exit(EXIT_USAGE)
