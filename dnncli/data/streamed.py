"""Tables bigger than memory (``data.in_memory: false``, or ``auto`` for a file that does not fit): read a
block at a time, in one pass that fits the encoder and keeps the rows on disk in pieces.

The pass reads the file in blocks (a CSV file with pyarrow's ``open_csv``, a Parquet file in batches of
rows). Each row with a target is a training, validation or test row by its number alone (``row_draws``, a
function of the seed and the row's number), so every run of a config, its resume and ``dnn evaluate`` split
the file the same way without holding its rows. The encoder's statistics come from the training rows only,
as in memory, through the same tallies (``columns.KINDS``): a table streamed and the same rows in memory give
the very same numbers. Each split's rows go to a temporary Arrow IPC file (``RowStore``), a piece of
``data.shuffle_window / 8`` rows at a time, read back by piece: training draws its batches from a few pieces at
a time (``engine.trainer.PieceOrder``, ``run.feed.PieceSource``), scoring reads the pieces in order.

What differs from a table in memory:

- the split: in memory ``data.test_fraction`` holds out exactly its share of each class, and
  ``training.validation_fraction`` exactly its share of the rows; streamed, each row is held out with that
  probability, drawn from the seed and the row's number;
- the order of the batches: shuffled within windows of ``data.shuffle_window`` rows (eight pieces taken at
  random), not across the whole set; a window at least as large as the training rows gives in-memory's order;
- the kinds of the columns are read from the file's first block (whole numbers are boolean only if every
  training row holds 0 or 1); a column whose type changes further down (text in a column of numbers) is read
  again as text, and a cell that is then not what its kind takes is named with its line.

With the same training rows and one window, the encoder and every batch are those of training in memory, and
so is the model, to the last bit.
"""

import csv
import hashlib
import os
import re
import shutil
import tempfile
import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import UserError
from ..files import regular_file
from ..resources import no_such_process
from ..text import decimal_size, plural
from .columns import KINDS, NumberTally, counted
from .dataset import TEST_STREAM, VALIDATION_STREAM
from .encoding import (
    MAX_CLASSES,
    PART_ROWS,
    EncodedTable,
    Encoder,
    check_saved_size,
    chosen_columns,
    classification_target,
    column_kind,
    encoded_set,
    grouped_text,
    joined,
    missing_targets,
    regression_target,
    target_cells,
    target_task,
)
from .tables import (
    LONG_ROW_BLOCK,
    MISSING,
    SNIFF_BYTES,
    Table,
    blank_cells_missing,
    cells_text,
    check_column_count,
    check_parquet_types,
    check_text,
    csv_lines,
    csv_stream,
    first_bytes,
    has_blank_line,
    header_line,
    memory_to_read,
    parquet_file,
    position_name,
    pyarrow_modules,
    read_options,
    sniff_delimiter,
    table_kind,
    unique_names,
)

WINDOW_PIECES = 8  # pieces in a shuffle window: a piece is data.shuffle_window / 8 rows
READ_BLOCK = 1 << 20  # bytes of a CSV file parsed at a time: pyarrow holds about 40 times this while reading
PARQUET_BATCH = 65_536  # rows of a Parquet file read at a time
MAX_CATEGORIES_COUNTED = 200_000  # distinct values of a category column a pass keeps counts of
ROW = "dnn row"  # the stored rows' last column: each row's number in its file (read back by position, not name)
TRAIN, VALIDATION, TEST = 0, 1, 2
SPLIT_NAMES = ("train", "validation", "test")


def row_draws(seed, stream, rows):
    """A number in [0, 1) for each row number in ``rows``, a function of the seed, the stream and the number
    alone: SplitMix64's finaliser of the number, keyed by the seed and the stream."""
    key = np.random.SeedSequence([seed, stream]).generate_state(1, np.uint64)[0]
    x = np.asarray(rows).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + key
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * 2.0**-53


