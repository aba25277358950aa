"""A table's columns as the network's inputs and targets: the encoder, fitted on the training rows only.

``fit_encoder`` decides each feature column's kind (as read, or as ``data.columns`` says), fits it on the
training rows (``columns.KINDS``) and fits the target: classes for a category or boolean target, a mean and a
standard deviation for a numeric one (the network learns the standardised target; predictions are turned
back into its units). The fitted encoder is data, not code: ``header()`` is the JSON a checkpoint stores and
``from_header`` reads it back, checked, so evaluate, predict, serve and export apply exactly what training
fitted.
"""

import hashlib
import json
import math
import os
from dataclasses import dataclass, field

import numpy as np

from ..config.build import DataShape
from ..errors import UserError
from ..resources import available_memory
from ..text import gigabytes
from .columns import (
    KINDS,
    MAX_MAGNITUDE,
    MIN_SPREAD,
    Moments,
    arrow,
    counted,
    held_by,
    inferred_kind,
    is_text_type,
)
from .tables import MEMORY, format_number, python_cells

TASKS = ("classification", "regression")
PART_ROWS = 4096  # rows at a time when a table set is scored or classified
ENCODE_BLOCK_BYTES = 4 << 20  # inputs written a block of rows at a time, about this many bytes (see encode_blocks)
GROUP_SHARE = 0.25  # columns read at a time until their cells hold this share of the inputs' bytes
CELL_BYTES = 8  # what a column's cell takes once read, about: a float64 number, a text cell's offset
FINGERPRINT_ROWS = 16  # rows, evenly spaced, that a table's fingerprint reads beside all its targets


