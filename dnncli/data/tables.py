"""Tables: a CSV or Parquet file read into columns, checked, with a way back from a row to its line.

pyarrow reads both (``ReadOptions``, ``ParseOptions`` and ``ConvertOptions`` keep reading, splitting and
typing apart; Parquet carries its own types). What a file declares (its size, a Parquet file's rows and
columns) is checked before its data is read. Every problem a file can have ends in a ``UserError`` naming the
file and, where there is one, the line and the column.

A CSV file has a header row, any of the delimiters ``DELIMITERS`` (found from the header line unless given),
double-quoted cells that may hold the delimiter, quotes or newlines, UTF-8 text with or without a byte-order
mark, and may be gzipped (``.csv.gz``). Cells that are empty or read ``NA``, ``NaN``, ``null`` and the like
are missing.
"""

import codecs
import csv
import functools
import gzip
import io
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config.schema import table_format
from ..errors import UserError
from ..files import regular_file
from ..resources import MEMORY_SHARE, available_memory
from ..text import gigabytes, plural

DELIMITERS = (",", ";", "\t", "|")
MAX_COLUMNS = 100_000  # feature columns are encoded side by side; beyond this a table is not one dnn can learn from
SNIFF_BYTES = 64 * 1024  # read to tell text from a binary file
MAX_HEADER_BYTES = 64 * 2**20  # a header line longer than this is not a header
GZIP_MOST_RATIO = 1032  # deflate's largest expansion: a gzip file never decompresses to more than this times its size
LONG_ROW_BLOCK = 2**31 - 1  # pyarrow's largest block: a file whose rows do not fit its usual blocks is read in one
READ_ERRORS = (OSError, EOFError, zlib.error)  # a file that cannot be read, or a damaged gzip stream
# cells read as missing: pyarrow's defaults, and the spellings spreadsheets and R write
MISSING = ["", "NA", "N/A", "n/a", "NaN", "nan", "-NaN", "-nan", "NULL", "null", "None", "#N/A", "#NA", "<NA>", "?"]
PARQUET_MAGIC = b"PAR1"
COUNTED_ROWS = ("parquet", "json")  # formats whose rows are named by their number (from 1), not by a line
MEMORY = "memory"  # the format of a table that no file holds: a DataFrame's or arrays' rows (the Python estimators')


def pyarrow_modules():
    """pyarrow's CSV, Parquet and compute modules (a runtime dependency of dnn, loaded only for tables)."""
    try:
        import pyarrow
        import pyarrow.compute
        import pyarrow.csv
        import pyarrow.parquet
    except ImportError:  # pragma: no cover - pyarrow is installed with dnn
        raise UserError("tables need pyarrow, which dnn installs: pip install pyarrow") from None
    return pyarrow, pyarrow.csv, pyarrow.parquet, pyarrow.compute


def position_name(kind, records=False):
    """What names a row of a file of ``kind``: a CSV file's line, or (Parquet, a CSV whose cells hold newlines,
    ``records``) its number among the rows."""
    return "line" if kind == "csv" and not records else "row"


@dataclass
class Table:
    """A table read from ``path``: its columns (a ``pyarrow.Table``, names unique and non-empty), and where each
    of its rows is in the file, to name it in a message (a line of a CSV file, a row of a Parquet file)."""

    columns: object  # pyarrow.Table
    path: Path  # the file; for a table in memory, the name it goes by in messages (X)
    format: str  # csv, parquet, json (rows sent to `dnn serve`) or memory
    delimiter: str = None
    multiline: bool = False  # rows and lines do not simply follow each other (a cell holds a newline, a line is blank)
    origin: np.ndarray = None  # each row's number among the file's rows (0-based); None: the file's rows in order
    records: bool = False  # rows named by their number among the file's rows, not their line (see ``streamed``)

    @property
    def rows(self):
        return self.columns.num_rows

    @property
    def names(self):
        return self.columns.column_names

    def positions(self, rows=slice(None)):
        """Where rows are in the file: their lines (the header is line 1) or, in Parquet, their rows (from 1); in
        memory, their positions (from 0, as Python counts)."""
        in_file = (np.arange(self.rows) if self.origin is None else self.origin)[rows]
        if self.format == MEMORY:
            return in_file
        if self.format in COUNTED_ROWS or self.records:
            return in_file + 1
        if not self.multiline:
            return in_file + 2
        return csv_lines(self.path, self.delimiter)[in_file]

    @property
    def position_name(self):
        return position_name(self.format, self.records)

    def where(self, row):
        """Where row ``row`` of this table is, for a message: ``line 12`` (CSV) or ``row 11`` (Parquet)."""
        return f"{self.position_name} {int(self.positions([row])[0])}"

    def select(self, rows):
        rows = np.asarray(rows, dtype=np.int64)
        origin = rows if self.origin is None else self.origin[rows]
        return Table(
            self.columns.take(rows), self.path, self.format, self.delimiter, self.multiline, origin, self.records
        )


