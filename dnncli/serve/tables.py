"""A table model behind `dnn serve`: JSON rows, or an uploaded table file, in; each row's record out.

Rows are made a pyarrow table, one column per feature (and id) column, and predicted by
``model.predict.table_predictions``, the code path of ``dnn predict``: a row gets the record ``dnn predict
--json`` gives it, counted from 1 (``row``) as a Parquet file's rows are. A row the model cannot take (a column
missing, a cell of the wrong kind) gets a record with its ``error`` instead; the others are predicted. An
uploaded file (the page's dropped CSV) is read by ``data.tables.read_table``, as ``dnn predict`` reads one, and
its records carry their ``line``.

Each function here runs in a worker thread and returns ``(status, answer)``.
"""

import json
import math
import shutil
import tempfile
from pathlib import Path

from ..data.tables import Table, format_number, read_table
from ..errors import UserError
from ..model.predict import table_failures, table_predictions, with_failures

ROWS = "rows"  # a request's rows are named so in messages
SHOWN_ABSENT = 5  # columns a row lacks, named in its error
WRONG_TYPE = (
    'send rows as application/json, {"rows": [{"column": value, ...}, ...]}, or a CSV or Parquet file as '
    "multipart/form-data"
)


def table_info(saved):
    """What /info says of a table model: its columns (name, kind, categories), task, classes or targets, ids."""
    encoder = saved.encoder
    answer = {"classes": saved.classes} if encoder.task == "classification" else {"targets": saved.classes}
    return {"data": "table", "task": encoder.task, **answer, "columns": encoder.described_columns(), "ids": encoder.ids}


def rows_answer(saved, body, limits, min_confidence=None):
    """The answer to a JSON body ``{"rows": [...]}``: 200 with a record per row, each predicted or with its
    error; 400 for a body that is not such JSON, 413 for more rows than ``limits.max_rows``."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        return 400, {"error": f"not readable JSON ({e})"}
    rows = payload.get("rows") if isinstance(payload, dict) else None
    if not isinstance(rows, list):
        return 400, {"error": WRONG_TYPE}
    if not rows:
        return 400, {"error": "no rows: give one or more in rows"}
    if len(rows) > limits.max_rows:
        return 413, too_many(len(rows), limits)
    table, problems = rows_table(rows, saved.encoder)
    return predicted(saved, table, problems, min_confidence=min_confidence)


def upload_answer(saved, uploads, limits, min_confidence=None):
    """The answer to an uploaded table file: 200 with a record per row (``line`` or ``row``), each predicted or
    with its error; 422 naming the file when it cannot be read as a table the model takes."""
    if len(uploads) != 1:
        return 400, {"error": f"{len(uploads)} files; send one table file at a time"}
    [upload] = uploads
    name = upload.filename or "table"
    with tempfile.TemporaryDirectory(prefix="dnn-serve-") as folder:
        path = Path(folder) / "upload"  # the client's name is only echoed; a Parquet file is told by its bytes
        upload.file.seek(0)
        with open(path, "wb") as f:
            shutil.copyfileobj(upload.file, f)
        skipped = []
        try:
            table = read_table(path, skipped=skipped)
            if table.rows > limits.max_rows:
                return 413, too_many(table.rows, limits)
            return predicted(saved, table, {}, skipped, min_confidence)
        except UserError as e:
            return 422, {"error": e.format_message().replace(str(path), name)}


def predicted(saved, table, problems, skipped=(), min_confidence=None):
    records, unknown = table_predictions(saved, table, None, problems, min_confidence)
    failed = table_failures(table, problems, skipped)
    return 200, {"predictions": with_failures(table, records, failed), "unknown_categories": unknown}


def too_many(rows, limits):
    return {"error": f"{rows:,} rows; at most {limits.max_rows:,} in one request (--max-rows)"}


def rows_table(rows, encoder):
    """(``Table`` of the rows' feature and id columns, problems {row: message}): a row that is not an object, or
    lacks a feature column, or has a list or object for a cell, is a problem; its cells are missing ones."""
    import pyarrow as pa

    problems = {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems[i] = f"a row is an object of column names and cells, not a JSON {json_kind(row)}"
            continue
        absent = [name for name in encoder.feature_columns if name not in row]
        if absent:
            names = ", ".join(map(repr, absent[:SHOWN_ABSENT])) + (" and more" if len(absent) > SHOWN_ABSENT else "")
            problems[i] = f"no {'column' if len(absent) == 1 else 'columns'} {names}, which the model takes"
    ids = [name for name in encoder.ids if any(isinstance(row, dict) and name in row for row in rows)]
    columns = {}
    for name in encoder.feature_columns + [name for name in ids if name not in encoder.feature_columns]:
        cells = []
        for i, row in enumerate(rows):
            cell = row.get(name) if isinstance(row, dict) else None
            if isinstance(cell, (list, dict)):
                problems.setdefault(i, f"column {name!r}: a JSON {json_kind(cell)} is not a cell")
                cell = None
            cells.append(None if isinstance(cell, float) and math.isnan(cell) else cell)
        columns[name] = column_array(pa, cells)
    return Table(pa.table(columns), Path(ROWS), "json"), problems


def column_array(pa, cells):
    """A column of JSON cells as pyarrow reads them: numbers, text or true/false when they all are one kind,
    else as text (numbers as written, true/false), for the column's kind to read or refuse cell by cell."""
    kinds = {
        bool if isinstance(c, bool) else (float if isinstance(c, (int, float)) else str) for c in cells if c is not None
    }
    if len(kinds) <= 1:
        try:
            return pa.array(cells)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # a whole number beyond 64 bits
            pass
    return pa.array([None if c is None else c if isinstance(c, str) else json_cell(c) for c in cells], pa.string())


def json_cell(cell):
    return ("true" if cell else "false") if isinstance(cell, bool) else format_number(cell)


def json_kind(value):
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