@dataclass(frozen=True)
class Split:
    """Which rows of a file are test and validation rows: each with its probability, drawn by its number."""

    seed: int = 0
    test: float = 0.0
    validation: float = 0.0

    def of(self, rows):
        """TRAIN, VALIDATION or TEST for each row number in ``rows``."""
        where = np.full(rows.size, TRAIN, dtype=np.int8)
        if self.test:
            where[row_draws(self.seed, TEST_STREAM, rows) < self.test] = TEST
        if self.validation:
            where[(where == TRAIN) & (row_draws(self.seed, VALIDATION_STREAM, rows) < self.validation)] = VALIDATION
        return where


# --- reading a file a block at a time -----------------------------------------------------------------------


class LongRow(Exception):
    """A CSV row longer than the blocks the file is read in: read again in larger ones."""


class Retype(Exception):
    """A CSV column whose cells further down are not of the type its first block gave it: read it as text."""

    def __init__(self, column):
        self.column = column


CONVERSION = re.compile(r"In CSV column #(\d+): .*CSV conversion error")
RAGGED = re.compile(r"Expected (\d+) columns, got (\d+)")


class TableStream:
    """A CSV or Parquet file read a block at a time, as ``tables.Table``s whose rows know their number in the
    file. The first block gives the columns' names and types (``first``); ``retype`` reads a column as text."""

    def __init__(self, path, delimiter=None, warn=None):
        self.path = Path(path)
        regular_file(self.path, "table")
        self.format = table_kind(self.path)
        self.delimiter = None
        self.records = False  # a cell holds a newline: rows are named by number, not by line
        self.blank_lines = False  # an empty line among the rows: a row's line is counted (tables.csv_lines)
        self.block = READ_BLOCK  # bytes parsed at a time, larger for a file with a longer row (``longer_blocks``)
        self.text = set()  # CSV columns read as text whatever their first block holds
        if self.format == "csv":
            check_text(self.path, first_bytes(self.path, SNIFF_BYTES))
            self.blank_lines = has_blank_line(self.path)
            self.header = header_line(self.path)
            self.delimiter = delimiter or sniff_delimiter(self.header)
            while True:
                try:
                    first = next(self.batches(types=None), None)
                    break
                except LongRow:
                    self.longer_blocks()
        else:
            pa, _, _, _ = pyarrow_modules()
            parquet = parquet_file(self.path)
            check_parquet_types(self.path, parquet.schema_arrow, pa)
            first = next(self.batches(), None)
        names = first.names if first is not None else self.file_names()
        check_column_count(self.path, len(names))
        self.names = unique_names(self.path, names, warn)
        if first is None or first.rows == 0:
            raise UserError(f"{self.path}: has a header but no rows")
        first.columns = first.columns.rename_columns(self.names)
        self.first = first
        self.types = self.read_types(first.columns.schema) if self.format == "csv" else None

    def longer_blocks(self):
        """Blocks 16 times larger, for a row longer than a block, up to the largest pyarrow reads (as a file read
        whole is read again in one block)."""
        if self.block >= LONG_ROW_BLOCK:
            raise UserError(f"{self.path}: a row is longer than pyarrow reads in one piece, 2 GB")
        self.block *= 16

    def file_names(self):
        if self.format == "parquet":
            return parquet_file(self.path).schema_arrow.names
        line = self.header[:-1] if self.header.endswith("\r") else self.header  # a line ended by \r\n
        return next(csv.reader([line], delimiter=self.delimiter), [])  # quoted as pyarrow reads them

    @staticmethod
    def read_types(schema):
        """A CSV file's column types as its first block gives them, but whole numbers read as floats (a later
        block may hold 2.5) and a column empty in the first block as text."""
        pa, _, _, _ = pyarrow_modules()
        types = {}
        for column in schema:
            kind = column.type
            types[column.name] = (
                pa.float64() if pa.types.is_integer(kind) else pa.string() if pa.types.is_null(kind) else kind
            )
        return types

    def retype(self, column):
        self.text.add(column)

    def column_types(self):
        pa, _, _, _ = pyarrow_modules()
        types = dict(self.types)
        types.update((self.names[i], pa.string()) for i in self.text)
        return {self.file_name(name): kind for name, kind in types.items() if self.file_name(name)}

    def file_name(self, name):
        """A column's name in the file's header (an unnamed column has none pyarrow could be told)."""
        i = self.names.index(name)
        return self.first_names[i] if self.first_names[i].strip() else None

    def batches(self, types=True):
        """The file's rows, a block at a time, as ``tables.Table``s (``origin``: each row's number)."""
        if self.format == "parquet":
            yield from self.parquet_batches()
            return
        pa, pacsv, _, _ = pyarrow_modules()
        convert = pacsv.ConvertOptions(
            strings_can_be_null=True,
            null_values=MISSING,
            quoted_strings_can_be_null=True,
            column_types=self.column_types() if types else None,
        )
        options = read_options(pacsv, self.header)
        options.block_size = min(max(options.block_size, self.block), LONG_ROW_BLOCK)
        parse = pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True)
        done = 0
        try:
            with csv_stream(self.path) as stream:
                reader = pacsv.open_csv(stream, read_options=options, parse_options=parse, convert_options=convert)
                if not types:
                    self.first_names = reader.schema.names
                while True:
                    try:
                        batch = reader.read_next_batch()
                    except StopIteration:
                        return
                    table = self.table(pa.Table.from_batches([batch]), done)
                    done += table.rows
                    yield table
        except pa.ArrowInvalid as e:
            raise self.csv_problem(str(e), done) from None
        except OSError as e:
            raise UserError(f"{self.path}: cannot read ({e.strerror or e})") from None

    def csv_problem(self, message, done):
        """The ``UserError`` (or ``Retype``) of a CSV file pyarrow could not read after ``done`` rows."""
        after = f"after line {done + 1}" if not self.records else f"after row {done}"
        if "Empty CSV file" in message:
            return UserError(f"{self.path}: empty; a table needs a header row and at least one row")
        if "UTF8" in message:
            return UserError(f"{self.path}: not UTF-8 text; save the table as UTF-8 CSV")
        if "straddl" in message:  # a row longer than a block
            return LongRow()
        conversion = CONVERSION.search(message)
        if conversion:
            return Retype(int(conversion.group(1)))
        ragged = RAGGED.search(message)
        if ragged:
            expected, got = ragged.groups()
            number = self.first_ragged_row()
            where = f"a row {after}" if number is None else self.named(number)
            return UserError(f"{self.path}: {where} {cells_text(int(got), int(expected), self.delimiter)}")
        return UserError(f"{self.path}: not a readable CSV table ({message.splitlines()[0]})")

    def first_ragged_row(self):
        """The number pyarrow gives the file's first row with another count of cells than the header (the header
        is 1), read again on one thread, as pyarrow numbers rows only so; None if it does not say."""
        pa, pacsv, _, _ = pyarrow_modules()
        found = []

        def ragged(row):
            found.append(row.number)
            return "error"

        parse = pacsv.ParseOptions(delimiter=self.delimiter, newlines_in_values=True, invalid_row_handler=ragged)
        as_text = pacsv.ConvertOptions(column_types=dict.fromkeys(getattr(self, "first_names", []), pa.string()))
        try:
            with csv_stream(self.path) as stream:
                reader = pacsv.open_csv(
                    stream, read_options=read_options(pacsv, self.header, False), parse_options=parse,
                    convert_options=as_text,
                )  # fmt: skip
                for _ in reader:
                    pass
        except (pa.ArrowInvalid, OSError):
            pass
        return found[0] if found else None

    def named(self, number):
        """Row ``number`` of the file as pyarrow counts them (the header 1, blank lines not at all) named as the
        file read whole names it: by its line, found by reading the file again (an error's cost alone)."""
        lines = csv_lines(self.path, self.delimiter)
        return f"line {lines[number - 2]}" if 0 <= number - 2 < len(lines) else f"row {number - 1}"

    def parquet_batches(self):
        pa, _, _, _ = pyarrow_modules()
        done = 0
        try:
            for batch in parquet_file(self.path).iter_batches(batch_size=PARQUET_BATCH):
                columns = pa.Table.from_batches([batch])
                for i, kind in enumerate(columns.schema.types):
                    if pa.types.is_dictionary(kind):  # each batch may have its own dictionary: stored as values
                        columns = columns.set_column(
                            i, columns.column_names[i], columns.column(i).cast(kind.value_type)
                        )
                table = self.table(columns, done)
                done += table.rows
                yield table
        except (pa.ArrowException, OSError, ValueError) as e:
            raise UserError(f"{self.path}: not a readable Parquet file ({str(e).splitlines()[0]})") from None

    def table(self, columns, done):
        names = getattr(self, "names", None)
        if names is not None:
            columns = columns.rename_columns(names)
            if self.format == "csv" and not self.records:
                self.records = holds_newline(columns)
        origin = np.arange(done, done + columns.num_rows, dtype=np.int64)
        if self.format == "csv":
            columns = blank_cells_missing(columns)
        return Table(columns, self.path, self.format, self.delimiter, self.blank_lines, origin, self.records)


