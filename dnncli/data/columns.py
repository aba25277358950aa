"""The kinds of a table's columns, and how each becomes the network's inputs: a name -> ``Kind`` table.

Each kind says how a column's cells are read (``values``: a NumPy array, missing cells NaN or None), how it
is fitted on the training rows (``fit``: plain numbers and strings, saved in a checkpoint's header as JSON),
how many inputs it gives and what they are called (``names``), and how it is applied (``encode``), in the
way scikit-learn's ``StandardScaler``, ``OneHotEncoder`` and ``SimpleImputer(add_indicator=True)`` do:

- number: (x - mean) / std (std 1 where the column is constant); a missing cell is the mean (0 once scaled);
- category: one input per category kept, 1 for the row's own; those beyond ``max_categories`` or seen fewer
  than ``min_category_count`` times share an ``other`` input, and a category never seen in training is
  counted as unknown (in ``other`` where there is one, else in no input);
- boolean: 0 or 1; a missing cell is the training share of 1s.

A column with missing cells in training adds an input that is 1 where the cell is missing (the indicator).
Adding a kind is one entry here; the encoder, the checkpoint, ONNX export and serve read the same entries.

A kind is fitted by a tally (``tally``): cells are added a part at a time and the statistics read at the end,
so a table read whole and a table streamed in parts of any size give the very same numbers (``Moments``).
"""

import re
from dataclasses import dataclass

import numpy as np

from ..errors import UserError
from .tables import python_cells

NUMBER_TEXT = r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$"  # a cell a person wrote as a number
NUMBERS_SHARE = 0.9  # a text column with at least this share of numbers is numbers with a typo, not categories
# a number written with a comma: a decimal comma (1,5), as many exports do, or thousands separators (1,234,567.5)
COMMA_NUMBER_TEXT = r"^\s*[-+]?(\d*,\d+|\d{1,3}(,\d{3})+(\.\d+)?)\s*$"
# the largest magnitude of a number dnn takes: the squares a column's spread sums stay finite in float64 (1e300 a
# square, 1e307 for 10 million rows), so every statistic fitted and saved is a finite number
MAX_MAGNITUDE = 1e150
MIN_SPREAD = 1 / MAX_MAGNITUDE  # a smaller standard deviation is a constant column's: (x - mean) / std stays finite
UNITS = {"s": 1, "ms": 1e3, "us": 1e6, "ns": 1e9}  # a timestamp's, time's or duration's unit, in seconds (a
# date32 counts days, a date64 milliseconds: 86,400,000 a day)
TRUE_TEXT = {"true", "t", "yes", "y", "1"}
FALSE_TEXT = {"false", "f", "no", "n", "0"}
OTHER = "other"  # the name of the input rare categories share


@dataclass(frozen=True)
class Kind:
    values: object  # (table, name, problems=None) -> the cells: float64 NumPy with NaN, or pyarrow text with nulls
    tally: object  # () -> a tally: ``add(cells)`` a part at a time, then ``fitted(settings)``, the statistics
    names: object  # (column name, statistics) -> the names of its inputs, in order
    encode: object  # (cells, statistics, out) -> writes the inputs into ``out`` (m, len(names)), zeros of any float
    # dtype, computed in float64 (so an input is the same whatever dtype it is cast to); returns unknown cells

    def fit(self, cells, settings):
        """The statistics (a dict of JSON values) of a column's cells, all at once."""
        return self.tally().add(cells).fitted(settings)


# --- reading cells --------------------------------------------------------------------------------------


def arrow():
    import pyarrow
    import pyarrow.compute

    return pyarrow, pyarrow.compute


def bad_cells(table, name, rows, problem, remedy, problems):
    """Cells a column cannot take: the first refused in a ``UserError`` (with the ``remedy``), or with
    ``problems`` (row -> message) each recorded, so a prediction can leave out their rows and go on."""
    if problems is None:
        row = int(rows[0])
        raise UserError(f"{table.path}: {table.where(row)}, column {name!r}: {problem(row)}; {remedy}")
    for row in rows:
        problems.setdefault(int(row), f"column {name!r}: {problem(int(row))}")


