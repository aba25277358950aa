"""A trained model's class and probability for pictures (`dnn predict`).

Pictures are decoded by ``pictures.load_picture``, made to fit as the checkpoint's
header says training's were (``fit``; grey or RGB by its input shape), and scaled as
it says training scaled them, so a picture saved losslessly from a data set
gets exactly the probability ``dnn evaluate`` gives that example.
"""

import time

import numpy as np

from ..data.dataset import READ_BATCH, scale_pixels
from ..data.pictures import load_picture, picture_mode
from ..data.tables import python_cells
from ..engine import forward, predict_labels
from ..errors import UserError
from . import checkpoint
from .answers import answers, familiar_fields, picture_unfamiliarity, row_unfamiliarity
from .calibration import calibrated

BATCH = READ_BATCH  # pictures per forward pass, as evaluation reads them: bounds memory for a folder of thousands
PROMPT_SECONDS = 0.2  # a batch is classified once it is full or this old, so results come as they are found


def model_dtype(saved):
    return np.dtype(saved.header["dtype"]).type


def usable_model(path):
    """The checkpoint at ``path``, checked to take what it will be given: a table model's rows, or pictures
    (a model whose input no picture has is refused once): what predict, serve and export load alike."""
    saved = checkpoint.load(path)
    if not saved.takes_tables:
        check_takes_pictures(saved)
    return saved


def check_takes_pictures(saved):
    """A model whose input shape no picture has (a flat (12288,) from an HDF5 set) is refused once, not per picture."""
    try:
        picture_mode(saved.input_shape)
    except UserError as e:
        raise UserError(f"{saved.path}: {e.message}") from None


def picture_rows(saved, pictures):
    """uint8 ``pictures`` as the rows (m, inputs) the network takes, scaled as the checkpoint says."""
    return scale_pixels(pictures.reshape(len(pictures), -1), model_dtype(saved), saved.pixel_scale)


def classify(saved, pictures, threshold=None):
    """Probabilities (K, m), one column per picture, and the predicted labels (m,) of uint8 ``pictures``.

    For a sigmoid output the rows are (1 - p, p): p is the second class's probability, and the second class is
    answered above ``threshold`` (by default the checkpoint's: 0.5, or one chosen from data). The probabilities
    are calibrated by the checkpoint's temperature, where it has one.
    """
    return classify_rows(saved, picture_rows(saved, pictures), threshold)


def logits(saved, rows):
    """The output layer's pre-activation (outputs, m) for ``rows`` (m, inputs) as the network takes them, in
    passes of ``BATCH`` rows."""
    return np.hstack([same_for_any_batch(saved, block) for block in np.split(rows, range(BATCH, len(rows), BATCH))])


def activated(saved, logits_, temperature=None):
    """The outputs of ``logits_``: probabilities of ``logits_ / temperature`` (by default the checkpoint's), or a
    regression's values as they are."""
    if saved.regression:
        return logits_
    return calibrated(logits_, saved.temperature if temperature is None else temperature)


def outputs(saved, rows):
    """The output layer's activations (outputs, m) for ``rows``: calibrated probabilities, or values."""
    return activated(saved, logits(saved, rows))


def class_answers(saved, probabilities, threshold=None):
    """(probabilities (K, m), labels (m,)) of the output layer's ``probabilities``: (1 - p, p) for a sigmoid."""
    labels = predict_labels(saved.net, probabilities, saved.threshold if threshold is None else threshold)
    if saved.net.output == "sigmoid":
        probabilities = np.vstack([1 - probabilities, probabilities])
    return probabilities, labels


def classify_rows(saved, rows, threshold=None):
    """``classify`` of rows the network takes (scaled pixels, or a table's encoded rows)."""
    return class_answers(saved, outputs(saved, rows), threshold)


def predicted_values(saved, rows):
    """A regression model's predictions (m, targets) in the targets' units, for a table's encoded rows."""
    return saved.encoder.in_units(outputs(saved, rows).astype(np.float64))


