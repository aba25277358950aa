"""A config's table as the sets a run trains, validates and tests on: read, split, encoded.

The rows are split first (a seeded, class-stratified ``data.test_fraction``, then
``training.validation_fraction`` as for pictures) and the encoder is fitted on the training rows alone, so no
statistic of a validation or test row reaches the model. A table read from disk a block at a time
(``data.in_memory``) is split and fitted in one pass over it (``streamed``).
"""

from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from ..text import plural
from .columns import arrow
from .dataset import TEST_STREAM, Sets, held_out
from .encoding import (
    TableSpec,
    chosen_columns,
    encoded_set,
    fit_encoder,
    missing_targets,
    table_identity,
    target_cells,
    target_task,
)  # fmt: skip
from .streamed import TEST, TRAIN, VALIDATION, WINDOW_PIECES, Pass, Split, TableStream
from .tables import fits_in_memory, python_cells, read_table

SHOWN_UNKNOWN = 3  # unknown categories named in a warning, per column


def read_with_targets(path, spec, delimiter, warn):
    """A table file, its rows without a target cell left out (a warning counts them)."""
    return with_targets(read_table(path, delimiter, warn), spec, warn)


def with_targets(table, spec, warn):
    """A table's rows without a target cell left out (a warning counts them)."""
    path = table.path
    targets, _ = chosen_columns(table, spec)
    _, kind = target_task(table, targets, spec)
    missing = missing_targets(table, targets, kind)
    if missing.all():
        raise UserError(
            f"{path}: no row has a value in the target column{'s' if len(targets) > 1 else ''} {', '.join(map(repr, targets))}"
        )
    if missing.any():
        if warn:
            warn(
                f"{path}: {plural(int(missing.sum()), 'row')} without a target value left out ({table.where(int(np.flatnonzero(missing)[0]))} is the first)"
            )
        table = table.select(np.flatnonzero(~missing))
    return table


def stratified_test_rows(labels_or_none, m, fraction, seed):
    """(kept, held out) row indices: ``fraction`` of each class held out (of all rows for regression), drawn by
    the seed; both in file order."""
    rng = np.random.default_rng([seed, TEST_STREAM])
    if labels_or_none is None:
        groups = [np.arange(m)]
    else:
        groups = [np.flatnonzero(labels_or_none == value) for value in np.unique(labels_or_none)]
    held = []
    for rows in groups:
        count = int(round(fraction * len(rows)))
        held.extend(rng.permutation(rows)[:count])
    held = np.sort(np.asarray(held, dtype=np.int64))
    if held.size == 0 or held.size == m:
        raise UserError(
            f"data.test_fraction: {fraction:g} of {m} rows holds out {held.size}; choose a share that leaves rows on both sides"
        )
    return np.setdiff1d(np.arange(m), held), held


def class_of_rows(table, encoder_spec):
    """Each row's class as a number (classes in text order), or None for regression."""
    targets, _ = chosen_columns(table, encoder_spec)
    task, kind = target_task(table, targets, encoder_spec)
    if task != "classification":
        return None
    pa, pc = arrow()
    cells = target_cells(table, targets[0], kind)
    names = sorted(str(name) for name in pc.unique(cells).to_pylist())
    index = pc.index_in(cells, value_set=pa.array(names, type=pa.string()))
    return np.asarray(index.to_numpy(zero_copy_only=False), dtype=np.int64)


def warn_unknown(path, unknown, warn):
    """A warning naming the categories of a table (``unknown``: {column: {value: count}}) that the model has no
    input for, a few per column."""
    if not warn or not unknown:
        return
    parts = []
    for column, counts in unknown.items():
        shown = sorted(counts.items(), key=lambda item: -item[1])[:SHOWN_UNKNOWN]
        names = ", ".join(f"{value!r} ({count})" for value, count in shown)
        more = len(counts) - len(shown)
        parts.append(f"{column}: {names}{f' and {more} more' if more > 0 else ''}")
    rows = sum(sum(counts.values()) for counts in unknown.values())
    warn(
        f"{path}: {plural(rows, 'cell')} {'holds' if rows == 1 else 'hold'} a category not learned in training; {'; '.join(parts)}"
    )


@dataclass
class SplitTables:
    file: object  # the training file's rows with a target (a ``tables.Table``)
    train: object  # those that are not test rows (validation rows among them)
    test: object  # the test rows: of data.test, or held out by data.test_fraction; None without


def split_tables(config, with_test=True, warn=None):
    """The rows of a config's table files, split as every run of it splits them."""
    data = config["data"]
    spec = TableSpec.of(data)
    delimiter = None if data["delimiter"] == "auto" else data["delimiter"]
    file_table = read_with_targets(data["train"], spec, delimiter, warn)
    train, test = file_table, None
    if data["test_fraction"]:
        labels = class_of_rows(file_table, spec)
        kept, held = stratified_test_rows(labels, file_table.rows, data["test_fraction"], config["seed"])
        train, test = file_table.select(kept), file_table.select(held)
    elif with_test and data["test"] is not None:
        test = read_with_targets(data["test"], spec, delimiter, warn)
    return SplitTables(file_table, train, test if with_test else None)


def streams(data, path):
    """Whether a table file is read from disk a block at a time: ``data.in_memory`` false, or auto and reading
    it whole would take more than half the available memory."""
    in_memory = data["in_memory"]
    return in_memory is False or (in_memory == "auto" and not fits_in_memory(path))


def delimiter_of(data):
    return None if data["delimiter"] == "auto" else data["delimiter"]