@dataclass
class Encoder:
    """Fitted feature columns (name, kind, statistics), the target, and the id columns a prediction keeps."""

    columns: list  # [{"name", "kind", **statistics}]
    target: dict  # {"columns", "task", "classes"} or {"columns", "task", "mean", "std"}
    ids: list = field(default_factory=list)

    @property
    def task(self):
        return self.target["task"]

    @property
    def classes(self):
        return self.target.get("classes")

    @property
    def outputs(self):
        """Output units: one for two classes, one per class beyond, one per numeric target."""
        if self.task == "regression":
            return len(self.target["columns"])
        return 1 if len(self.classes) == 2 else len(self.classes)

    @property
    def input_names(self):
        return [name for column in self.columns for name in KINDS[column["kind"]].names(column["name"], column)]

    @property
    def width(self):
        return len(self.input_names)

    @property
    def feature_columns(self):
        return [column["name"] for column in self.columns]

    def header(self):
        return {"columns": self.columns, "target": self.target, "ids": self.ids}

    def described_columns(self):
        """The feature columns as a caller gives them: name and kind, and a category column's categories."""
        return [
            {"name": c["name"], "kind": c["kind"], **({"categories": c["categories"]} if "categories" in c else {})}
            for c in self.columns
        ]

    def encode(self, table, dtype=np.float64, problems=None):
        """(inputs (m, width), unknown categories {column: {value: count}}) of a ``tables.Table`` that has every
        feature column. A cell a column cannot take is a ``UserError``; with ``problems`` (a dict) its row is
        recorded there instead (row -> message), and its inputs are those of a missing cell. So is a number whose
        input ``dtype`` cannot hold (``columns.held_by``)."""
        check_has_columns(table, self.feature_columns, "the model takes")
        check_encoded_memory(table, self.width, np.dtype(dtype).itemsize)
        out = np.zeros((table.rows, self.width), dtype=dtype)  # each kind writes its own inputs into its columns
        block = max(1, ENCODE_BLOCK_BYTES // max(1, self.width * out.itemsize))  # rows a block
        unknown, start, group, held = {}, 0, [], 0
        for column in self.columns:
            kind = KINDS[column["kind"]]
            width = len(kind.names(column["name"], column))
            cells = kind.values(table, column["name"], problems)
            if column["kind"] == "number":
                cells = held_by(table, column, cells, out.dtype, problems)
            group.append((column, kind, cells, slice(start, start + width)))
            start += width
            held += table.rows * CELL_BYTES
            if held >= GROUP_SHARE * out.nbytes:
                encode_blocks(group, out, block, unknown)
                group, held = [], 0
        if group:
            encode_blocks(group, out, block, unknown)
        return out, unknown

    def labels(self, table):
        """Class indices (m,) of a classification table's target (every cell present)."""
        pa, pc = arrow()
        cells = target_cells(table, self.target["columns"][0], self.target["kind"])
        index = pc.index_in(cells, value_set=pa.array(self.classes, type=pa.string()))
        labels = np.asarray(pc.fill_null(index, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
        unknown = np.flatnonzero(labels < 0)
        if unknown.size:
            i = int(unknown[0])
            raise UserError(
                f"{table.path}: {table.where(i)}, column {self.target['columns'][0]!r}: {cells[i].as_py()!r} is not a "
                f"class the model knows ({', '.join(map(repr, self.classes))})"
            )
        return labels

    def values(self, table):
        """A regression table's targets in their own units, (m, outputs)."""
        return np.column_stack([KINDS["number"].values(table, name) for name in self.target["columns"]])

    def standardised(self, values):
        return (values - np.asarray(self.target["mean"])) / np.asarray(self.target["std"])

    def in_units(self, outputs):
        """Network outputs (outputs, m), standardised, back in the targets' units: (m, outputs)."""
        return outputs.T * np.asarray(self.target["std"]) + np.asarray(self.target["mean"])


def target_cells(table, name, kind):
    """A classification target's cells as the names of classes, a pyarrow text column: text, numbers as
    written, booleans as ``false``/``true``."""
    pa, pc = arrow()
    if kind == "boolean":
        return pc.if_else(pa.array(KINDS["boolean"].values(table, name) == 1), "true", "false")
    return KINDS["category"].values(table, name)


def check_has_columns(table, names, role):
    have = set(table.names)  # a table of 100,000 columns: looked up, never searched
    missing = [name for name in names if name not in have]
    if missing:
        have = ", ".join(map(repr, table.names[:20])) + (", ..." if len(table.names) > 20 else "")
        raise UserError(
            f"{table.path}: no column {missing[0]!r}, which {role}"
            f"{f' (nor {len(missing) - 1} more)' if len(missing) > 1 else ''}; the file has {have}"
        )


# --- choosing and fitting --------------------------------------------------------------------------------


def as_list(value):
    return [] if value is None else [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class TableSpec:
    """What ``data`` says of a table's columns."""

    target: list
    features: list  # or None: every column but the target, ids and dropped ones
    drop: list
    ids: list
    kinds: dict  # column -> kind, overriding what is read
    max_categories: int
    min_category_count: int
    task: str  # auto, classification or regression

    @classmethod
    def of(cls, data):
        return cls(
            as_list(data["target"]),
            None if data["features"] is None else as_list(data["features"]),
            as_list(data["drop"]),
            as_list(data["id"]),
            dict(data["columns"] or {}),
            data["max_categories"],
            data["min_category_count"],
            data["task"],
        )

    @property
    def settings(self):
        return {"max_categories": self.max_categories, "min_category_count": self.min_category_count}


def chosen_columns(table, spec):
    """(target columns, feature columns) of a table, each checked to be in it."""
    if not spec.target:
        raise UserError("data.target: missing; name the column to predict (a table needs a target)")
    have = set(table.names)  # a table of 100,000 columns: looked up, never searched
    for key, names in (("data.target", spec.target), ("data.id", spec.ids), ("data.drop", spec.drop)):
        for name in names:
            if name not in have:
                raise UserError(f"{key}: {table.path} has no column {name!r}{close_name(name, table.names)}")
    for name in spec.kinds:
        if name not in have:
            raise UserError(f"data.columns: {table.path} has no column {name!r}{close_name(name, table.names)}")
    left_out = set(spec.target) | set(spec.ids) | set(spec.drop)
    if spec.features is None:
        features = [name for name in table.names if name not in left_out]
    else:
        features = spec.features
        for name in features:
            if name not in have:
                raise UserError(f"data.features: {table.path} has no column {name!r}{close_name(name, table.names)}")
            if name in left_out:
                raise UserError(
                    f"data.features: {name!r} is also the target, an id or dropped; a feature is none of them"
                )
    if not features:
        raise UserError(
            f"data.features: {table.path} has no column left to learn from besides the target, ids and dropped ones"
        )
    return spec.target, features


def close_name(name, names):
    import difflib

    close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def column_kind(table, name, spec):
    return spec.kinds.get(name) or inferred_kind(table, name)


def target_task(table, targets, spec):
    """(task, kind of the target) as ``data.task`` says, else as the target's kind is."""
    kinds = [column_kind(table, name, spec) for name in targets]
    if len(targets) > 1:
        if spec.task == "classification":
            raise UserError("data.target: several target columns are for regression; classify one column at a time")
        for name, kind in zip(targets, kinds, strict=True):
            if kind == "category":
                raise UserError(
                    f"data.target: {name!r} holds categories; several targets must all be numbers (regression)"
                )
        return "regression", "number"
    kind = kinds[0]
    if kind == "boolean" and targets[0] not in spec.kinds and is_text(table, targets[0]):
        kind = "category"  # a target of yes and no: its classes are those words, not false and true
    if spec.task != "auto":
        if spec.task == "regression" and kind == "category":
            raise UserError(f"data.task: regression needs a numeric target; {targets[0]!r} holds categories")
        return spec.task, ("category" if spec.task == "classification" and kind == "number" else kind)
    return ("regression", kind) if kind == "number" else ("classification", kind)


def is_text(table, name):
    import pyarrow as pa

    kind = table.columns.column(name).type
    return is_text_type(pa, kind)


def missing_targets(table, targets, kind):
    """Rows whose target cell is missing."""
    missing = np.zeros(table.rows, dtype=bool)
    for name in targets:
        if kind == "category":
            missing |= np.asarray(KINDS["category"].values(table, name).is_null().to_numpy(zero_copy_only=False))
        else:
            missing |= np.isnan(KINDS[kind].values(table, name))
    return missing


def class_order(values):
    """Classes in order: numbers by value (2 before 10), else as text; false before true."""
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


MAX_CLASSES = 1000  # a classification target with more distinct values is a number or an identifier


def fit_target(table, targets, task, kind):
    if task == "classification":
        return classification_target(table.path, targets, task, kind, counted(target_cells(table, targets[0], kind)))
    moments = [Moments().add(KINDS["number"].values(table, name)) for name in targets]
    return regression_target(table.path, targets, task, moments)


def classification_target(path, targets, task, kind, counts):
    """The fitted target of a classifier whose rows hold each class ``counts`` ({class: rows}) times."""
    classes = class_order(counts)
    if len(classes) > MAX_CLASSES:
        raise UserError(
            f"data.target: {targets[0]!r} has {len(classes):,} distinct values in {path}; a classifier takes at "
            f"most {MAX_CLASSES:,} classes (for a number to predict, set data.task: regression)"
        )
    if kind == "boolean":
        classes = ["false", "true"]
    if len(counts) < 2:
        only = next(iter(counts), None)
        raise UserError(
            f"data.target: {targets[0]!r} has one class ({only!r}) in the training rows of {path}; "
            "a classifier needs two or more"
        )
    return {"columns": targets, "task": task, "kind": kind, "classes": [str(c) for c in classes]}


def regression_target(path, targets, task, moments):
    """The fitted target of a regression whose target columns' numbers are in ``moments`` (``columns.Moments``)."""
    results = [m.result() for m in moments]
    for name, (_, _, std) in zip(targets, results, strict=True):
        if not std >= MIN_SPREAD:
            raise UserError(f"data.target: {name!r} has one value in every training row of {path}; nothing to learn")
    return {
        "columns": targets,
        "task": task,
        "mean": [mean for _, mean, _ in results],
        "std": [std for _, _, std in results],
    }


def grouped_text(path, name, distinct, rows, stats, spec):
    """A warning for a category column of ``distinct`` categories in ``rows`` rows whose categories did not all
    get an input of their own."""
    kept = len(stats["categories"])
    text = (
        f"{path}: column {name!r} has {distinct:,} categories; {kept} get an input of their own, the rest share 'other'"
    )
    if distinct > rows / 2:
        text += " (nearly one per row: an identifier? put it in data.id or data.drop)"
    return text + f" (data.max_categories {spec.max_categories}, data.min_category_count {spec.min_category_count})"


def fit_encoder(table, spec, file_table=None, warn=None):
    """The ``Encoder`` fitted on ``table``'s rows (the training rows only). The classes are those of
    ``file_table`` (the training file's rows, those held out for validation or test too): a class is what may be
    predicted, not a statistic, and a rare one may have no row left among the training rows. So are the kinds of
    the columns: a cell that is not a number, in a row held out, makes the column's kind no other than it is."""
    targets, features = chosen_columns(table, spec)
    in_file = set() if file_table is None else set(file_table.names)  # the estimators' may hold the target alone

    def every_row(names):
        return file_table if set(names) <= in_file else table

    task, kind = target_task(every_row(targets), targets, spec)
    columns = []
    for name in features:
        column_kind_ = column_kind(every_row([name]), name, spec)
        tally = KINDS[column_kind_].tally().add(KINDS[column_kind_].values(table, name))
        stats = tally.fitted(spec.settings)
        columns.append({"name": name, "kind": column_kind_, **stats})
        if warn and column_kind_ == "category" and stats["other"] and spec.features is None:
            warn(grouped_text(table.path, name, len(tally.counts), table.rows, stats, spec))
    target = fit_target(table, targets, task, kind)
    if task == "classification" and file_table is not None:
        target["classes"] = fit_target(file_table, targets, task, kind)["classes"]
    return check_saved_size(Encoder(columns, target, spec.ids), table.path)


# a checkpoint's JSON header holds at most 64 MiB (model/checkpoint.MAX_HEADER_BYTES): the encoder and the class
# names it repeats take at most half, the config, the history and the rest the other half
ENCODER_BYTES = 32 * 2**20


def check_saved_size(encoder, path):
    """``encoder``, refused before training when the checkpoint's header could not hold it (long category
    names, many of them, in many columns), naming the column that takes the most."""
    classes = len(json.dumps(encoder.classes or []))  # saved twice: in the encoder and as the model's classes
    size = len(json.dumps(encoder.header())) + classes
    if size <= ENCODER_BYTES:
        return encoder
    largest = max(encoder.columns, key=lambda column: len(json.dumps(column)), default=None)
    if largest is not None and len(json.dumps(largest)) >= classes:
        most = f"column {largest['name']!r} {len(json.dumps(largest)):,}"
        remedy = "lower data.max_categories, or leave the column out with data.drop"
    else:
        most = f"the names of the classes of {encoder.target['columns'][0]!r} {classes:,}"
        remedy = "predict fewer classes, or with shorter names"
    raise UserError(
        f"{path}: the model's encoding of the columns takes {size:,} bytes, more than the {ENCODER_BYTES:,} a "
        f"checkpoint keeps for it ({most} of them); {remedy}"
    )


# --- a checkpoint's encoder, read back ---------------------------------------------------------------------


def is_finite_number(value):
    """A JSON number a column's statistics may be: finite, within ``MAX_MAGNITUDE`` (what fitting gives), and an
    integer of any length is no error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value) and abs(value) <= MAX_MAGNITUDE
    except OverflowError:  # an integer too large for a float
        return False


def is_text_list(value):
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def is_spread(value):
    """A standard deviation fitting can give: within ``MIN_SPREAD`` and ``MAX_MAGNITUDE``."""
    return is_finite_number(value) and value >= MIN_SPREAD


def is_flag(value):
    return isinstance(value, bool)


COLUMN_FIELDS = {  # kind -> {field: whether a saved value fits}
    "number": {"mean": is_finite_number, "std": is_spread, "missing": is_flag},
    "category": {
        "categories": lambda v: is_text_list(v) and len(set(v)) == len(v),
        "other": is_flag,
        "missing": is_flag,
    },
    "boolean": {"mean": lambda v: is_finite_number(v) and 0 <= v <= 1, "missing": is_flag},
}
TARGET_FIELDS = {
    "classification": {"columns", "task", "kind", "classes"},
    "regression": {"columns", "task", "mean", "std"},
}
TARGET_KINDS = ("category", "boolean", "number")  # what a classifier's target column was read as


def from_header(raw, path):
    """The ``Encoder`` a checkpoint's header holds, every field checked as fitting gives it: a ``UserError``
    naming the file, so a header edited by hand is refused when it is loaded, never when it is used."""

    def bad(what):
        return UserError(f"{path}: header field 'table' {what}")

    if (
        not isinstance(raw, dict)
        or not set(raw) <= {"columns", "target", "ids"}
        or not isinstance(raw.get("columns"), list)
        or not isinstance(raw.get("target"), dict)
    ):
        raise bad("must hold 'columns', 'target' and 'ids', and nothing else")
    names = set()
    for column in raw["columns"]:
        if (
            not isinstance(column, dict)
            or not isinstance(column.get("name"), str)
            or not column["name"].strip()
            or not isinstance(column.get("kind"), str)
            or column["kind"] not in KINDS
        ):
            raise bad(f"has a column that is not a name and one of {', '.join(KINDS)}")
        fields = COLUMN_FIELDS[column["kind"]]
        if set(column) != {"name", "kind", *fields} or not all(fits(column[f]) for f, fits in fields.items()):
            raise bad(f"has a column {column['name']!r} whose {column['kind']} statistics are not readable")
        if column["name"] in names:
            raise bad(f"names column {column['name']!r} twice")
        names.add(column["name"])
    target = checked_target(raw["target"], bad)
    if names & set(target["columns"]):
        raise bad(f"has the column {sorted(names & set(target['columns']))[0]!r} as a feature and the target")
    ids = raw.get("ids", [])
    if not is_text_list(ids) or len(set(ids)) != len(ids) or set(ids) & (names | set(target["columns"])):
        raise bad("has ids that are not column names of their own (each once, neither a feature nor the target)")
    return Encoder([as_floats(column) for column in raw["columns"]], as_floats(target), ids)


STATISTICS = ("mean", "std")  # the numbers of a column's or a target's statistics, floats as fitting gives them


def as_floats(fields):
    """``fields`` with its statistics as floats: an integer a header was edited to hold would make NumPy's
    arrays of Python objects."""

    def floats(value):
        return [float(v) for v in value] if isinstance(value, list) else float(value)

    return {key: floats(value) if key in STATISTICS else value for key, value in fields.items()}


def checked_target(target, bad):
    task = target.get("task")
    columns = target.get("columns")
    if not isinstance(task, str) or task not in TASKS or not is_text_list(columns) or not columns:
        raise bad("has no readable target")
    if set(target) != TARGET_FIELDS[task] or len(set(columns)) != len(columns):
        raise bad(f"has a {task} target whose fields are not {', '.join(sorted(TARGET_FIELDS[task]))}")
    if task == "classification":
        classes = target["classes"]
        if not is_text_list(classes) or len(classes) < 2 or len(set(classes)) != len(classes) or len(columns) != 1:
            raise bad("has a classification target without two or more classes")
        if not isinstance(target["kind"], str) or target["kind"] not in TARGET_KINDS:
            raise bad("has a target of no kind")
        if target["kind"] == "boolean" and classes != ["false", "true"]:
            raise bad("has a boolean target whose classes are not false and true")
        return target
    for key, fits in (("mean", is_finite_number), ("std", is_spread)):
        values = target[key]
        if not isinstance(values, list) or len(values) != len(columns) or not all(map(fits, values)):
            what = (
                "a finite mean" if key == "mean" else f"a standard deviation from {MIN_SPREAD:g} to {MAX_MAGNITUDE:g}"
            )
            raise bad(f"has a regression target without {what} per column")
    return target


# --- encoded sets ---------------------------------------------------------------------------------------------


class EncodedTable:
    """What a table's rows are for the network, whether held in memory (``TableSet``) or read from disk a piece
    at a time (``streamed.StreamedSet``): the encoder's inputs and outputs."""

    @property
    def classes(self):
        return self.encoder.classes if self.encoder.task == "classification" else self.encoder.target["columns"]

    @property
    def input_shape(self):
        return (self.features,)

    @property
    def features(self):
        return self.encoder.width

    @property
    def task(self):
        return self.encoder.task

    def data_shape(self):
        regression = self.task == "regression"
        what = f"the table's inputs once encoded, {self.features} (auto takes it)"
        return DataShape(self.features, len(self.classes), regression, what, self.path)


@dataclass
class TableSet(EncodedTable):
    """Rows of a table encoded for the network, with their targets: what training, evaluate and the report
    use, as ``dataset.Dataset`` is for pictures."""

    inputs: np.ndarray  # (m, width), in the dtype it was encoded to (float64 unless a run's is float32)
    labels: np.ndarray  # (m,) class indices; None for regression
    values: np.ndarray  # (m, outputs) targets in their units; None for classification
    encoder: Encoder
    path: str
    positions: np.ndarray  # where each row is in its file: its line (CSV) or row (Parquet), for evaluate's records
    position_name: str  # line or row
    unknown: dict = field(default_factory=dict)  # column -> {category: count} without an input of their own
    ids: dict = None  # id column -> each row's cell, of rows a model is scored on (``table_sets.encoded_rows``)
    files = None  # no files: rows are named by their line
    on_disk = False

    @property
    def m(self):
        return self.inputs.shape[0]

    @property
    def counts(self):
        """Rows of each class (None for regression)."""
        return None if self.labels is None else np.bincount(self.labels, minlength=len(self.classes))

    @property
    def target_moments(self):
        """(mean, standard deviation) of each target in its units (None for classification)."""
        return None if self.values is None else [(float(v.mean()), float(v.std())) for v in self.values.T]

    def rows(self, dtype=np.float64):
        """The inputs in ``dtype``; an input a narrower dtype cannot hold (a float32 run's, beyond 3.4e38) is
        refused, naming its row and its column, as encoding in that dtype would (``columns.held_by``)."""
        if np.dtype(dtype).itemsize < self.inputs.itemsize:
            over = np.abs(self.inputs) > np.finfo(dtype).max
            if over.any():
                row, i = (int(n[0]) for n in np.nonzero(over))
                name = self.encoder.input_names[i]
                raise UserError(
                    f"{self.path}: {self.position_name} {self.positions[row]}, input {name!r}: "
                    f"{self.inputs[row, i]:g} standardised is beyond what a {np.dtype(dtype).name} run holds; "
                    "train the model in float64 (dtype: float64), or express the column in larger units"
                )
        return self.inputs.astype(dtype, copy=False)

    def targets(self, dtype=np.float64):
        """What the network learns, (outputs, m): standardised values for regression (classes are the engine's)."""
        return self.encoder.standardised(self.values).T.astype(dtype)

    def subset(self, indices):
        indices = np.asarray(indices)
        labels = None if self.labels is None else self.labels[indices]
        values = None if self.values is None else self.values[indices]
        ids = None if self.ids is None else {name: [cells[i] for i in indices] for name, cells in self.ids.items()}
        return TableSet(
            self.inputs[indices], labels, values, self.encoder, self.path, self.positions[indices],
            self.position_name, self.unknown, ids,
        )  # fmt: skip

    def parts(self):
        for start in range(0, self.m, PART_ROWS):
            yield self.subset(np.arange(start, min(start + PART_ROWS, self.m)))


def check_encoded_memory(table, width, itemsize):
    """Refuse rows whose inputs cannot fit in the memory available, before they are made: a few columns of many
    categories each can make a table's inputs many times its size."""
    needed, available = table.rows * width * itemsize, available_memory()
    if available is not None and needed > available:
        raise UserError(
            f"{table.path}: its {table.rows:,} rows encode to {width:,} inputs each, {gigabytes(needed)}, more than "
            f"the {gigabytes(available)} of memory available; lower data.max_categories, leave columns out with "
            "data.drop, or read it a batch at a time with data.in_memory: false"
        )


def encode_blocks(columns, out, block, unknown):
    """Write the inputs of ``columns`` ((column, kind, cells, slice of ``out``'s inputs)) into ``out`` a block of
    rows at a time, adding the cells without an input of their own to ``unknown``. A block of every column's
    inputs stays in the cache, where a column written down the whole matrix of rows would touch every row of it
    once per column (ten times slower on two million rows)."""
    for first in range(0, out.shape[0], block):
        rows = slice(first, min(first + block, out.shape[0]))
        for column, kind, cells, inputs in columns:
            part = cells[rows] if isinstance(cells, np.ndarray) else cells.slice(rows.start, rows.stop - rows.start)
            for value, count in kind.encode(part, column, out[rows, inputs]).items():
                found = unknown.setdefault(column["name"], {})
                found[value] = found.get(value, 0) + count


def joined(sets):
    """One ``TableSet`` of the rows of several, in order (of the same encoder and file)."""
    first = sets[0]
    if len(sets) == 1:
        return first

    def stacked(name):
        return None if getattr(first, name) is None else np.concatenate([getattr(s, name) for s in sets])

    unknown = {}
    for part in sets:
        for column, counts in part.unknown.items():
            merged = unknown.setdefault(column, {})
            for value, count in counts.items():
                merged[value] = merged.get(value, 0) + count
    ids = None if first.ids is None else {name: [cell for s in sets for cell in s.ids[name]] for name in first.ids}
    return TableSet(
        stacked("inputs"), stacked("labels"), stacked("values"), first.encoder, first.path, stacked("positions"),
        first.position_name, unknown, ids,
    )  # fmt: skip


def encoded_set(table, encoder, rows=None, dtype=np.float64):
    """The ``TableSet`` of a ``tables.Table`` (its ``rows``, all by default) under ``encoder``, its inputs in
    ``dtype`` (each computed in float64, then cast: the same numbers as a float64 set's ``rows(dtype)``)."""
    if rows is not None:
        table = table.select(rows)
    inputs, unknown = encoder.encode(table, dtype)
    labels = encoder.labels(table) if encoder.task == "classification" else None
    values = encoder.values(table) if encoder.task == "regression" else None
    return TableSet(inputs, labels, values, encoder, str(table.path), table.positions(), table.position_name, unknown)


def table_identity(table, targets):
    """What tells a training table from another, cheaply: its path, size, rows and a fingerprint of its
    column names, every target cell and ``FINGERPRINT_ROWS`` rows spread over it."""
    path, size = str(table.path), None
    if table.format != MEMORY:
        try:
            size = os.path.getsize(path)
        except OSError:
            pass
    digest = hashlib.sha256()
    digest.update(repr((table.names, table.rows)).encode("utf-8"))
    for name in targets:
        digest.update(repr(python_cells(table.columns.column(name))).encode("utf-8"))
    sample = np.unique(np.linspace(0, table.rows - 1, min(FINGERPRINT_ROWS, table.rows)).astype(np.int64))
    digest.update(repr(python_cells(table.columns.take(sample))).encode("utf-8"))
    return {"path": path, "size": size, "examples": table.rows, "fingerprint": digest.hexdigest()[:16]}


def shown_value(value):
    return format_number(value)
