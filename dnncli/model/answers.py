"""What an answer says about itself, beside its class: how sure it is, whether it abstains, how unlike the
training inputs its input is.

- ``margins``: the answered class's probability minus the highest of the others (0: a coin toss between two
  classes, 1: certain; below 0 only when a two-class threshold answers the less probable class).
- Abstaining: with a least confidence, an answer whose class has a lower probability is ``UNSURE``; the class
  it would have given is kept beside it (``guess``).
- ``unfamiliarity``: the checkpoint's ``Familiarity`` of a picture's statistics or of a table row's encoded
  columns, plus 1 for each category column whose value training never saw (``unseen_categories``); above 1 the
  input is ``unfamiliar``. It never changes the class.
"""

import numpy as np

from ..data.columns import KINDS
from ..errors import UserError
from .familiarity import picture_features

UNSURE = "unsure"  # the class of an answer below the least confidence asked for


def margins(probabilities, labels):
    """Per column of ``probabilities`` (K, m): the answered class's probability minus the highest of the others.
    For the most probable class that is its lead over the next (0: a coin toss); a two-class threshold chosen from
    data can answer a class that is not the most probable, and then it is negative."""
    columns = np.arange(probabilities.shape[1])
    answered = probabilities[labels, columns]
    others = probabilities.copy()
    others[labels, columns] = -np.inf
    return (answered - others.max(axis=0)).astype(np.float64)


def check_min_confidence(saved, min_confidence):
    """``--min-confidence`` refused where it cannot mean what it says: a regression, a class already named unsure."""
    if min_confidence is None:
        return
    if saved.regression:
        raise UserError("--min-confidence: for a model of classes; this one predicts numbers")
    if UNSURE in saved.classes:
        raise UserError(f"--min-confidence: the model has a class named {UNSURE!r}, the name an abstention takes")


def picture_unfamiliarity(saved, pixels):
    """The unfamiliarity (m,) of uint8 pictures at the model's input shape, or None for a model without it."""
    fitted = saved.familiarity
    if fitted is None:
        return None
    return fitted.unfamiliarity(picture_features(pixels))


def row_unfamiliarity(saved, inputs):
    """The unfamiliarity (m,) of a table's encoded rows, or None for a model without it."""
    fitted = saved.familiarity
    if fitted is None:
        return None
    return fitted.unfamiliarity(inputs, unseen=unseen_categories(saved.encoder, inputs))


def unseen_categories(encoder, inputs):
    """Per encoded row, the category columns whose inputs are all 0: a value training never saw in a column
    with no ``other`` input (a new category, or a missing cell where training had none). A category that falls in
    ``other`` is measured by the distance: how rare ``other`` was in training."""
    counts = np.zeros(len(inputs), dtype=np.int64)
    start = 0
    for column in encoder.columns:
        width = len(KINDS[column["kind"]].names(column["name"], column))
        if column["kind"] == "category":
            counts += ~np.any(inputs[:, start : start + width] != 0, axis=1)
        start += width
    return counts


def answers(saved, probabilities, labels, unfamiliarity=None, min_confidence=None):
    """Per example, what ``dnn predict --json`` says of its answer: the class (``UNSURE`` below
    ``min_confidence``, the class it would have been as ``guess``), its probability, the margin, the
    unfamiliarity and whether it is past the threshold (both None for a model without them)."""
    margin = margins(probabilities, labels)
    records = []
    for i, label in enumerate(labels):
        probability = float(probabilities[label, i])
        record = {"class": saved.classes[label]}
        if min_confidence is not None and probability < min_confidence:
            record = {"class": UNSURE, "guess": saved.classes[label]}
        record.update(probability=probability, margin=float(margin[i]), **familiar_fields(unfamiliarity, i))
        records.append(record)
    return records


def familiar_fields(unfamiliarity, i):
    if unfamiliarity is None:
        return {"unfamiliarity": None, "unfamiliar": None}
    return {"unfamiliarity": float(unfamiliarity[i]), "unfamiliar": bool(unfamiliarity[i] > 1)}