# --- CSV -----------------------------------------------------------------------------------------------


def open_text(path):
    """The file's bytes, decompressed when it is gzipped."""
    raw = open(path, "rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw)
    raw.seek(0)
    return raw


def first_bytes(path, n):
    try:
        with open_text(path) as f:
            return f.read(n)
    except READ_ERRORS as e:
        raise cannot_read(path, e) from None


def cannot_read(path, error):
    return UserError(f"{path}: cannot read ({getattr(error, 'strerror', None) or error})")


def check_text(path, start):
    """A CSV file is UTF-8 text: a binary file (a picture, an archive) or another encoding is refused at once."""
    if not start:
        raise UserError(f"{path}: empty; a table needs a header row and at least one row")
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UserError(f"{path}: UTF-16 text; save the table as UTF-8 CSV")
    if b"\0" in start:
        raise UserError(f"{path}: a binary file, not CSV text")
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as e:
        if len(start) < SNIFF_BYTES or e.reason != "unexpected end of data":  # not a character cut by the end of
            raise not_utf8(path, start, e) from None  # what was read


def not_utf8(path, data, error):
    byte = f"byte {error.start + 1} is 0x{data[error.start]:02x}"
    return UserError(f"{path}: not UTF-8 text ({byte}); save the table as UTF-8 CSV")


def header_line(path):
    """The header row's text (up to its first newline outside quotes), read in one pass: each newline is looked
    up once, and the quotes before it counted (an even count: it is outside quotes)."""
    data, scanned, quotes = bytearray(), 0, 0
    try:
        with open_text(path) as f:
            while True:
                chunk = f.read(SNIFF_BYTES)
                data += chunk
                while (newline := data.find(b"\n", scanned)) >= 0:
                    quotes += data.count(b'"', scanned, newline)
                    scanned = newline + 1
                    if quotes % 2 == 0:
                        return header_text(path, data[:newline])
                quotes += data.count(b'"', scanned)
                scanned = len(data)
                if not chunk:
                    return header_text(path, data)
                if len(data) > MAX_HEADER_BYTES:
                    raise UserError(
                        f"{path}: the header row is longer than {MAX_HEADER_BYTES // 2**20} MiB; not a table"
                    )
    except READ_ERRORS as e:
        raise cannot_read(path, e) from None


def header_text(path, data):
    """The header line's text: pyarrow checks that cells are UTF-8, not that column names are."""
    try:
        return bytes(data).decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as e:
        raise not_utf8(path, data, e) from None


def delimiters_in(line, delimiter):
    """How many times ``delimiter`` is in ``line`` outside double quotes."""
    return sum(part.count(delimiter) for part in line.split('"')[::2])


def sniff_delimiter(line):
    """The delimiter of a header line: the candidate found most often outside quotes (a comma when none is)."""
    counts = {d: delimiters_in(line, d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def line_a_row(path, rows):
    """Whether each of a CSV file's ``rows`` rows is one line, after the header's: the file has ``rows`` + 1
    lines, no blank line (pyarrow skips one) and no cell holding a newline (pyarrow parses one even when not
    told to look for them), so row i is line i + 2. Counted a megabyte at a time."""
    lines, last = 0, b"\n"
    try:
        with open_text(path) as f:
            while chunk := f.read(1 << 20):
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except READ_ERRORS as e:
        raise cannot_read(path, e) from None
    return lines + (last != b"\n") == rows + 1


def has_blank_line(path):
    """Whether a CSV file holds an empty line after its header (pyarrow skips one, so rows and lines part ways),
    found a megabyte at a time."""
    tail = b""
    try:
        with open_text(path) as f:
            f.readline()  # the header's line
            while chunk := f.read(1 << 20):
                text = tail + chunk
                if b"\n\n" in text or b"\n\r\n" in text or (not tail and chunk.startswith((b"\n", b"\r\n"))):
                    return True
                tail = text[-2:]
    except READ_ERRORS as e:
        raise cannot_read(path, e) from None
    return False


def csv_lines(path, delimiter):
    """The line (1-based, the header is line 1) where each data row begins, counted by Python's csv reader, so
    cells holding newlines and blank lines count as the file has them. Only for a file that has such lines, for
    messages; kept for the file as it is (a table read from disk asks again for each piece it reads)."""
    found = os.stat(path)
    return counted_lines(str(path), delimiter, found.st_size, found.st_mtime_ns)


@functools.lru_cache(maxsize=2)
def counted_lines(path, delimiter, size, modified):
    starts = []
    csv.field_size_limit(max(csv.field_size_limit(), LONG_ROW_BLOCK))  # a cell as long as pyarrow reads
    try:
        with open_text(path) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
            reader = csv.reader(text, delimiter=delimiter)
            next(reader, None)
            start = reader.line_num + 1
            for row in reader:
                if row:  # a blank line is no row (pyarrow skips it)
                    starts.append(start)
                start = reader.line_num + 1
    except (OSError, csv.Error, EOFError):
        pass
    return np.asarray(starts, dtype=np.int64)


def read_options(pacsv, header, use_threads=True, block=None):
    """pyarrow's reading in blocks of 1 MiB, or ``block`` bytes, that hold the header line whole."""
    block = max(block or 1 << 20, 2 * len(header.encode("utf-8")) + 1024)
    return pacsv.ReadOptions(use_threads=use_threads, block_size=min(block, LONG_ROW_BLOCK))


def is_gzipped(path):
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def csv_stream(path):
    """The file as pyarrow reads it: decompressed when it is gzipped, whatever its name."""
    pa, _, _, _ = pyarrow_modules()
    return pa.input_stream(str(path), compression="gzip" if is_gzipped(path) else None)


def parsed_csv(path, pacsv, header, parse, convert, use_threads=True):
    """pyarrow's read of a CSV file in its usual blocks; a file with a row longer than one (a cell of megabytes)
    is read again in one block as large as the file."""
    pa, _, _, _ = pyarrow_modules()
    block = None
    while True:
        try:
            with csv_stream(path) as stream:
                return pacsv.read_csv(
                    stream,
                    read_options=read_options(pacsv, header, use_threads, block),
                    parse_options=parse,
                    convert_options=convert,
                )
        except pa.ArrowInvalid as e:
            if "straddl" not in str(e) or block is not None:
                raise
            block = estimated_csv_memory(path) + 1


def blank_cells_missing(columns):
    """A CSV file's columns with the text cells that hold only spaces or tabs missing, as an empty cell is (a
    column of numbers with a few such cells is read as text; ``columns.inferred_kind`` reads it as numbers)."""
    pa, _, _, pc = pyarrow_modules()
    for i, field_ in enumerate(columns.schema):
        if pa.types.is_string(field_.type) or pa.types.is_large_string(field_.type):
            blank = pc.equal(pc.utf8_trim_whitespace(columns.column(i)), "")
            if pc.any(blank).as_py():
                cells = pc.if_else(blank, pa.scalar(None, field_.type), columns.column(i))
                columns = columns.set_column(i, field_, cells)
    return columns


def ragged_rows(path, pacsv, delimiter, header, convert, keep_going):
    """The table read again single-threaded, so each ragged row comes with its line number: (table or None,
    ragged rows). ``keep_going`` skips them all, else the read stops at the first."""
    found = []

    def ragged(row):
        found.append(row)
        return "skip" if keep_going else "error"

    pa, _, _, _ = pyarrow_modules()
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True, invalid_row_handler=ragged)
    try:
        columns = parsed_csv(path, pacsv, header, parse, convert, use_threads=False)
    except pa.ArrowInvalid:
        if keep_going or not found:
            raise
        columns = None
    return columns, found


def ragged_text(row, delimiter):
    return cells_text(row.actual_columns, row.expected_columns, delimiter)


def cells_text(got, expected, delimiter):
    """What a row with ``got`` cells where the header has ``expected`` is, read whole or from disk alike."""
    split = "" if delimiter == "," else f" (cells split at {delimiter!r})"
    return f"has {plural(got, 'cell')}, the header has {expected}{split}"


def read_csv(path, delimiter=None, skipped=None):
    """The ``Table`` of a CSV file. A row with more or fewer cells than the header is refused, naming its line;
    with ``skipped`` (a list) every such row is left out and recorded there as (line, message) instead."""
    pa, pacsv, _, _ = pyarrow_modules()
    check_text(path, first_bytes(path, SNIFF_BYTES))
    header = header_line(path)
    delimiter = delimiter or sniff_delimiter(header)
    check_column_count(path, delimiters_in(header, delimiter) + 1)  # before a row is read
    convert = pacsv.ConvertOptions(strings_can_be_null=True, null_values=MISSING, quoted_strings_can_be_null=True)
    try:
        for multiline in (False, True):  # quoted newlines cost the parser its threads: tried only when needed
            try:
                parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=multiline)
                columns = parsed_csv(path, pacsv, header, parse, convert)
                lines = multiline or not line_a_row(path, columns.num_rows)
                return Table(blank_cells_missing(columns), Path(path), "csv", delimiter, lines)
            except pa.ArrowInvalid as e:
                message = str(e)
                if "Empty CSV file" in message:
                    raise UserError(f"{path}: empty; a table needs a header row and at least one row") from None
                if "UTF8" in message:
                    raise UserError(f"{path}: not UTF-8 text; save the table as UTF-8 CSV") from None
                if "straddl" in message:  # even in one block as large as the file (or as pyarrow takes)
                    raise UserError(f"{path}: a row is longer than pyarrow reads in one piece, 2 GB") from None
                if not multiline:
                    continue
                try:
                    columns, ragged = ragged_rows(path, pacsv, delimiter, header, convert, skipped is not None)
                except pa.ArrowInvalid:
                    ragged, columns = [], None
                if not ragged:
                    raise UserError(f"{path}: not a readable CSV table ({message.splitlines()[0]})") from None
                # a ragged row's number counts records, the header first: file row number - 2
                lines = csv_lines(path, delimiter)
                where = [
                    int(lines[row.number - 2]) if row.number and row.number - 2 < len(lines) else None for row in ragged
                ]
                if skipped is None:
                    at = f"line {where[0]}" if where[0] is not None else "a row"
                    raise UserError(f"{path}: {at} {ragged_text(ragged[0], delimiter)}") from None
                skipped.extend((line, ragged_text(row, delimiter)) for line, row in zip(where, ragged, strict=True))
                kept = np.setdiff1d(np.arange(columns.num_rows + len(ragged)), [row.number - 2 for row in ragged])
                return Table(
                    blank_cells_missing(columns), Path(path), "csv", delimiter, True,
                    kept if len(kept) == columns.num_rows else None,
                )  # fmt: skip
    except READ_ERRORS as e:
        raise cannot_read(path, e) from None


# --- Parquet --------------------------------------------------------------------------------------------


def parquet_file(path):
    pa, _, pq, _ = pyarrow_modules()
    with open(path, "rb") as f:
        start = f.read(4)
        f.seek(0, os.SEEK_END)
        size = f.tell()
        f.seek(max(size - 4, 0))
        end = f.read(4)
    if start != PARQUET_MAGIC or end != PARQUET_MAGIC:
        raise UserError(f"{path}: not a Parquet file (no PAR1 marker at its start and end)")
    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0]})") from None
    check_parquet_counts(path, parquet.metadata)
    return parquet


