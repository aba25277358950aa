"""`dnn predict`: a trained model's class and probability for picture files.

Pictures are decoded by ``images.load_picture`` and scaled as the checkpoint's
header says training scaled them, so a picture saved losslessly from a data set
gets exactly the probability ``dnn evaluate`` gives that example.
"""

import json
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from . import checkpoint
from .data import READ_BATCH, scale_pixels
from .engine import predict_labels, predict_proba
from .errors import UserError
from .images import expand_paths, load_picture
from .options import model_options
from .runs import latest_run, run_checkpoint

BATCH = READ_BATCH  # pictures per forward pass, as evaluation reads them: bounds memory for a folder of thousands


def model_path(run_folder=None, checkpoint_file=None):
    """The checkpoint to use: ``--checkpoint``, else ``--run``'s, else the newest run's."""
    if run_folder and checkpoint_file:
        raise click.UsageError("give --run or --checkpoint, not both")
    if checkpoint_file:
        return Path(checkpoint_file)
    return run_checkpoint(run_folder or latest_run())


def model_dtype(saved):
    return np.dtype(saved.header["dtype"]).type


def classify(saved, pictures, threshold=0.5):
    """Probabilities (K, m), one column per picture, and the predicted labels (m,) of uint8 ``pictures``.

    For a sigmoid output the rows are (1 - p, p): p is the second class's probability.
    """
    rows = scale_pixels(pictures.reshape(len(pictures), -1), model_dtype(saved), saved.pixel_scale)
    probabilities = np.hstack(
        [same_for_any_batch(saved, block) for block in np.split(rows, range(BATCH, len(rows), BATCH))]
    )
    labels = predict_labels(saved.net, probabilities, threshold)
    if saved.net.output == "sigmoid":
        probabilities = np.vstack([1 - probabilities, probabilities])
    return probabilities, labels


def same_for_any_batch(saved, rows):
    """``predict_proba`` of up to BATCH rows, in a forward pass of exactly BATCH (blank rows fill it up).

    BLAS sums a product with a few columns in another order than one with many, so
    without this a picture's probabilities would change in the last digits with the
    number of pictures it comes with; in passes of one shape they never do.
    """
    full = np.zeros((BATCH, rows.shape[1]), dtype=rows.dtype)
    full[: len(rows)] = rows
    return predict_proba(saved.net, saved.params, full.T)[:, : len(rows)]


def probability_map(classes, column):
    return {name: float(p) for name, p in zip(classes, column, strict=True)}


def read_pictures(paths, input_shape, failed):
    """Batches of (paths, pixels) of the pictures that decode; ``failed`` gets each that does not."""
    good, pixels = [], []
    for path in paths:
        try:
            pixels.append(load_picture(path, input_shape))
            good.append(path)
        except UserError as e:
            failed(e)
        if len(good) == BATCH:
            yield good, np.stack(pixels)
            good, pixels = [], []
    if good:
        yield good, np.stack(pixels)


def predictions(saved, paths, threshold, failed):
    """One record per picture that decodes, in order: path, class, its probability, all probabilities."""
    for batch, pixels in read_pictures(paths, saved.input_shape, failed):
        probabilities, labels = classify(saved, pixels, threshold)
        for path, column, label in zip(batch, probabilities.T, labels, strict=True):
            yield {
                "path": str(path),
                "class": saved.classes[label],
                "probability": float(column[label]),
                "probabilities": probability_map(saved.classes, column),
            }


def report_error(error):
    click.echo(f"Error: {error.format_message()}", err=True)


@click.command("predict")
@click.argument("pictures", nargs=-1, required=True, metavar="PICTURE...")
@model_options
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    help="Two-class models: the second class is picked when its probability is above this [default: 0.5].",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON record per picture on stdout (JSON lines).")
def predict_command(pictures, run_folder, checkpoint_file, threshold, as_json):
    """Classify pictures with a trained model.

    PICTURE is a file, a folder (every picture below it) or a glob pattern.
    Any size and colour mode is converted to what the model takes (see
    dnncli/images.py). A picture that cannot be read is reported on stderr,
    the others are still classified, and the exit code is 2.

    \b
    dnn predict cat.jpg
    dnn predict photos/ 'more/*.png' --json
    dnn predict cat.jpg --run runs/cat/2 --threshold 0.7
    """
    saved = checkpoint.load(model_path(run_folder, checkpoint_file))
    if threshold is not None and saved.net.output != "sigmoid":
        raise UserError(f"--threshold: only for a two-class (sigmoid) model; this one has {len(saved.classes)} classes")
    paths, problems = expand_paths(pictures)
    failures = []

    def failed(error):
        failures.append(error)
        report_error(error)

    for problem in problems:
        failed(problem)
    console = Console(highlight=False)
    table = None
    if console.is_terminal and not as_json:
        table = Table("picture", "class", "probability")
        table.columns[2].justify = "right"
    classified = 0
    for record in predictions(saved, paths, 0.5 if threshold is None else threshold, failed):
        classified += 1
        if as_json:
            click.echo(json.dumps(record))
        elif table is not None:
            table.add_row(record["path"], record["class"], f"{record['probability']:.4f}")
        else:
            click.echo(f"{record['path']}\t{record['class']}\t{record['probability']:.4f}")
    if table is not None and table.row_count:
        console.print(table)
    if failures:
        problems = f"{len(failures)} problem{'s' if len(failures) > 1 else ''}"
        raise UserError(f"{classified} of {len(paths)} pictures classified; {problems} above")
