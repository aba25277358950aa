"""X and y as a table: the rows an estimator is given, as the ``tables.Table`` dnn's encoder reads.

A DataFrame (pandas, or anything that hands out Arrow data: a pyarrow Table, a polars DataFrame) keeps its
columns, their names and their types: numbers, categories, booleans and missing cells are read and encoded as
`dnn train` reads and encodes a CSV or Parquet file's. An array (or anything else scikit-learn reads as one) is
numbers, each column a number column called ``x0``, ``x1``, ...; a missing cell is NaN. The target is one more
column, called as y is called (a pandas Series' name, a DataFrame's columns), else ``y`` (``y0``, ``y1``, ... for
several).
"""

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
from sklearn.utils.validation import check_consistent_length, validate_data

from ..data.columns import KINDS
from ..data.tables import table_in_memory
from ..errors import UserError
from .parameters import ROWS


@dataclass
class Rows:
    """Rows for an estimator: the table of their features (and targets, when y is given), and the targets'
    column names."""

    table: object  # tables.Table
    targets: list


def is_frame(X):
    """A pandas DataFrame, or anything that hands out Arrow data (a pyarrow Table, a polars DataFrame)."""
    if hasattr(X, "iloc"):  # pandas: a Series hands out Arrow data too, but is one column, not a table
        return hasattr(X, "columns")
    return hasattr(X, "__arrow_c_stream__")


def frame_columns(X):
    """A DataFrame's columns as a pyarrow Table (a pandas index is not a column)."""
    try:
        if hasattr(X, "iloc"):  # pandas: its index is not a column
            return pa.Table.from_pandas(X, preserve_index=False)
        return pa.table(X)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as e:
        raise UserError(f"{ROWS}: cannot be read as columns ({str(e).splitlines()[0]})") from None


def array_names(n):
    return [f"x{j}" for j in range(n)]


def feature_columns(estimator, X, reset, names=None):
    """The features of ``X`` as a pyarrow Table, checked by scikit-learn against what ``estimator`` was fitted on
    (``reset`` for a fit, which records them): a DataFrame's columns as they are, an array's as numbers called
    ``names`` (its columns' names in a model, by default ``x0``, ``x1``, ...)."""
    if is_frame(X) and (reset or hasattr(estimator, "feature_names_in_")):
        validate_data(estimator, X, reset=reset, skip_check_array=True)
        return frame_columns(X)
    X = validate_data(estimator, X, reset=reset, dtype=np.float64, ensure_all_finite="allow-nan")
    names = names or array_names(X.shape[1])
    return pa.table(dict(zip(names, np.ascontiguousarray(X.T), strict=True)))


def target_names(y, count, features):
    """The names of y's columns (``count`` of them): its own where it has them, else ``y`` or ``y0``, ``y1``, ...;
    a name that is also a feature's is refused (the target left in X)."""
    own = getattr(y, "columns", None)
    own = [getattr(y, "name", None)] if own is None else list(own)
    if len(own) == count and all(isinstance(name, str) and name for name in own):
        for name in own:
            if name in features:
                raise UserError(f"{ROWS}: has a column {name!r}, which is the target y; leave the target out of X")
        return own
    base = "y"
    while base in features or any(f"{base}{j}" in features for j in range(count)):
        base += "_"
    return [base] if count == 1 else [f"{base}{j}" for j in range(count)]


def rows_of(estimator, X, y=None, values=None, reset=False):
    """The ``Rows`` of X, and of y as ``values`` (y checked by the estimator: (m,) or (m, targets)), named as y
    is."""
    columns = feature_columns(estimator, X, reset, None if reset else model_features(estimator))
    targets = []
    if y is not None:
        check_consistent_length(columns, values)
        if reset and len(values) < 2:
            raise UserError(f"{ROWS}: 1 sample; training needs 2 rows or more")
        values = values.reshape(len(values), -1)
        targets = target_names(y, values.shape[1], columns.column_names)
        for name, column in zip(targets, values.T, strict=True):
            columns = columns.append_column(name, pa.array(column))
    return Rows(table_in_memory(columns, ROWS), targets)


def model_features(estimator):
    return estimator.model_.encoder.feature_columns


def category_names(values):
    """The names dnn gives ``values`` as classes: as a category column's cells read (text as is, whole numbers
    without ``.0``, booleans as true and false)."""
    table = table_in_memory(pa.table({"y": pa.array(values)}), "y")
    return KINDS["category"].values(table, "y").to_pylist()