def piece_rows(data):
    return max(1, data["shuffle_window"] // WINDOW_PIECES)


def streamed_pass(config, path, split, keep, encoder=None, warn=None, spec=None, check=None):
    """The sets (split -> ``streamed.StreamedSet``) and the encoder of one pass over a table file; ``check`` is
    called before each block (``streamed.Pass``)."""
    data = config["data"]
    stream = TableStream(path, delimiter_of(data), warn)
    passed = Pass(stream, spec or TableSpec.of(data), split, keep, piece_rows(data), encoder, warn, check)
    sets, encoder = passed.run()
    return sets, encoder, passed


def load_streamed_sets(config, with_test, warn, check=None):
    """``load_table_sets`` of a table read from disk: one pass splits the rows by their numbers, fits the
    encoder on the training rows and keeps each split's rows on disk."""
    data, training = config["data"], config["training"]
    in_file = bool(data["test_fraction"])
    keep = [TRAIN] + [VALIDATION] * bool(training["validation_fraction"]) + [TEST] * (in_file and with_test)
    split = Split(config["seed"], data["test_fraction"], training["validation_fraction"])
    sets, encoder, passed = streamed_pass(config, data["train"], split, keep, warn=warn, check=check)
    for k, key, fraction in (
        (VALIDATION, "training.validation_fraction", split.validation),
        (TEST, "data.test_fraction", split.test),
    ):
        if k in sets and sets[k].m == 0:
            raise UserError(
                f"{key}: {fraction:g} drew no row of the {plural(passed.kept, 'row')} of {data['train']} (read from "
                "disk, each row is held out with that probability); choose a larger share"
            )
    test = sets.get(TEST)
    if not in_file and with_test and data["test"] is not None:
        test = test_file_set(config, data["test"], encoder, warn)
    for held in (sets.get(VALIDATION), test):
        if held is not None:
            warn_unknown(held.path, held.unknown, warn)
    return Sets(sets[TRAIN], sets.get(VALIDATION), test, passed.identity(), encoder)


def test_file_set(config, path, encoder, warn):
    """A test file encoded by ``encoder``: read whole, or from disk a block at a time as ``data.in_memory`` says."""
    data = config["data"]
    spec = TableSpec.of(data)
    if streams(data, path):
        return streamed_pass(config, path, Split(), [TRAIN], encoder, warn, spec)[0][TRAIN]
    return encoded_set(read_with_targets(path, spec, delimiter_of(data), warn), encoder)


def load_table_sets(config, with_test=True, warn=None, check=None, streamed=None):
    """The ``dataset.Sets`` of a resolved config whose data is a table: rows split, the encoder fitted on the
    training rows alone. ``check`` is called as a table read from disk is read, a block at a time; ``streamed``
    says whether it is (by default, as ``streams`` decides)."""
    if streamed is None:
        streamed = streams(config["data"], config["data"]["train"])
    if streamed:
        return load_streamed_sets(config, with_test, warn, check)
    return table_sets(config, split_tables(config, with_test, warn), warn)


def table_sets(config, tables, warn=None, encoder=None):
    """The ``dataset.Sets`` of a config's ``SplitTables``: ``training.validation_fraction`` held out of the training
    rows, the encoder fitted on those left (or ``encoder``, a trained model's, that continues on new rows)."""
    training = config["training"]
    table, validation_table = tables.train, None
    if training["validation_fraction"]:
        if table.rows < 2:
            raise UserError(f"training.validation_fraction: {table.path} has too few rows to hold some out")
        kept, held = held_out(table.rows, training["validation_fraction"], config["seed"])
        table, validation_table = table.select(kept), table.select(held)
    fitted_here = encoder is None
    if fitted_here:
        encoder = fit_encoder(table, TableSpec.of(config["data"]), tables.file, warn)
    dtype = np.dtype(config["dtype"]).type  # encoded in the run's dtype: a float32 run needs no float64 copy
    parts = (table, validation_table, tables.test)
    sets = [encoded_set(t, encoder, dtype=dtype) if t is not None else None for t in parts]
    for encoded in sets[1:] if fitted_here else sets:  # the rows an encoder was not fitted on
        if encoded is not None:
            warn_unknown(encoded.path, encoded.unknown, warn)
    return Sets(*sets, table_identity(tables.file, encoder.target["columns"]), encoder)


def table_split(config, split, encoder, warn=None):
    """The train or test rows of a config's table (as its runs split them) encoded by ``encoder``, a trained
    model's; None when the config has no test rows."""
    data = config["data"]
    if streams(data, data["train"]):
        return streamed_split(config, split, encoder, warn)
    tables = split_tables(config, split == "test", warn)
    table = tables.train if split == "train" else tables.test
    return None if table is None else encoded_rows(table, encoder, warn)


def encoded_rows(table, encoder, warn=None):
    """``encoded_set`` of rows a trained model is scored on, with their id cells (evaluate names each row by
    them); ``warn`` names the categories it has not seen."""
    table_set = encoded_set(table, encoder)
    table_set.ids = {name: python_cells(table.columns.column(name)) for name in encoder.ids if name in table.names}
    warn_unknown(table_set.path, table_set.unknown, warn)
    return table_set


def streamed_split(config, split, encoder, warn):
    """``table_split`` of a table read from disk: its train rows (validation rows among them) or test rows."""
    data = config["data"]
    if split == "test" and not data["test_fraction"]:
        if data["test"] is None:
            return None
        table_set = test_file_set(config, data["test"], encoder, warn)
    else:
        keep = TEST if split == "test" else TRAIN
        split_rows = Split(config["seed"], data["test_fraction"])
        table_set = streamed_pass(config, data["train"], split_rows, [keep], encoder, warn)[0][keep]
    warn_unknown(table_set.path, table_set.unknown, warn)
    return table_set