def same_for_any_batch(saved, rows):
    """The logits of up to BATCH rows, in a forward pass of exactly BATCH (blank rows fill it up).

    BLAS sums a product with a few columns in another order than one with many, so
    without this a picture's probabilities would change in the last digits with the
    number of pictures it comes with; in passes of one shape they never do.
    """
    full = np.zeros((BATCH, rows.shape[1]), dtype=model_dtype(saved))
    full[: len(rows)] = rows
    with np.errstate(over="ignore", invalid="ignore"):  # an output that overflowed is refused below
        ZL, _ = forward(saved.net, saved.params, full.T)
    if not np.all(np.isfinite(ZL[:, : len(rows)])):
        raise UserError(
            f"{saved.path}: its weights overflow {saved.header['dtype']} on these {'rows' if saved.takes_tables else 'pictures'} (the output layer's pre-activation is inf or nan)"
        )
    return ZL[:, : len(rows)]


def probability_map(classes, column):
    return {name: float(p) for name, p in zip(classes, column, strict=True)}


def read_pictures(paths, input_shape, failed, fit):
    """Batches of (paths, pixels) of the pictures that decode; ``failed(path, error)`` gets each that does not.

    A batch ends at BATCH pictures or PROMPT_SECONDS after its first: a slow folder still
    shows its first results at once, and ``classify`` gives the same numbers in any batch.
    """
    good, pixels = [], []
    for path in paths:
        try:
            pixels.append(load_picture(path, input_shape, fit))
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


def predictions(saved, paths, threshold, failed, min_confidence=None):
    """One record per picture that decodes, in order: path, class (``unsure`` below ``min_confidence``), its
    probability, the margin, the unfamiliarity, all probabilities (``answers.answers``)."""
    for batch, pixels in read_pictures(paths, saved.input_shape, failed, saved.fit):
        probabilities, labels = classify(saved, pixels, threshold)
        said = answers(saved, probabilities, labels, picture_unfamiliarity(saved, pixels), min_confidence)
        for path, column, answer in zip(batch, probabilities.T, said, strict=True):
            yield {"path": str(path), **answer, "probabilities": probability_map(saved.classes, column)}


def table_predictions(saved, table, threshold, problems, min_confidence=None):
    """One record per row of a ``tables.Table`` a table model can read, in order: where the row is, its id cells,
    and the prediction (the class, its probability, the margin and every class's, or each target's value) with
    the row's unfamiliarity. A row with a cell the model cannot take is left out and recorded in ``problems``
    (row -> message); returns the records and the unknown categories ({column: {value: count}})."""
    encoder = saved.encoder
    inputs, unknown = encoder.encode(table, model_dtype(saved), problems)
    good = np.setdiff1d(np.arange(table.rows), np.fromiter(problems, dtype=np.int64, count=len(problems)))
    positions = table.positions()
    ids = {name: python_cells(table.columns.column(name)) for name in encoder.ids if name in table.names}
    records = []
    unfamiliarity = row_unfamiliarity(saved, inputs[good])
    if saved.regression:
        values = predicted_values(saved, inputs[good])
        for i, row in enumerate(good):
            predicted = dict(zip(encoder.target["columns"], map(float, values[i]), strict=True))
            records.append(
                row_record(table, positions, ids, row, predicted=predicted, **familiar_fields(unfamiliarity, i))
            )
        return records, unknown
    probabilities, labels = classify_rows(saved, inputs[good], threshold)
    said = answers(saved, probabilities, labels, unfamiliarity, min_confidence)
    for i, row in enumerate(good):
        answer = said[i]
        predicted = {"predicted": answer.pop("class"), **answer}
        records.append(
            row_record(
                table,
                positions,
                ids,
                row,
                **predicted,
                probabilities=probability_map(saved.classes, probabilities[:, i]),
            )
        )
    return records, unknown


def table_failures(table, problems, skipped=()):
    """(position, message) of each row left out of a table's predictions, in order: those the reader skipped
    (``skipped``: (line, message), see ``tables.read_csv``) and those with a cell the model cannot take."""
    positions = table.positions()
    failed = list(skipped) + [(int(positions[row]), message) for row, message in problems.items()]
    return sorted(failed, key=lambda item: item[0] or 0)


def with_failures(table, records, failed):
    """The records and, for each row left out, a record of where it is and its error, in the table's order."""
    errors = [{table.position_name: position, "error": message} for position, message in failed]
    return sorted(records + errors, key=lambda record: record[table.position_name] or 0)


def row_record(table, positions, ids, row, **prediction):
    id_cells = {name: plain_cell(cells[row]) for name, cells in ids.items()}
    return {table.position_name: int(positions[row]), **id_cells, **prediction}


def plain_cell(value):
    """An id cell as JSON holds it: text, a number, true/false or null as they are, anything else (a date, a
    time, a decimal) as the text the CSV output writes for it."""
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)