def check_parquet_counts(path, meta):
    """The rows and values a Parquet file's footer declares, checked before any is read, as pyarrow allocates
    what they say: its row groups' rows add up to the file's, and a column of flat values (no lists) has at
    most one value per row."""
    groups = [meta.row_group(i) for i in range(meta.num_row_groups)]
    counts = [group.num_rows for group in groups]
    if meta.num_rows < 0 or min(counts, default=0) < 0 or sum(counts) != meta.num_rows:
        raise UserError(
            f"{path}: its footer says it holds {meta.num_rows:,} rows, its row groups {sum(counts):,}; "
            "not a readable Parquet file"
        )
    flat = [j for j in range(meta.num_columns) if meta.schema.column(j).max_repetition_level == 0]
    for i, group in enumerate(groups):
        for j in flat:
            values = group.column(j).num_values
            if not 0 <= values <= group.num_rows:
                raise UserError(
                    f"{path}: row group {i + 1} says column {group.column(j).path_in_schema!r} holds {values:,} values "
                    f"in {group.num_rows:,} rows; not a readable Parquet file"
                )


def check_parquet_types(path, schema, pa):
    for field_ in schema:
        kind = field_.type
        if pa.types.is_nested(kind) or pa.types.is_dictionary(kind) and pa.types.is_nested(kind.value_type):
            raise UserError(
                f"{path}: column {field_.name!r} holds {kind} (nested values); dnn reads flat columns of numbers, "
                "text and true/false"
            )