def is_text_type(pa, kind):
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def neither(table, name, kind):
    return UserError(
        f"{table.path}: column {name!r} holds {kind}, which is neither numbers, text nor true/false; "
        "leave it out with data.drop"
    )


def number_cells(table, name, problems=None):
    """A column as float64, missing cells NaN: numbers, true/false as 1/0, dates as days and times as seconds
    since 1970; text must be numbers (the first cell that is not is named). Every conversion is one that
    cannot fail: a whole number beyond 2**53 is the float nearest it, a time is its count of its own unit."""
    pa, pc = arrow()
    column = table.columns.column(name)
    kind = column.type
    if (
        pa.types.is_boolean(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_decimal(kind)
    ):
        cells = pc.cast(column, pa.float64(), safe=False)
    elif pa.types.is_date(kind) or pa.types.is_timestamp(kind) or pa.types.is_time(kind) or pa.types.is_duration(kind):
        counts = pc.cast(column, pa.int64() if kind.bit_width == 64 else pa.int32())  # of days, or of its unit
        unit = (1 if pa.types.is_date32(kind) else 86_400_000) if pa.types.is_date(kind) else UNITS[kind.unit]
        cells = pc.divide(pc.cast(counts, pa.float64(), safe=False), unit)
    elif is_text_type(pa, kind):
        column = pc.cast(column, pa.string())
        numeric = pc.match_substring_regex(column, NUMBER_TEXT)
        bad = np.flatnonzero(~filled(numeric, True))
        if bad.size:
            bad_cells(
                table, name, bad, lambda row: not_a_number(column[row].as_py()),
                f"fix the cell, leave it empty for a missing value, or set data.columns.{name}: category", problems,
            )  # fmt: skip
            column = pc.if_else(numeric, column, pa.scalar(None, column.type))
        cells = pc.cast(pc.utf8_trim_whitespace(column), pa.float64())
    elif pa.types.is_null(kind):
        cells = pa.chunked_array([pa.nulls(len(column), pa.float64())])
    else:
        raise neither(table, name, kind)
    values = np.array(cells.to_numpy(zero_copy_only=False), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        too_large = np.flatnonzero(np.abs(values) > MAX_MAGNITUDE)
    if too_large.size:
        remedy = magnitude_remedy(values[too_large[0]])  # of the cell an error names
        bad_cells(table, name, too_large, lambda row: magnitude_problem(values[row]), remedy, problems)
        values[too_large] = np.nan
    return values


def not_a_number(text):
    if re.match(COMMA_NUMBER_TEXT, text):
        return (
            f"{short(text)!r} is a number written with a comma; dnn reads numbers with a point for decimals and no "
            "thousands separators (1234.5)"
        )
    return f"{short(text)!r} is not a number"


def magnitude_problem(value):
    if np.isinf(value):
        return f"{value} is not a finite number"
    return f"{value:g} is beyond the largest magnitude dnn takes, {MAX_MAGNITUDE:g}"


def magnitude_remedy(value):
    if np.isinf(value):
        return "leave the cell empty for a missing value"
    return "express the column in larger units (divide it by a power of ten)"


def filled(mask, fill):
    """A pyarrow boolean array as NumPy, missing entries ``fill``."""
    _, pc = arrow()
    return np.asarray(pc.fill_null(mask, fill).to_numpy(zero_copy_only=False), dtype=bool)


def text_cells(table, name, problems=None):
    """A column as a pyarrow array of text, missing cells null: numbers as written (3, not 3.0), true/false as
    true/false."""
    pa, pc = arrow()
    column = table.columns.column(name)
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
    if pa.types.is_floating(column.type):
        column = whole_numbers_as_integers(pa, pc, column)
    if not pa.types.is_string(column.type):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise UserError(f"{table.path}: column {name!r} holds {kind}, which cannot be read as categories") from None
    return column


def whole_numbers_as_integers(pa, pc, column):
    """A float column as text, each cell as a person writes it: a whole number as an integer (3, not 3.0), cell by
    cell, so a value is the same category whichever rows are read with it; NaN is a missing cell, as it is in a
    column of numbers."""
    if pa.types.is_float16(column.type):  # pyarrow's kernels take no half floats; float32 holds each exactly
        column = pc.cast(column, pa.float32())
    column = pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)
    whole = pc.fill_null(pc.and_(pc.equal(column, pc.floor(column)), pc.less_equal(pc.abs(column), 2.0**53)), False)
    integers = pc.cast(pc.cast(pc.if_else(whole, column, 0.0), pa.int64()), pa.string())
    return pc.if_else(whole, integers, pc.cast(column, pa.string()))


def boolean_cells(table, name, problems=None):
    """A column as 0.0 and 1.0, missing cells NaN: true/false, 1/0, yes/no, y/n, t/f (any case)."""
    pa, pc = arrow()
    column = table.columns.column(name)
    if pa.types.is_boolean(column.type):
        return number_cells(table, name, problems)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        values = number_cells(table, name, problems)
        bad = np.flatnonzero(~(np.isnan(values) | (values == 0) | (values == 1)))
    else:
        words = pc.utf8_lower(pc.utf8_trim_whitespace(text_cells(table, name)))
        true = filled(pc.is_in(words, value_set=pa.array(sorted(TRUE_TEXT))), False)
        false = filled(pc.is_in(words, value_set=pa.array(sorted(FALSE_TEXT))), False)
        present = filled(pc.is_valid(words), False)
        values = np.where(true, 1.0, np.where(false, 0.0, np.nan))
        bad = np.flatnonzero(present & ~true & ~false)
    if len(bad):
        bad_cells(
            table, name, bad, lambda row: f"{short(str(python_cells(column.slice(row, 1))[0]))!r} is not true or false (the column is boolean)",
            f"fix the cell, or set data.columns.{name}: category", problems,
        )  # fmt: skip
        values[bad] = np.nan
    return values


def short(text, limit=40):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- fitting and applying --------------------------------------------------------------------------------

STATISTICS_CHUNK = 65_536  # numbers at a time whose mean and spread are merged (``Moments``)


class Moments:
    """The count, mean and spread (the sum of squared distances to the mean) of numbers added a part at a time.

    The numbers are taken ``STATISTICS_CHUNK`` at a time, in the order added, whatever the parts: each chunk's
    mean and spread are computed as NumPy's ``mean`` and ``std`` compute them and merged into the running ones
    (Chan, Golub and LeVeque's update). A column read whole and the same column streamed in parts of any size
    give the very same bits, and a column of at most one chunk gives exactly ``mean()`` and ``std()``.
    """

    def __init__(self):
        self.count, self.mean, self.spread = 0, 0.0, 0.0
        self.pending, self.pending_count = [], 0

    def add(self, values):
        self.pending.append(values)
        self.pending_count += values.size
        if self.pending_count >= STATISTICS_CHUNK:
            values = np.concatenate(self.pending)
            whole = values.size - values.size % STATISTICS_CHUNK
            for start in range(0, whole, STATISTICS_CHUNK):
                self.merge(values[start : start + STATISTICS_CHUNK])
            self.pending, self.pending_count = [values[whole:]], values.size - whole
        return self

    def merge(self, chunk):
        n = chunk.size
        mean = chunk.sum() / n
        deviations = chunk - mean
        spread = (deviations * deviations).sum()
        if self.count == 0:
            self.count, self.mean, self.spread = n, float(mean), float(spread)
            return
        total = self.count + n
        delta = float(mean) - self.mean
        self.spread += float(spread) + delta * delta * (self.count * n / total)
        self.mean += delta * (n / total)
        self.count = total

    def result(self):
        """(count, mean, standard deviation) of every number added (the deviation divided by the count)."""
        if self.pending_count:
            self.merge(np.concatenate(self.pending))
            self.pending, self.pending_count = [], 0
        if self.count == 0:
            return 0, 0.0, 0.0
        return self.count, self.mean, float(np.sqrt(self.spread / self.count))


class NumberTally:
    """A number column's mean, standard deviation and missing cells; a boolean's share of 1s is its mean."""

    def __init__(self):
        self.moments, self.missing = Moments(), False

    def add(self, cells):
        present = cells[~np.isnan(cells)]
        self.missing = self.missing or present.size < cells.size
        self.moments.add(present)
        return self

    def fitted(self, settings):
        _, mean, std = self.moments.result()
        return {"mean": mean, "std": std if std >= MIN_SPREAD and np.isfinite(std) else 1.0, "missing": self.missing}


class BooleanTally(NumberTally):
    def fitted(self, settings):
        return {"mean": self.moments.result()[1], "missing": self.missing}


def held_by(table, stats, cells, dtype, problems=None):
    """A number column's cells, those whose standardised input a run of ``dtype`` cannot hold (beyond 3.4e38
    in float32) refused as cells the column cannot take (with ``problems``: recorded, and read as missing)."""
    if np.dtype(dtype).itemsize >= cells.itemsize:
        return cells  # float64 holds every number dnn takes (columns.MAX_MAGNITUDE)
    limit = np.finfo(dtype).max
    with np.errstate(invalid="ignore", over="ignore"):
        over = np.flatnonzero(np.abs((cells - stats["mean"]) / stats["std"]) > limit)
    if over.size == 0:
        return cells
    bad_cells(
        table, stats["name"], over, lambda row: f"{cells[row]:g} is beyond what a {np.dtype(dtype).name} run holds",
        "train the model in float64 (dtype: float64), or express the column in larger units", problems,
    )  # fmt: skip
    cells = cells.copy()
    cells[over] = np.nan
    return cells


def number_names(name, stats):
    return [name] + ([f"{name} (missing)"] if stats["missing"] else [])


def encode_number(cells, stats, out):
    missing = np.isnan(cells)
    standard = cells - stats["mean"]
    standard /= stats["std"]
    standard[missing] = 0.0
    out[:, 0] = standard
    if stats["missing"]:
        out[:, 1] = missing
    return {}


def counted(cells):
    """{value: count} of the present cells of a pyarrow text column."""
    _, pc = arrow()
    counts = pc.value_counts(cells.drop_null())
    return dict(zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist(), strict=True))


