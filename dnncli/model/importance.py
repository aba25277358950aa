"""Which columns a table model leans on: permutation importance on labelled rows (`dnn report`).

A column's importance is how much the model's score falls when that column's cells are shuffled among the rows,
which breaks its link with the target and keeps its values: the score of the rows as they are, minus the score
with the column shuffled, over ``repeats`` shuffles. The score is accuracy for a classifier and R² for a
regression (the plain mean over targets), the scores scikit-learn's ``permutation_importance`` takes by default.

The cells are shuffled as read and then encoded as the model encodes them, so each original column has one
importance, however many inputs it becomes (a category's one-hot inputs, a missing cell's indicator, all
shuffled together).

The shuffles are scikit-learn's (1.x): one seed drawn from ``RandomState(seed)``; for each column a
``RandomState`` of that seed shuffles a row order in place once per repeat, and the column is shuffled by it
again. So a model wrapped as a scikit-learn estimator, given the same rows and ``random_state``, gets the same
numbers from ``sklearn.inspection.permutation_importance`` (tests/test_importance.py). ``RandomState``'s
stream never changes, so the numbers do not depend on the NumPy version either.
"""

from dataclasses import dataclass, replace

import numpy as np

from ..data.columns import KINDS
from ..data.encoding import Encoder
from .predict import classify_rows, model_dtype, predicted_values
from .score import regression_metrics

REPEATS = 5  # shuffles per column
SEED = 0
MAX_ROWS = 10_000  # rows scored at most: a larger set is sampled down (by the seed), to bound the passes it takes
SCORING = {"classification": "accuracy", "regression": "r2"}


@dataclass(frozen=True)
class ColumnImportance:
    name: str
    kind: str  # number, category, boolean
    inputs: int  # the network's inputs it becomes
    scores: tuple  # the score with the column shuffled, one per repeat

    def drops(self, baseline):
        return baseline - np.asarray(self.scores)


@dataclass(frozen=True)
class Importance:
    scoring: str  # accuracy or r2
    baseline: float  # the score of the rows as they are
    columns: tuple  # of ColumnImportance, most important first
    rows: int  # rows scored
    of_rows: int  # rows given (more than ``rows`` when sampled down)
    repeats: int
    seed: int

    def mean(self, column):
        return float(np.mean(column.drops(self.baseline)))

    def std(self, column):
        return float(np.std(column.drops(self.baseline)))

    def as_json(self):
        return {
            "scoring": self.scoring,
            "baseline": self.baseline,
            "rows": self.rows,
            "repeats": self.repeats,
            "seed": self.seed,
            "columns": [
                {
                    "name": c.name,
                    "kind": c.kind,
                    "inputs": c.inputs,
                    "mean": self.mean(c),
                    "std": self.std(c),
                    "scores": list(c.scores),
                }  # fmt: skip
                for c in self.columns
            ],
        }


def model_score(saved, inputs, truth):
    """Accuracy of a classifier, or R² of a regression, on encoded rows (m, width) and their targets."""
    if saved.regression:
        error = predicted_values(saved, inputs) - truth
        spread = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
        return regression_metrics((error**2).sum(axis=0), np.abs(error).sum(axis=0), spread, len(truth))["r2"]
    _, labels = classify_rows(saved, inputs)
    return float(np.mean(labels == truth))


def input_blocks(encoder):
    """Where each feature column's inputs are among the network's: (start, stop) per column, in order."""
    blocks, start = [], 0
    for column in encoder.columns:
        width = len(KINDS[column["kind"]].names(column["name"], column))
        blocks.append((start, start + width))
        start += width
    return blocks


def sampled(table, max_rows, seed):
    """``table``, or ``max_rows`` of its rows drawn by ``seed`` (in the file's order) when it has more."""
    if table.rows <= max_rows:
        return table
    return table.select(np.sort(np.random.RandomState(seed).choice(table.rows, max_rows, replace=False)))


def permutation_importance(saved, table, repeats=REPEATS, seed=SEED, max_rows=MAX_ROWS):
    """The ``Importance`` of each feature column of the table model ``saved`` on ``table`` (a ``tables.Table``
    whose rows all have their targets, such as a run's test rows)."""
    encoder, dtype = saved.encoder, model_dtype(saved)
    given = table.rows
    table = sampled(table, max_rows, seed)
    inputs, _ = encoder.encode(table, dtype)
    truth = encoder.values(table) if saved.regression else encoder.labels(table)
    baseline = model_score(saved, inputs, truth)
    shuffle_seed = np.random.RandomState(seed).randint(np.iinfo(np.int32).max + 1)
    columns = []
    for column, (start, stop) in zip(encoder.columns, input_blocks(encoder), strict=True):
        alone = replace(table, columns=table.columns.select([column["name"]]))
        one = Encoder([column], encoder.target)
        rng, shuffling, order = np.random.RandomState(shuffle_seed), np.arange(table.rows), np.arange(table.rows)
        shuffled, scores = inputs.copy(), []
        for _ in range(repeats):
            rng.shuffle(shuffling)
            order = order[shuffling]  # the column as last shuffled, shuffled again
            shuffled[:, start:stop] = one.encode(alone.select(order), dtype)[0]
            scores.append(model_score(saved, shuffled, truth))
        columns.append(ColumnImportance(column["name"], column["kind"], stop - start, tuple(scores)))
    ranked = sorted(columns, key=lambda c: -float(np.mean(c.drops(baseline))))
    return Importance(SCORING[encoder.task], baseline, tuple(ranked), table.rows, given, repeats, seed)