def parquet_bytes(parquet):
    """Bytes a Parquet file's columns take uncompressed, as its metadata says."""
    meta = parquet.metadata
    return sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))


def read_parquet(path):
    pa, _, _, _ = pyarrow_modules()
    parquet = parquet_file(path)
    schema = parquet.schema_arrow
    check_parquet_types(path, schema, pa)
    check_column_count(path, len(schema))
    meta = parquet.metadata
    check_memory(path, max(parquet_bytes(parquet), meta.num_rows * len(schema) * 8))  # and a float64 a cell, encoded
    try:
        columns = parquet.read()
    except (pa.ArrowException, OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable Parquet file ({str(e).splitlines()[0]})") from None
    if columns.num_rows != meta.num_rows:
        raise UserError(f"{path}: says it holds {meta.num_rows:,} rows, but {columns.num_rows:,} are in it")
    for i, name in enumerate(columns.column_names):  # Parquet's reader takes text as it comes: checked as CSV's is
        try:
            columns.column(i).validate(full=True)  # by position: names are checked to be unique later
        except pa.ArrowInvalid as e:
            what = "holds text that is not UTF-8" if "UTF8" in str(e) else f"is damaged ({str(e).splitlines()[0]})"
            raise UserError(f"{path}: column {name!r} {what}") from None
    return Table(without_views(columns), Path(path), "parquet")


def without_views(columns):
    """A pyarrow table with its text and bytes held as views (``string_view``) held as plain text and bytes,
    which every compute function takes."""
    pa, _, _, _ = pyarrow_modules()
    plain = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}
    if not any(field_.type in plain for field_ in columns.schema):
        return columns
    return columns.cast(pa.schema([field_.with_type(plain.get(field_.type, field_.type)) for field_ in columns.schema]))