def by_count(counts):
    """(values, counts) of a {value: count}, by count, most first, then by value."""
    order = sorted(counts, key=lambda value: (-counts[value], value))
    return order, [counts[value] for value in order]


def category_counts(cells):
    """(values, counts) of the present cells, by count, most first, then by value."""
    return by_count(counted(cells))


class CategoryTally:
    """A category column's count of each category, and whether a cell is missing."""

    def __init__(self):
        self.counts, self.missing = {}, False

    def add(self, cells):
        self.missing = self.missing or bool(cells.null_count)
        for value, count in counted(cells).items():
            self.counts[value] = self.counts.get(value, 0) + count
        return self

    def fitted(self, settings):
        values, counts = by_count(self.counts)
        kept = [v for v, c in zip(values, counts, strict=True) if c >= settings["min_category_count"]]
        kept = kept[: settings["max_categories"]]
        return {"categories": kept, "other": len(kept) < len(values), "missing": self.missing}


def category_names(name, stats):
    names = [f"{name}={value}" for value in stats["categories"]]
    if stats["other"]:
        names.append(f"{name}={OTHER}")
    if stats["missing"]:
        names.append(f"{name} (missing)")
    return names


def encode_category(cells, stats, out):
    """One-hot inputs into ``out`` (zeros); returns {value: count} of the cells whose category has no input of
    its own."""
    pa, pc = arrow()
    kept = len(stats["categories"])
    index = pc.index_in(cells, value_set=pa.array(stats["categories"], type=pa.string()))
    positions = np.asarray(pc.fill_null(index, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    unknown_rows = None
    if positions.size and positions.min() < 0:  # a missing cell, or a category without an input of its own
        present = filled(pc.is_valid(cells), False)
        unknown_rows = present & (positions < 0)
        if stats["other"]:
            positions[unknown_rows] = kept
        if stats["missing"]:
            positions[~present] = kept + bool(stats["other"])
        rows = np.flatnonzero(positions >= 0)
        out[rows, positions[rows]] = 1.0
    else:
        out[np.arange(positions.size), positions] = 1.0
    if unknown_rows is None or not unknown_rows.any():
        return {}
    return counted(pc.filter(cells, pa.array(unknown_rows)))


def encode_boolean(cells, stats, out):
    missing = np.isnan(cells)
    out[:, 0] = cells
    out[missing, 0] = stats["mean"]
    if stats["missing"]:
        out[:, 1] = missing
    return {}


KINDS = {
    "number": Kind(number_cells, NumberTally, number_names, encode_number),
    "category": Kind(text_cells, CategoryTally, category_names, encode_category),
    "boolean": Kind(boolean_cells, BooleanTally, number_names, encode_boolean),
}


def is_yes_or_no(column):
    """Text of two words, one a true and one a false (yes/no, y/n, true/false, t/f in any case)."""
    pa, pc = arrow()
    words = set(pc.unique(pc.utf8_lower(pc.utf8_trim_whitespace(column.drop_null()))).to_pylist())
    return len(words) == 2 and len(words & TRUE_TEXT) == 1 and len(words & FALSE_TEXT) == 1


def inferred_kind(table, name):
    """The kind of a column as read: true/false is boolean, numbers (and dates and times) are numbers, whole
    numbers that are only 0 and 1 are boolean, text of two words such as yes and no is boolean, other text is
    categories. A text column that is nearly all numbers is
    refused (numbers with a typo), naming the first cell that is not a number."""
    pa, pc = arrow()
    column = table.columns.column(name)
    kind = column.type
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        values = number_cells(table, name)
        present = values[~np.isnan(values)]
        return "boolean" if present.size and np.isin(present, (0.0, 1.0)).all() else "number"
    if pa.types.is_interval(kind):
        raise neither(table, name, kind)
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind) or pa.types.is_temporal(kind) or pa.types.is_null(kind):
        return "number"
    if is_text_type(pa, kind) or pa.types.is_dictionary(kind):
        if pa.types.is_dictionary(kind):
            return "category"
        column = pc.cast(column, pa.string())
        present = column.length() - column.null_count
        if present:
            distinct = pc.value_counts(column.drop_null())  # each text once: the patterns are matched on these
            numeric = matching(distinct, NUMBER_TEXT)
            if numeric < present:
                check_decimal_commas(table, name, column, distinct, numeric, present)
            if numeric >= NUMBERS_SHARE * present and numeric < present:
                number_cells(table, name)  # raises, naming the first cell that is not a number
            if numeric == present and table.format == "csv":
                return "number"  # read as text for cells that are missing once read (tables.blank_cells_missing)
            if is_yes_or_no(distinct.field("values")):
                return "boolean"
        return "category"
    raise neither(table, name, kind)


def matching(distinct, pattern):
    """How many cells of a text column match ``pattern``, from its ``distinct`` texts (``pc.value_counts``)."""
    pa, pc = arrow()
    matched = pc.fill_null(pc.match_substring_regex(distinct.field("values"), pattern), False)
    return int(pc.sum(pc.filter(distinct.field("counts"), matched)).as_py() or 0)


def check_decimal_commas(table, name, column, distinct, numeric, present):
    """A text column that is numbers once those written with a decimal comma (0,5) are counted is refused,
    naming the first such cell: read as categories, every number would be a category of its own."""
    _, pc = arrow()
    commas = matching(distinct, COMMA_NUMBER_TEXT)
    if commas and numeric + commas >= NUMBERS_SHARE * present:
        row = int(np.flatnonzero(filled(pc.match_substring_regex(column, COMMA_NUMBER_TEXT), False))[0])
        raise UserError(
            f"{table.path}: {table.where(row)}, column {name!r}: {not_a_number(column[row].as_py())}; save the table "
            f"so, or set data.columns.{name}: category"
        )
