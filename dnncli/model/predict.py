"""A trained model's class and probability for pictures (`dnn predict`).

Pictures are decoded by ``pictures.load_picture`` and scaled as the checkpoint's
header says training scaled them, so a picture saved losslessly from a data set
gets exactly the probability ``dnn evaluate`` gives that example.
"""

import time

import numpy as np

from ..data.dataset import READ_BATCH, scale_pixels
from ..data.pictures import load_picture, picture_mode
from ..engine import OUTPUT_ACTIVATIONS, forward, predict_labels
from ..errors import UserError
from . import checkpoint

BATCH = READ_BATCH  # pictures per forward pass, as evaluation reads them: bounds memory for a folder of thousands
PROMPT_SECONDS = 0.2  # a batch is classified once it is full or this old, so results come as they are found


def model_dtype(saved):
    return np.dtype(saved.header["dtype"]).type


def picture_model(path):
    """The checkpoint at ``path``, checked to classify pictures: what predict, serve and export load alike."""
    saved = checkpoint.load(path)
    check_takes_pictures(saved)
    return saved


def check_takes_pictures(saved):
    """A model whose input shape no picture has (a flat (12288,) from an HDF5 set) is refused once, not per picture."""
    try:
        picture_mode(saved.input_shape)
    except UserError as e:
        raise UserError(f"{saved.path}: {e.message}") from None


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
    """Class probabilities of up to BATCH rows, in a forward pass of exactly BATCH (blank rows fill it up).

    BLAS sums a product with a few columns in another order than one with many, so
    without this a picture's probabilities would change in the last digits with the
    number of pictures it comes with; in passes of one shape they never do.
    """
    full = np.zeros((BATCH, rows.shape[1]), dtype=rows.dtype)
    full[: len(rows)] = rows
    with np.errstate(over="ignore", invalid="ignore"):  # an output that overflowed is refused below
        ZL, _ = forward(saved.net, saved.params, full.T)
        probabilities = OUTPUT_ACTIVATIONS[saved.net.output](ZL)
    if not np.all(np.isfinite(ZL[:, : len(rows)])):
        raise UserError(
            f"{saved.path}: its weights overflow {saved.header['dtype']} on these pictures (the output layer's pre-activation is inf or nan)"
        )
    return probabilities[:, : len(rows)]


def probability_map(classes, column):
    return {name: float(p) for name, p in zip(classes, column, strict=True)}


def read_pictures(paths, input_shape, failed):
    """Batches of (paths, pixels) of the pictures that decode; ``failed(path, error)`` gets each that does not.

    A batch ends at BATCH pictures or PROMPT_SECONDS after its first: a slow folder still
    shows its first results at once, and ``classify`` gives the same numbers in any batch.
    """
    good, pixels = [], []
    for path in paths:
        try:
            pixels.append(load_picture(path, input_shape))
            good.append(path)
        except UserError as e:
            failed(path, e)
        if len(good) == 1:
            started = time.monotonic()
        if len(good) == BATCH or (good and time.monotonic() - started > PROMPT_SECONDS):
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