# --- both ----------------------------------------------------------------------------------------------


def check_column_count(path, count):
    if count > MAX_COLUMNS:
        raise UserError(f"{path}: {count:,} columns; dnn takes tables of at most {MAX_COLUMNS:,}")


def fits(needed, available):
    return available is None or needed <= MEMORY_SHARE * available


def check_memory(path, needed):
    available = available_memory()
    if not fits(needed, available):
        raise UserError(
            f"{path}: needs about {gigabytes(needed)} of memory to read, more than half the {gigabytes(available)} "
            "available; set data.in_memory: false to read it a batch at a time"
        )


def unique_names(path, names, warn):
    """Column names as the table is used: an unnamed column is called ``column N`` (one warning says which);
    a name given twice is refused."""
    named, seen, unnamed = [], {}, []
    for i, name in enumerate(names, start=1):
        if not name.strip():
            name = f"column {i}"
            unnamed.append(name)
        if name in seen:
            raise UserError(
                f"{path}: columns {seen[name]} and {i} are both named {name!r}; give each column its own name"
            )
        seen[name] = i
        named.append(name)
    if warn and len(unnamed) == 1:
        warn(
            f"{path}: {unnamed[0]} has no name in the header; it is called {unnamed[0]!r} (an index column? see data.drop)"
        )
    elif warn and unnamed:
        shown = ", ".join(map(repr, unnamed[:3])) + (f" and {len(unnamed) - 3:,} more" if len(unnamed) > 3 else "")
        warn(f"{path}: {len(unnamed):,} columns have no name in the header; they are called {shown}")
    return named


def table_kind(path):
    """csv or parquet: as the file is named, else (under ``data.format: table``) Parquet when it starts as one."""
    return table_format(path) or ("parquet" if first_bytes(path, 4) == PARQUET_MAGIC else "csv")