def holds_newline(columns):
    """Whether a text cell holds a newline (so a CSV file's lines and rows no longer go together)."""
    pa, _, _, pc = pyarrow_modules()
    for column in columns.columns:
        if pa.types.is_string(column.type) and pc.any(pc.match_substring(column, "\n")).as_py():
            return True
    return False


# --- the rows on disk ------------------------------------------------------------------------------------


STORE_PREFIX = "dnn-rows-"  # then the process's id and a dash: a folder whose process is gone is left over


class RowStore:
    """A temporary folder holding the rows of a pass, an Arrow IPC file per split; removed when no set uses it
    any longer (or when dnn ends). One a killed process left behind is removed by the next."""

    def __init__(self, path, needed):
        remove_left_over_stores()
        self.folder = Path(tempfile.mkdtemp(prefix=f"{STORE_PREFIX}{os.getpid()}-"))
        self._remove = weakref.finalize(self, shutil.rmtree, str(self.folder), True)
        free = shutil.disk_usage(self.folder).free
        if needed > free:
            self._remove()
            raise UserError(
                f"{path}: read from disk, its rows are kept in {self.folder.parent} as they are read, about "
                f"{decimal_size(needed)}, and {decimal_size(free)} is free there; set TMPDIR to a folder with room"
            )


def remove_left_over_stores():
    """Remove the row folders of dnn processes that are gone (a ``kill -9``, a power cut): a store is as large as
    its table, and nothing else would ever remove it."""
    for folder in Path(tempfile.gettempdir()).glob(f"{STORE_PREFIX}*-*"):
        pid = folder.name[len(STORE_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and no_such_process(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


class PieceWriter:
    """Rows written to an Arrow IPC file in pieces of ``piece_rows`` rows, one record batch each."""

    def __init__(self, path, piece_rows):
        self.path = path
        self.piece_rows = piece_rows
        self.pending, self.pending_rows = [], 0
        self.sink = self.writer = None
        self.rows = 0

    def add(self, columns):
        if columns.num_rows == 0:
            return
        self.pending.append(columns)
        self.pending_rows += columns.num_rows
        if self.pending_rows >= self.piece_rows:
            pa, _, _, _ = pyarrow_modules()
            rows = pa.concat_tables(self.pending)
            whole = rows.num_rows - rows.num_rows % self.piece_rows
            for start in range(0, whole, self.piece_rows):
                self.write(rows.slice(start, self.piece_rows))
            self.pending = [rows.slice(whole)]
            self.pending_rows = rows.num_rows - whole

    def write(self, piece):
        pa, _, _, _ = pyarrow_modules()
        if self.writer is None:
            self.sink = pa.OSFile(str(self.path), "wb")
            self.writer = pa.ipc.new_file(self.sink, piece.schema)
        self.writer.write_batch(piece.combine_chunks().to_batches()[0])
        self.rows += piece.num_rows

    def close(self):
        """The rows written, as ``Pieces`` (None for none)."""
        if self.pending_rows:
            pa, _, _, _ = pyarrow_modules()
            self.write(pa.concat_tables(self.pending))
        self.pending, self.pending_rows = [], 0
        if self.writer is None:
            return None
        self.writer.close()
        self.sink.close()
        return Pieces(self.path, self.rows, self.piece_rows)


class Pieces:
    """Rows on disk read back a piece at a time (not memory-mapped: what is read is freed once used)."""

    def __init__(self, path, rows, piece_rows):
        pa, _, _, _ = pyarrow_modules()
        self.path = path
        self.rows = rows
        self.piece_rows = piece_rows
        self.reader = pa.ipc.open_file(pa.OSFile(str(path)))
        self.count = self.reader.num_record_batches
        self.lock = threading.Lock()  # a read-ahead thread and the trainer may ask at once

    def read(self, pieces):
        """The rows of ``pieces`` (piece numbers), in that order, as a pyarrow Table."""
        pa, _, _, _ = pyarrow_modules()
        with self.lock:
            batches = [self.reader.get_batch(int(p)) for p in pieces]
        return pa.Table.from_batches(batches)


# --- a split's rows, for the network ---------------------------------------------------------------------------


@dataclass
class StreamedSet(EncodedTable):
    """The rows of one split of a streamed table (``Pieces`` on disk), encoded a piece at a time by the same
    ``Encoder`` as in memory: what training (``run.feed.PieceSource``), scoring and evaluate read."""

    encoder: Encoder
    path: str
    pieces: object  # ``Pieces``, or None for no rows
    stream: object  # the ``TableStream`` the rows were read from: their format, delimiter and naming
    counts: np.ndarray = None  # rows of each class; None for regression
    target_moments: list = None  # (mean, standard deviation) of each target; None for classification
    unknown: dict = field(default_factory=dict)  # column -> {category: count} without an input of their own
    store: object = None  # the ``RowStore`` the pieces are in, kept as long as this set is
    window_pieces: int = WINDOW_PIECES
    files = None
    on_disk = True

    @property
    def m(self):
        return 0 if self.pieces is None else self.pieces.rows

    @property
    def piece_rows(self):
        return self.pieces.piece_rows

    @property
    def position_name(self):
        return position_name(self.stream.format, self.stream.records)

    def read(self, pieces, dtype=np.float64):
        """The ``TableSet`` of the rows of ``pieces``, in that order, its inputs in ``dtype``."""
        columns = self.pieces.read(pieces)
        width = columns.num_columns - 1
        origin = np.asarray(columns.column(width).to_numpy(), dtype=np.int64)
        rows = columns.select(range(width))
        s = self.stream
        table = Table(rows, s.path, s.format, s.delimiter, s.blank_lines, origin, s.records)
        return encoded_set(table, self.encoder, dtype=dtype)

    def parts(self):
        """The rows ``PART_ROWS`` at a time, in order, as ``TableSet``s (as a ``TableSet``'s own parts)."""
        if self.m == 0:
            return
        group = max(1, PART_ROWS // self.piece_rows)  # pieces read at a time
        left = None
        for first in range(0, self.pieces.count, group):
            rows = self.read(range(first, min(first + group, self.pieces.count)))
            rows = rows if left is None else joined([left, rows])
            whole = rows.m - rows.m % PART_ROWS if first + group < self.pieces.count else rows.m
            for start in range(0, whole, PART_ROWS):
                yield rows.subset(np.arange(start, min(start + PART_ROWS, whole)))
            left = rows.subset(np.arange(whole, rows.m)) if whole < rows.m else None

    def subset(self, indices):
        """The rows ``indices`` (numbers among this set's rows), in memory: read a piece at a time, each piece's
        rows kept, so memory follows the rows taken, not the pieces they are spread over."""
        indices = np.asarray(indices, dtype=np.int64)
        pieces = indices // self.piece_rows
        order = np.argsort(pieces, kind="stable")  # the rows grouped by piece, each group in the given order
        grouped, starts = indices[order], np.flatnonzero(np.diff(pieces[order], prepend=-1))
        taken = [
            self.read([piece]).subset(rows - piece * self.piece_rows)
            for piece, rows in zip(pieces[order][starts], np.split(grouped, starts[1:]), strict=True)
        ]
        if not taken:  # no rows: the columns of the first piece, none of its rows
            return self.read([0]).subset(indices)
        return joined(taken).subset(np.argsort(order, kind="stable"))

    @cached_property
    def held(self):
        """(labels, values, positions) of every row, read a part at a time: the targets and where each row is,
        never the inputs, so memory follows the rows' count, not their width."""
        parts = [(part.labels, part.values, part.positions) for part in self.parts()]

        def joined_arrays(i):
            arrays = [part[i] for part in parts]
            return None if not arrays or arrays[0] is None else np.concatenate(arrays)

        return joined_arrays(0), joined_arrays(1), joined_arrays(2)

    @property
    def labels(self):
        """Every row's class (read from disk: for evaluate's rows and calibration, not for training)."""
        return self.held[0]

    @property
    def values(self):
        return self.held[1]

    @property
    def positions(self):
        return self.held[2]


# --- the pass -----------------------------------------------------------------------------------------------------


@dataclass
class SplitRows:
    """What a pass keeps of one split: its rows on disk, its targets' counts and its categories' counts."""

    writer: PieceWriter
    classes: dict = field(default_factory=dict)  # class -> rows (classification)
    moments: list = None  # a ``NumberTally`` per target (regression)
    categories: dict = field(default_factory=dict)  # category column -> {value: rows}


class Pass:
    """One read of a table file: each row with a target to its split, the training rows' statistics tallied
    (unless ``encoder`` is given), the rows kept on disk; ``check`` is called before each block."""

    def __init__(self, stream, spec, split, keep, piece_rows, encoder=None, warn=None, check=None):
        self.stream, self.spec, self.split, self.keep = stream, spec, split, keep
        self.piece_rows, self.encoder, self.warn = piece_rows, encoder, warn
        self.check = check or (lambda: None)  # called at each block: a run's signal stops a long pass there
        first = stream.first
        self.targets, features = chosen_columns(first, spec)
        self.task, self.kind = target_task(first, self.targets, spec)
        if encoder is not None:
            features = encoder.feature_columns
            self.kinds = {column["name"]: column["kind"] for column in encoder.columns}
            pa, _, _, _ = pyarrow_modules()
            self.known = {  # each category column's categories with an input of their own
                column["name"]: pa.array(column["categories"], type=pa.string())
                for column in encoder.columns
                if column["kind"] == "category"
            }
        else:
            self.kinds = {name: column_kind(first, name, spec) for name in features}
        self.features = features
        self.stored = list(dict.fromkeys([*features, *self.targets]))
        # whole numbers read as boolean from the first block: boolean only if every training row holds 0 or 1
        self.maybe_boolean = {
            name for name in features
            if encoder is None and self.kinds[name] == "boolean" and name not in spec.kinds
            and is_whole_number(first, name)
        }  # fmt: skip

    def run(self):
        """Reads the file; again with a column read as text when a later block does not fit its first type, or
        in larger blocks when a row is longer than one."""
        while True:
            try:
                return self.read()
            except LongRow:
                self.stream.longer_blocks()
            except Retype as e:
                if e.column in self.stream.text:
                    raise UserError(
                        f"{self.stream.path}: column {self.stream.names[e.column]!r} cannot be read"
                    ) from None
                self.stream.retype(e.column)

    def read(self):
        stream = self.stream
        self.store = RowStore(stream.path, memory_to_read(stream.path))
        self.splits = {
            k: SplitRows(PieceWriter(self.store.folder / f"{SPLIT_NAMES[k]}.arrow", self.piece_rows)) for k in self.keep
        }
        for rows in self.splits.values():
            rows.moments = [NumberTally() for _ in self.targets] if self.task == "regression" else None
        self.tallies = {name: KINDS[kind].tally() for name, kind in self.kinds.items()}
        self.as_numbers = {name: NumberTally() for name in self.maybe_boolean}  # if they are not 0 and 1 after all
        self.binary = dict.fromkeys(self.maybe_boolean, True)
        self.all_classes = {}
        self.missing, self.first_missing, self.kept = 0, None, 0
        self.digest = hashlib.sha256(repr(stream.names).encode("utf-8"))
        for table in stream.batches():
            self.check()
            self.add(table)
        return self.finish()

    def add(self, table):
        pa, _, _, pc = pyarrow_modules()
        missing = missing_targets(table, self.targets, self.kind)
        if missing.any():
            if self.first_missing is None:
                self.first_missing = table.where(int(np.flatnonzero(missing)[0]))
            self.missing += int(missing.sum())
            table = table.select(np.flatnonzero(~missing))
        if table.rows == 0:
            return
        self.kept += table.rows
        where = self.split.of(table.origin)
        masks = {k: where == k for k in self.splits}
        train = where == TRAIN
        self.fingerprint(table)
        for name in self.features:
            kind = "number" if name in self.maybe_boolean else self.kinds[name]
            cells = KINDS[kind].values(table, name)
            if self.encoder is None:
                trained = (
                    cells if train.all() else cells[train] if kind != "category" else pc.filter(cells, pa.array(train))
                )
                self.tallies[name].add(trained)
                if name in self.binary:
                    self.as_numbers[name].add(trained)
                    present = trained[~np.isnan(trained)]
                    self.binary[name] = self.binary[name] and bool(np.all((present == 0) | (present == 1)))
                if kind == "category":
                    check_categories(table.path, name, self.tallies[name].counts)
            if kind == "category":
                for k, rows in self.splits.items():
                    if k != TRAIN or self.encoder is not None:
                        held = pc.filter(cells, pa.array(masks[k]))
                        if self.encoder is not None:  # only what has no input of its own is ever reported
                            held = pc.filter(held, pc.invert(pc.is_in(held, value_set=self.known[name])))
                        counts = rows.categories.setdefault(name, {})
                        add_counts(counts, counted(held))
                        check_categories(table.path, name, counts)  # bounded as the training rows' are
        self.add_targets(table, masks)
        stored = table.columns.select(self.stored).append_column(ROW, pa.array(table.origin))
        for k, rows in self.splits.items():
            rows.writer.add(stored if masks[k].all() else stored.filter(pa.array(masks[k])))

    def add_targets(self, table, masks):
        pa, _, _, pc = pyarrow_modules()
        if self.task == "classification":
            cells = target_cells(table, self.targets[0], self.kind)
            add_counts(self.all_classes, counted(cells))
            if len(self.all_classes) > MAX_CLASSES:
                classification_target(table.path, self.targets, self.task, self.kind, self.all_classes)
            for k, rows in self.splits.items():
                add_counts(rows.classes, counted(pc.filter(cells, pa.array(masks[k]))))
            return
        for i, name in enumerate(self.targets):
            values = KINDS["number"].values(table, name)
            for k, rows in self.splits.items():
                rows.moments[i].add(values[masks[k]])

    def fingerprint(self, table):
        pa, _, _, _ = pyarrow_modules()
        targets = table.columns.select(self.targets).combine_chunks().to_batches()[0]
        self.digest.update(targets.serialize())

    def fitted(self):
        """The ``Encoder`` the training rows' tallies give."""
        path, spec, train = self.stream.path, self.spec, self.splits[TRAIN]
        columns = []
        for name in self.features:
            kind, tally = self.kinds[name], self.tallies[name]
            if name in self.maybe_boolean and not self.binary[name]:
                kind, tally = "number", self.as_numbers[name]
            stats = tally.fitted(spec.settings)
            columns.append({"name": name, "kind": kind, **stats})
            if self.warn and kind == "category" and stats["other"] and spec.features is None:
                self.warn(grouped_text(path, name, len(tally.counts), train.writer.rows, stats, spec))
        if self.task == "classification":
            target = classification_target(path, self.targets, self.task, self.kind, train.classes)
            target["classes"] = classification_target(path, self.targets, self.task, self.kind, self.all_classes)[
                "classes"
            ]
        else:
            target = regression_target(path, self.targets, self.task, [t.moments for t in train.moments])
        return check_saved_size(Encoder(columns, target, spec.ids), path)

    def finish(self):
        path = self.stream.path
        if self.kept == 0:
            plural_s = "s" if len(self.targets) > 1 else ""
            raise UserError(
                f"{path}: no row has a value in the target column{plural_s} {', '.join(map(repr, self.targets))}"
            )
        if self.missing and self.warn:
            self.warn(
                f"{path}: {plural(self.missing, 'row')} without a target value left out ({self.first_missing} is the first)"
            )
        pieces = {k: rows.writer.close() for k, rows in self.splits.items()}
        if TRAIN in self.splits and pieces[TRAIN] is None:
            raise UserError(
                f"{path}: every row was drawn as a test or validation row; lower data.test_fraction or "
                "training.validation_fraction"
            )
        encoder = self.encoder if self.encoder is not None else self.fitted()
        sets = {}
        for k, rows in self.splits.items():
            counts = targets = None
            if self.task == "classification":
                counts = np.array([rows.classes.get(c, 0) for c in encoder.classes], dtype=np.int64)
            else:
                targets = [tuple(t.moments.result()[1:]) for t in rows.moments]
            unknown = unknown_categories(rows.categories, encoder)
            sets[k] = StreamedSet(encoder, str(path), pieces[k], self.stream, counts, targets, unknown, self.store)
        return sets, encoder

    def identity(self):
        size = self.stream.path.stat().st_size
        return {
            "path": str(self.stream.path),
            "size": size,
            "examples": self.kept,
            "fingerprint": self.digest.hexdigest()[:16],
        }


def is_whole_number(table, name):
    pa, _, _, _ = pyarrow_modules()
    return pa.types.is_integer(table.columns.column(name).type)


def check_categories(path, name, counts):
    if len(counts) > MAX_CATEGORIES_COUNTED:
        raise UserError(
            f"{path}: column {name!r} has over {MAX_CATEGORIES_COUNTED:,} categories; a table read from disk counts "
            "at most that many (an identifier? put it in data.id or data.drop)"
        )


def add_counts(into, counts):
    for value, count in counts.items():
        into[value] = into.get(value, 0) + count


def unknown_categories(counts, encoder):
    """{column: {value: rows}} of the categories of ``counts`` that have no input of their own."""
    unknown = {}
    for column in encoder.columns:
        if column["kind"] == "category" and column["name"] in counts:
            kept = set(column["categories"])
            found = {v: c for v, c in counts[column["name"]].items() if v not in kept}
            if found:
                unknown[column["name"]] = found
    return unknown