def memory_to_read(path):
    """Bytes a table file takes once read, at least (what ``data.in_memory: auto`` goes by)."""
    regular_file(Path(path), "table")  # a FIFO is never opened, a loop of links named
    if table_kind(path) == "csv":
        return estimated_csv_memory(path)
    return parquet_bytes(parquet_file(path))


def fits_in_memory(path, available=None):
    """``data.in_memory: auto``: whether a table file needs at most half the available memory to read."""
    return fits(memory_to_read(path), available_memory() if available is None else available)


def read_table(path, delimiter=None, warn=None, skipped=None):
    """The ``Table`` in a CSV or Parquet file, every column named once, with at least one row; ``skipped``: see
    ``read_csv``. A file named otherwise (under ``data.format: table``) is Parquet when it starts as one, else
    CSV."""
    path = Path(path)
    regular_file(path, "table")
    kind = table_kind(path)
    if kind == "csv":
        check_csv_memory(path)
        table = read_csv(path, delimiter, skipped)
    else:
        table = read_parquet(path)
    check_column_count(path, table.columns.num_columns)
    names = unique_names(path, table.columns.column_names, warn)
    if names != table.columns.column_names:
        table.columns = table.columns.rename_columns(names)
    if table.rows == 0 and skipped:
        line, message = skipped[0]
        raise UserError(f"{path}: no row has the header's cells (line {line} {message})")
    if table.rows == 0:
        raise UserError(f"{path}: has a header but no rows")
    return table


def table_in_memory(columns, name):
    """The ``Table`` of a ``pyarrow.Table`` that no file holds, called ``name`` in messages, checked as a file's
    columns are: column names are text, each given once, and there is at least one row."""
    check_column_count(name, columns.num_columns)
    names = unique_names(name, [str(n) for n in columns.column_names], None)
    if names != columns.column_names:
        columns = columns.rename_columns(names)
    if columns.num_rows == 0:
        raise UserError(f"{name}: has no rows")
    return Table(columns, Path(name), MEMORY)


def check_csv_memory(path):
    """A CSV file refused before it is parsed when memory cannot hold it: at its size on disk, or a gzipped
    one at the size its trailer records, then (when it could decompress to more than memory allows) at the
    size it decompresses to, counted without keeping it, up to that limit: a trailer can lie."""
    check_memory(path, estimated_csv_memory(path))
    available = available_memory()
    if available is None or not is_gzipped(path) or os.path.getsize(path) * GZIP_MOST_RATIO <= MEMORY_SHARE * available:
        return
    limit, real = int(MEMORY_SHARE * available), 0
    try:
        with open_text(path) as f:
            while real <= limit and (chunk := f.read(SNIFF_BYTES * 16)):
                real += len(chunk)
    except READ_ERRORS as e:
        raise cannot_read(path, e) from None
    if real > limit:
        raise UserError(
            f"{path}: decompresses to more than {gigabytes(limit)} (its gzip trailer says "
            f"{gigabytes(estimated_csv_memory(path))}), more than half the {gigabytes(available)} of memory available"
        )


def estimated_csv_memory(path):
    """Bytes a CSV file takes once read, at least: its text (numbers take about as much as they are written);
    a gzipped file is counted at its uncompressed size, which gzip records modulo 4 GiB."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        if f.read(2) != b"\x1f\x8b" or size < 18:
            return size
        f.seek(-4, os.SEEK_END)
        recorded = int.from_bytes(f.read(4), "little")
    return max(size, recorded)


def python_cells(values):
    """A pyarrow column's cells, or a pyarrow table's rows (dicts), as Python values; a column of dates or times
    that Python's ``datetime`` cannot hold (beyond the year 9999) as pyarrow writes them, as text."""
    pa, _, _, pc = pyarrow_modules()
    try:
        return values.to_pylist()
    except (OverflowError, ValueError):
        if isinstance(values, pa.Table):
            return pa.table({name: as_text(values.column(name)) for name in values.column_names}).to_pylist()
        return as_text(values).to_pylist()


def as_text(column):
    pa, _, _, pc = pyarrow_modules()
    return pc.cast(column, pa.string()) if pa.types.is_temporal(column.type) else column


def format_number(value):
    """A number as a category or message shows it: 3, not 3.0."""
    if isinstance(value, float) and value.is_integer() and math.isfinite(value):
        return str(int(value))
    return str(value)
