"""Whatever table a user gives dnn, every command that reads one succeeds or says in one line what is wrong.

Each bad file goes through the real CLI: `dnn data info`, `dnn train`, `dnn check`, `dnn predict`,
`dnn evaluate --data` and `dnn init-config --table`; a refusal is one line on stderr (exit 2) naming the file
and, where there is one, the line and the column; nothing hangs, nothing is read from outside the file, and
what a file declares (its header's columns, a gzip trailer, a Parquet footer) is checked before its data is
read. Files that are only unusual (a BOM, CRLF, quoted newlines, another delimiter) give the very predictions
the plain file gives. A checkpoint whose header 'table' is edited by hand is refused when it is loaded.
"""

import csv
import gzip
import io
import json
import os
import re
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from test_hostile_inputs import FifoGuard

from dnncli.cli import main
from dnncli.data import encoding, tables
from dnncli.data.columns import MAX_MAGNITUDE
from dnncli.model import checkpoint
from dnncli.resources import available_memory


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def base_rows(m=40, seed=0):
    """Rows of a small table: numbers x and y, a colour (three categories), the class label (yes/no)."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(m):
        x, y = rng.normal(), rng.normal()
        rows.append([f"{x:.4f}", f"{y:.4f}", ["red", "green", "blue"][i % 3], "yes" if x + y > 0 else "no"])
    return rows


HEADER = ["x", "y", "colour", "label"]


def csv_text(rows, header=HEADER, delimiter=",", newline="\n"):
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator=newline).writerows([header, *rows])
    return text.getvalue()


def config_for(folder, train, name="t", **data):
    path = folder / f"{name}.yaml"
    config = {
        "name": name,
        "data": {"train": str(train), "target": "label", **data},
        "model": {"layers": ["auto", 4, "auto"]},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 16, "epochs": 2, "log_every": 5},
        "output": {"dir": str(folder / "runs")},
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A classifier of the base table (trained once), and the folder it lives in."""
    folder = tmp_path_factory.mktemp("hostile-tables")
    (folder / "base.csv").write_text(csv_text(base_rows()))
    result = cli("train", "--config", config_for(folder, folder / "base.csv", name="base"), "--quiet")
    assert result.exit_code == 0, result.output
    return folder, Path(result.stdout.strip().splitlines()[-1])


def one_line(result, predict=False):
    """The one error line of a refusal (exit 2, no traceback); predict names its model first and, for rows it
    could not read, ends with its count."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and "unexpected" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith(("Warning: ", "model: "))]
    if predict and lines and re.search(r" rows? predicted, ", lines[-1]):
        lines = lines[:-1]
    assert len(lines) >= 1 and all(line.startswith("Error: ") for line in lines), result.stderr
    return lines[0]


def every_command(folder, run, path):
    """What each command that reads a table does with ``path``."""
    config = config_for(folder, path, name="bad")
    return {
        "data info": cli("data", "info", path),
        "train": cli("train", "--config", config, "--quiet"),
        "check": cli("check", "--config", config),
        "predict": cli("predict", path, "--run", run),
        "evaluate": cli("evaluate", "--run", run, "--data", path, "--json", "-"),
        "init-config": cli("init-config", folder / "new.yaml", "--table", path, "--force"),
    }


def gz(text):
    return gzip.compress(text.encode())


ROWS = base_rows(12)
BAD_FILES = {  # name -> (file name, its bytes, what every refusal says)
    "ragged": ("t.csv", csv_text([*ROWS, ["1", "2", "red", "yes", "extra"]]), "line 14 has 5 cells, the header has 4"),
    "text in numbers": (
        "t.csv",
        csv_text([*ROWS, ["abc", "1", "red", "no"]]),
        "line 14, column 'x': 'abc' is not a number; fix the cell, leave it empty for a missing value, or set "
        "data.columns.x: category",
    ),
    "empty": ("t.csv", "", "empty; a table needs a header row and at least one row"),
    "only newlines": ("t.csv", "\n\n\n", "empty; a table needs a header row and at least one row"),
    "header only": ("t.csv", "x,y,colour,label\n", "has a header but no rows"),
    "names twice": ("t.csv", csv_text(ROWS, ["x", "x", "colour", "label"]), "columns 1 and 2 are both named 'x'"),
    "a letter": ("t.csv", "Dear Sir,\nI write to\nsay hello\n", "line 2 has 1 cell, the header has 2"),
    "binary": ("t.csv", bytes(range(256)) * 4, "a binary file, not CSV text"),
    "a picture": ("t.csv", b"\x89PNG\r\n\x1a\n" + bytes(200), "a binary file, not CSV text"),
    "utf-16": ("t.csv", csv_text(ROWS).encode("utf-16"), "UTF-16 text; save the table as UTF-8 CSV"),
    "latin-1": ("t.csv", csv_text([*ROWS, ["1", "2", "café", "no"]]).encode("latin-1"), "not UTF-8 text (byte"),
    # pyarrow checks that cells are UTF-8, not names: a short file's one byte had passed as a character cut short
    "a name not UTF-8": ("t.csv", b"\x80,y\n1,2\n", "not UTF-8 text (byte 1 is 0x80); save the table as UTF-8 CSV"),
    "gzip cut short": ("t.csv.gz", gz(csv_text(ROWS))[:-20], "cannot read (Compressed file ended"),
    "gzip of bad data": (
        "t.csv.gz",
        gz(csv_text(ROWS))[:10] + b"\x07" + bytes(20) + gz(csv_text(ROWS))[-8:],  # a block of the reserved type
        "cannot read (Error -3 while decompressing data",
    ),
    "infinity": (
        "t.csv",
        csv_text([*ROWS, ["inf", "1", "red", "no"]]),
        "line 14, column 'x': inf is not a finite number; leave the cell empty for a missing value",
    ),
    "too large": (
        "t.csv",
        csv_text([*ROWS, ["1e200", "1", "red", "no"]]),
        "line 14, column 'x': 1e+200 is beyond the largest magnitude dnn takes, 1e+150; express the column in larger "
        "units (divide it by a power of ten)",
    ),
    "decimal commas": (
        "t.csv",
        csv_text([[x.replace(".", ","), y.replace(".", ","), c, v] for x, y, c, v in ROWS], delimiter=";"),
        # then how to mend it: what a column read as categories can be, or what a number column's cell can
        "line 2, column 'x': '0,1257' is a number written with a comma; dnn reads numbers with a point for decimals "
        "and no thousands separators (1234.5); ",
    ),
}
ROW_PROBLEMS = {  # what predict says of the first row it cannot read, going on with the others
    "ragged": "line 14: has 5 cells, the header has 4",
    "text in numbers": "line 14: column 'x': 'abc' is not a number",
    "infinity": "line 14: column 'x': inf is not a finite number",
    "too large": "line 14: column 'x': 1e+200 is beyond the largest magnitude dnn takes, 1e+150",
    "decimal commas": "line 2: column 'x': '0,1257' is a number written with a comma; dnn reads numbers with a point "
    "for decimals and no thousands separators (1234.5)",
    "a letter": "no row has the header's cells (line 2 has 1 cell, the header has 2)",
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_table_is_one_line_from_every_command(model, case):
    folder, run = model
    name, content, message = BAD_FILES[case]
    path = folder / case.replace(" ", "-") / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    for command, result in every_command(folder, run, path).items():
        line = one_line(result, predict=command == "predict")
        if command == "predict" and case in ROW_PROBLEMS:
            assert line == f"Error: {path}: {ROW_PROBLEMS[case]}", line
        else:
            assert line.startswith(f"Error: {path}: {message}"), (command, line)


def test_rows_of_a_table_with_ragged_ones_are_predicted_in_place(model):
    folder, run = model
    path = folder / "ragged-rows.csv"
    path.write_text(csv_text([ROWS[0], ["1", "2"], ROWS[1], ["1", "2", "red", "yes", "x"], ROWS[2]]))
    result = cli("predict", path, "--run", run)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[1:] == [
        f"Error: {path}: line 3: has 2 cells, the header has 4",
        f"Error: {path}: line 5: has 5 cells, the header has 4",
        "3 of 5 rows predicted, 2 problems above",
    ]
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["2", "4", "6"]


# --- what the file declares, checked before its data is read ------------------------------------------------


def test_more_columns_than_dnn_takes_are_refused_from_the_header_alone(model):
    folder, run = model
    path = folder / "wide.csv"
    # the header's count is enough: the rows after it are never parsed (here they are not even CSV)
    path.write_bytes((",".join(f"c{i}" for i in range(tables.MAX_COLUMNS)) + ",label\n").encode() + bytes(range(256)))
    for command, result in every_command(folder, run, path).items():
        assert "100,001 columns; dnn takes tables of at most 100,000" in one_line(result), command


def lying_gzip(text, trailer):
    """``text`` gzipped, its trailer saying it decompresses to ``trailer`` bytes."""
    data = gzip.compress(text.encode())
    return data[:-4] + (trailer % 2**32).to_bytes(4, "little")


def test_a_gzip_bomb_is_refused_whatever_its_trailer_says(model, monkeypatch):
    folder, run = model
    text = csv_text(base_rows() * 6000)  # 7 MB of rows, 0.1 MB gzipped
    limit = 200_000  # as if memory held 200 kB of table: the bound is the memory check's, scaled down to a test
    monkeypatch.setattr(tables, "MEMORY_SHARE", limit / available_memory())
    lying, honest = folder / "lying.csv.gz", folder / "honest.csv.gz"
    lying.write_bytes(lying_gzip(text, trailer=1000))
    honest.write_bytes(gzip.compress(text.encode()))
    line = one_line(cli("data", "info", lying))
    assert line.startswith(f"Error: {lying}: decompresses to more than 0.0 GB (its gzip trailer says 0.0 GB), more ")
    assert f"Error: {honest}: needs about 0.0 GB of memory to read, more than half the" in one_line(
        cli("predict", honest, "--run", run), predict=True
    )
    monkeypatch.undo()  # with the memory the machine has, the honest file is read, the lying one's trailer refused
    assert cli("data", "info", honest).exit_code == 0
    assert "incorrect length check" in one_line(cli("data", "info", lying))  # the trailer is checked as it is read


def test_a_gzip_whose_trailer_lies_is_refused_as_it_is_counted(model, monkeypatch):
    folder, _ = model
    monkeypatch.setattr(tables, "MEMORY_SHARE", 200_000 / available_memory())  # it is counted: see above
    lying = folder / "lying-small.csv.gz"
    lying.write_bytes(lying_gzip(csv_text(base_rows() * 100), trailer=1000))  # 0.1 MB of rows: all counted
    assert one_line(cli("data", "info", lying)) == f"Error: {lying}: cannot read (Incorrect length of data produced)"


def parquet_footer_edited(source, path, edit):
    """A copy of the Parquet file ``source`` whose footer's compact-Thrift i64 fields equal to its row count
    (field header 0x16, a delta of 1 and type i64) are changed: ``edit`` maps their positions to new values."""
    data = source.read_bytes()
    size = int.from_bytes(data[-8:-4], "little")
    body, footer = data[: -8 - size], bytearray(data[-8 - size : -8])
    rows = pq.ParquetFile(source).metadata.num_rows
    found = [m.start() for m in re.finditer(re.escape(bytes([0x16]) + varint(2 * rows)), bytes(footer))]
    for index, value in sorted(edit.items(), reverse=True):
        start = found[index]
        footer[start : start + 1 + len(varint(2 * rows))] = bytes([0x16]) + varint(2 * value)  # zigzag of value >= 0
    path.write_bytes(body + bytes(footer) + len(footer).to_bytes(4, "little") + b"PAR1")
    return path


def varint(n):
    out = bytearray()
    while True:
        out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
        n >>= 7
        if not n:
            return bytes(out)


@pytest.fixture(scope="module")
def parquet_base(model):
    folder, _ = model
    path = folder / "base.parquet"
    rows = base_rows()
    columns = {name: [row[i] for row in rows] for i, name in enumerate(HEADER)}
    pq.write_table(
        pa.table({**columns, "x": [float(v) for v in columns["x"]], "y": [float(v) for v in columns["y"]]}), path
    )
    return path


# positions of the row count among the footer's fields, as pyarrow writes a one-row-group file of 4 flat
# columns: the file's rows, each column chunk's values (4), the row group's rows
FILE_ROWS, FIRST_COLUMN_VALUES, GROUP_ROWS = 0, 1, 5


@pytest.mark.parametrize(
    "edit, message",
    [
        ({FILE_ROWS: 10**15}, "its footer says it holds 1,000,000,000,000,000 rows, its row groups 40"),
        ({FILE_ROWS: 5}, "its footer says it holds 5 rows, its row groups 40"),
        ({GROUP_ROWS: 10**12}, "its footer says it holds 40 rows, its row groups 1,000,000,000,000"),
        # pyarrow allocates what a column chunk declares: 10**12 values was 24 GB and the kernel's OOM killer
        ({FIRST_COLUMN_VALUES: 10**12}, "row group 1 says column 'x' holds 1,000,000,000,000 values in 40 rows"),
        ({i: 10**12 for i in range(6)}, "needs about 29802.3 GB of memory to read"),
        ({i: 10**7 for i in range(6)}, "says it holds 10,000,000 rows, but 40 are in it"),
    ],
    ids=["file rows", "fewer file rows", "group rows", "column values", "all, huge", "all, more"],
)
def test_a_parquet_footer_that_lies_about_its_rows_is_refused(model, parquet_base, edit, message):
    folder, run = model
    path = parquet_footer_edited(parquet_base, folder / "lying.parquet", edit)
    for command, result in every_command(folder, run, path).items():
        assert message in one_line(result), command


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda data: data[: len(data) // 2], "not a Parquet file (no PAR1 marker at its start and end)"),
        (lambda data: data[:100] + data[-4:], "not a readable Parquet file (Parquet file size is 104 bytes"),
        (lambda data: data[:-8] + (2**31 - 1).to_bytes(4, "little") + b"PAR1", "not a readable Parquet file ("),
        (lambda data: data[:-300] + bytes(292) + data[-8:], "not a readable Parquet file ("),
    ],
    ids=["truncated", "truncated keeping its marker", "footer longer than the file", "footer zeroed"],
)
def test_a_damaged_parquet_file_is_refused(model, parquet_base, damage, message):
    folder, run = model
    path = folder / "damaged.parquet"
    path.write_bytes(damage(parquet_base.read_bytes()))
    for command, result in every_command(folder, run, path).items():
        assert message in one_line(result), command


def test_a_parquet_file_whose_text_is_not_utf8_is_refused(model, parquet_base):
    # Parquet's reader takes text as it is stored: pyarrow's compute functions then failed on it
    folder, run = model
    path = folder / "not-utf8.parquet"
    data = parquet_base.read_bytes()
    assert data.count(b"green") == 1  # in the column's dictionary
    path.write_bytes(data.replace(b"green", b"gr\xffen"))
    for command, result in every_command(folder, run, path).items():
        assert one_line(result) == f"Error: {path}: column 'colour' holds text that is not UTF-8", command


def test_a_parquet_file_naming_a_column_twice_is_refused(model, parquet_base):
    folder, run = model
    path = folder / "twice.parquet"
    columns = pq.read_table(parquet_base)
    pq.write_table(pa.Table.from_arrays([*columns.columns, columns.column("x")], names=[*HEADER, "x"]), path)
    for command, result in every_command(folder, run, path).items():
        expected = f"Error: {path}: columns 1 and 5 are both named 'x'; give each column its own name"
        assert one_line(result) == expected, command


@pytest.mark.parametrize(
    "column, shown",
    [
        (pa.array([[1, 2]] * 40), "list<element: int64>"),
        (pa.array([{"a": 1}] * 40), "struct<a: int64>"),
        (pa.array([[("k", 1)]] * 40, type=pa.map_(pa.string(), pa.int64())), "map<string, int64 ('nested')>"),
    ],
)
def test_a_parquet_column_of_nested_values_is_refused(model, parquet_base, column, shown):
    folder, run = model
    path = folder / "nested.parquet"
    pq.write_table(pq.read_table(parquet_base).append_column("nested", column), path)
    message = f"column 'nested' holds {shown} (nested values); dnn reads flat columns of numbers, text and true/false"
    for command, result in every_command(folder, run, path).items():
        assert message in one_line(result), command


# --- files that are only unusual: the very predictions of the plain file ---------------------------------------


def predictions(run, path):
    result = cli("predict", path, "--run", run, "--json")
    assert result.exit_code == 0, result.output
    return [(r["predicted"], r["probability"]) for r in map(json.loads, result.stdout.splitlines())]


UNUSUAL = {
    "a byte-order mark": lambda rows: ("t.csv", "\ufeff" + csv_text(rows)),
    "CRLF line ends": lambda rows: ("t.csv", csv_text(rows, newline="\r\n")),
    "semicolons": lambda rows: ("t.csv", csv_text(rows, delimiter=";")),
    "tabs": lambda rows: ("t.tsv.csv", csv_text(rows, delimiter="\t")),
    "every cell quoted": lambda rows: ("t.csv", "".join(",".join(f'"{c}"' for c in r) + "\n" for r in [HEADER, *rows])),
    "gzipped": lambda rows: ("t.csv.gz", gzip.compress(csv_text(rows).encode())),
    "blank lines": lambda rows: ("t.csv", csv_text(rows[:5]) + "\n\n" + csv_text(rows[5:], header=[])[1:]),
    "an index column pandas wrote": lambda rows: (
        "t.csv",
        csv_text([[i, *r] for i, r in enumerate(rows)], header=["", *HEADER]),
    ),
}


@pytest.mark.parametrize("case", sorted(UNUSUAL))
def test_an_unusual_but_sound_file_gives_the_plain_file_s_predictions(model, case):
    folder, run = model
    rows = base_rows()
    name, content = UNUSUAL[case](rows)
    path = folder / case.replace(" ", "-") / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert predictions(run, path) == predictions(run, folder / "base.csv")
    assert cli("data", "info", path).exit_code == 0


@pytest.mark.parametrize("between", ["\n", "\n\n\n", "\r\n\r\n"])
def test_rows_after_blank_lines_are_named_by_their_own_line(model, between):
    # pyarrow skips a blank line: the rows after one were named a line too early
    folder, run = model
    rows = base_rows(6)
    rows[4][0] = "abc"
    path = folder / "blank.csv"
    text = csv_text(rows[:2]) + between + csv_text(rows[2:], header=[])[1:]
    path.write_text(text, newline="")
    line = text.splitlines().index(",".join(rows[4])) + 1
    assert one_line(cli("predict", path, "--run", run), predict=True) == (
        f"Error: {path}: line {line}: column 'x': 'abc' is not a number"
    )


def test_quoted_newlines_are_cells_and_rows_are_named_by_their_first_line(model):
    folder, run = model
    path = folder / "quoted.csv"
    rows = base_rows(6)
    rows[1][2] = "re\nd"  # an unseen category, on two lines
    rows[4][0] = "abc"
    path.write_text(csv_text(rows))
    result = cli("predict", path, "--run", run)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[2:] == [
        f"Error: {path}: line 7: column 'x': 'abc' is not a number",
        "5 of 6 rows predicted, 1 problem above",
    ]
    assert f"{path}: 1 cell holds a category not learned in training; colour: 're\\nd' (1)" in result.stderr
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["2", "3", "5", "6", "8"]


def test_a_cell_longer_than_a_block_is_read(model):
    folder, run = model
    rows = base_rows()
    rows[3][2] = "r" * (3 * 2**20)  # pyarrow reads 1 MiB blocks; a row longer than one straddled them
    path = folder / "long.csv"
    path.write_text(csv_text(rows))
    records = predictions(run, path)
    assert len(records) == 40 and records[:3] == predictions(run, folder / "base.csv")[:3]


def test_a_header_longer_than_a_header_is_refused_at_once(model):
    folder, _ = model
    path = folder / "long-header.csv"
    with open(path, "wb") as f:  # 65 MiB of header: its newline was looked for from the start after each 64 kB
        f.write(b"x,y," + b'"h' * (tables.MAX_HEADER_BYTES // 2 + 2**19) + b'"\n1,2,3\n')
    assert one_line(cli("data", "info", path)) == f"Error: {path}: the header row is longer than 64 MiB; not a table"


# --- cells: missing, NaN, targets ---------------------------------------------------------------------------------


def test_nan_is_a_missing_cell_and_a_target_cell_missing_drops_its_row_with_a_count(model):
    folder, _ = model
    rows = base_rows()
    rows[2][0], rows[5][1], rows[7][3], rows[9][3] = "NaN", "nan", "", "NA"
    path = folder / "missing.csv"
    path.write_text(csv_text(rows))
    info = cli("data", "info", path)
    assert info.exit_code == 0
    assert re.search(r"│ x +│ number +│ +1 │", info.stdout) and re.search(r"│ label +│ \w+ +│ +2 │", info.stdout)
    result = cli("train", "--config", config_for(folder, path, name="missing"), "--quiet")
    assert result.exit_code == 0, result.output
    assert f"Warning: {path}: 2 rows without a target value left out (line 9 is the first)" in result.stderr
    saved = checkpoint.load(Path(result.stdout.splitlines()[-1]) / "checkpoint.npz")
    assert [(c["name"], c["missing"]) for c in saved.encoder.columns] == [("x", True), ("y", True), ("colour", False)]


def test_a_target_missing_or_of_one_class_is_refused(model):
    folder, _ = model
    rows = base_rows()
    path = folder / "targets.csv"
    path.write_text(csv_text(rows, header=["x", "y", "colour", "lbl"]))
    result = cli("train", "--config", config_for(folder, path, name="missing-target"))
    assert one_line(result) == f"Error: data.target: {path} has no column 'label' (did you mean 'lbl'?)"
    path.write_text(csv_text([[x, y, c, "yes"] for x, y, c, _ in rows]))
    result = cli("train", "--config", config_for(folder, path, name="one-class"))
    assert one_line(result) == (
        f"Error: data.target: 'label' has one class ('yes') in the training rows of {path}; a classifier needs two "
        "or more"
    )
    path.write_text(csv_text([[x, y, c, ""] for x, y, c, _ in rows]))
    result = cli("train", "--config", config_for(folder, path, name="no-target"))
    assert one_line(result) == f"Error: {path}: no row has a value in the target column 'label'"


def test_a_regression_target_of_numbers_too_large_is_refused_before_training(model):
    # its standard deviation was inf: training went on and saved a checkpoint that no command could load
    folder, _ = model
    rows = [[x, y, c, repr(float(x) * 1e200)] for x, y, c, _ in base_rows()]
    path = folder / "huge.csv"
    path.write_text(csv_text(rows))
    line = one_line(cli("train", "--config", config_for(folder, path, name="huge")))
    assert line.startswith(f"Error: {path}: line 2, column 'label': ") and f"dnn takes, {MAX_MAGNITUDE:g}" in line


# --- categories, columns, names -----------------------------------------------------------------------------


def test_a_category_of_a_value_a_row_is_grouped_into_other_with_a_warning(model):
    # measured by hand at a million distinct values (docs/performance.md); 20,000 takes the same path: every
    # value is seen once, fewer than data.min_category_count, so all share 'other'
    folder, run = model
    rows = [[*row[:2], f"c{i}", row[3]] for i, row in enumerate(base_rows(20_000))]
    path = folder / "identifiers.csv"
    path.write_text(csv_text(rows))
    result = cli("train", "--config", config_for(folder, path, name="identifiers"), "--quiet")
    assert result.exit_code == 0, result.output
    assert (
        f"Warning: {path}: column 'colour' has 20,000 categories; 0 get an input of their own, the rest share "
        "'other' (nearly one per row: an identifier? put it in data.id or data.drop)"
    ) in result.stderr
    saved = checkpoint.load(Path(result.stdout.splitlines()[-1]) / "checkpoint.npz")
    assert saved.encoder.columns[2] == {
        "name": "colour", "kind": "category", "categories": [], "other": True, "missing": False,
    }  # fmt: skip


def test_a_wide_table_trains_and_predicts(model):
    # 100,000 columns (dnn's most) was measured by hand: 30 s to train, where a lookup of every column among
    # the table's names had made it hours (docs/performance.md); 2,000 columns take the same path
    folder, _ = model
    rng = np.random.default_rng(1)
    rows = [[*(f"{v:.3f}" for v in rng.normal(size=2000)), "yes" if i % 2 else "no"] for i in range(10)]
    path = folder / "wide.csv"
    path.write_text(csv_text(rows, header=[*(f"c{i}" for i in range(2000)), "label"]))
    result = cli("train", "--config", config_for(folder, path, name="wide"), "--quiet")
    assert result.exit_code == 0, result.output
    run = Path(result.stdout.splitlines()[-1])
    assert len(predictions(run, path)) == 10


def test_a_model_s_encoding_too_large_for_a_checkpoint_is_refused_before_training(model, monkeypatch):
    # long category names in many columns make a header the checkpoint loader refuses (64 MiB): refused here,
    # where it is caused; the bound scaled down so a small table reaches it
    folder, _ = model
    monkeypatch.setattr(encoding, "ENCODER_BYTES", 20_000)
    rows = [[*row[:2], f"{i % 8}" + "c" * 4000, row[3]] for i, row in enumerate(base_rows())]
    path = folder / "long-names.csv"
    path.write_text(csv_text(rows))
    line = one_line(cli("train", "--config", config_for(folder, path, name="long-names")))
    assert line.startswith(f"Error: {path.resolve()}: the model's encoding of the columns takes ")
    assert line.endswith(" of them); lower data.max_categories, or leave the column out with data.drop")
    assert re.search(r"\(column 'colour' 32,\d{3} of them\)", line)


def test_names_with_control_characters_or_markup_stay_on_their_line(model):
    folder, run = model
    header = ["x\ny", "[/bold]", "colour\x1b[31m", "label"]
    rows = [[*row[:3], row[3]] for row in base_rows()]
    rows[4][0] = "abc"
    path = folder / "names.csv"
    path.write_text(csv_text(rows, header=header))
    info = cli("data", "info", path)
    assert info.exit_code == 2
    assert one_line(info) == (
        # the header takes lines 1 and 2: its first name holds a newline
        f"Error: {path}: line 7, column 'x\\ny': 'abc' is not a number; fix the cell, leave it empty for a missing "
        "value, or set data.columns.x\\ny: category"
    )
    rows[4][0] = "1"
    path.write_text(csv_text(rows, header=header))
    info = cli("data", "info", path)  # rich once read '[/bold]' as its markup, and failed
    assert info.exit_code == 0 and "│ [/bold]" in info.stdout and "│ colour\\x1b[31m" in info.stdout
    assert "\x1b" not in info.stdout  # an escape sequence in a name never reaches the terminal


def test_a_warning_naming_a_file_with_a_line_break_is_one_line(model):
    folder, _ = model
    rows = base_rows()
    rows[3][3] = ""
    path = folder / "two\nlines.csv"
    path.write_text(csv_text(rows))
    result = cli("train", "--config", config_for(folder, path, name="lines"), "--quiet")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if "without a target value" in line]
    shown = str(path).replace("\n", "\\n")
    assert warnings == [f"Warning: {shown}: 1 row without a target value left out (line 5 is the first)"]


def test_a_fifo_a_device_and_a_symlink_loop_are_refused_without_being_opened(model):
    folder, run = model
    loop, zero = folder / "loop.csv", folder / "zero.csv"
    os.symlink(loop, loop)
    os.symlink("/dev/zero", zero)
    with FifoGuard(folder / "pipe.csv") as fifo:
        for path, message in (
            (fifo.path, "is a FIFO (named pipe), not a regular file"),
            (zero, "is a device or socket, not a regular file"),
            (loop, "a loop of symbolic links, not a table"),
        ):
            for command, result in every_command(folder, run, path).items():
                assert message in one_line(result), (command, path)


# --- predict and evaluate: the model's columns ---------------------------------------------------------------------


def test_predict_names_a_column_the_model_takes_and_ignores_extra_ones(model):
    folder, run = model
    rows = base_rows()
    path = folder / "fewer.csv"
    path.write_text(csv_text([[x, c, v] for x, _, c, v in rows], header=["x", "colour", "label"]))
    assert one_line(cli("predict", path, "--run", run)) == (
        f"Error: {path}: no column 'y', which the model takes; the file has 'x', 'colour', 'label'"
    )
    path = folder / "more.csv"
    path.write_text(csv_text([[v, "extra", *r[:3]] for *r, v in rows], header=["label", "note", "x", "y", "colour"]))
    assert predictions(run, path) == predictions(run, folder / "base.csv")


def test_evaluate_names_the_column_it_needs_not_a_config_key(model):
    # it said "data.columns: ... has no column 'y'", a key no one had set
    folder, run = model
    path = folder / "no-target.csv"
    path.write_text(csv_text([r[:3] for r in base_rows()], header=HEADER[:3]))
    assert one_line(cli("evaluate", "--run", run, "--data", path)) == (
        f"Error: {path}: no column 'label', which the model predicts: evaluate scores against it (dnn predict needs "
        "none); the file has 'x', 'y', 'colour'"
    )
    path = folder / "no-y.csv"
    path.write_text(csv_text([[x, c, v] for x, _, c, v in base_rows()], header=["x", "colour", "label"]))
    assert one_line(cli("evaluate", "--run", run, "--data", path)).startswith(
        f"Error: {path}: no column 'y', which the model {run / 'checkpoint.npz'} takes;"
    )


# --- Parquet columns of every kind pyarrow writes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "column",
    [
        pa.array(np.arange(40, dtype="int64") * 1_000_000_001 + 7, type=pa.timestamp("ns")),  # pandas' own
        pa.array([10**15] * 40, type=pa.timestamp("s")),  # beyond Python's datetime and a microsecond's int64
        pa.array(np.arange(40, dtype="int64") * 86_400_000 + 5, type=pa.date64()),
        pa.array([2**64 - 1, 0] * 20, type=pa.uint64()),  # beyond 2**53: the float nearest it
        pa.array([2**62 + 1, 5] * 20, type=pa.int64()),
        pa.array(["a", "b"] * 20, type=pa.string_view()),
        pa.array([float("nan"), 2.5, None, 3.5] * 10),
    ],
    ids=["timestamp ns", "timestamp far", "date64", "uint64 max", "int64 large", "string view", "float nan"],
)
def test_a_parquet_column_of_any_flat_kind_trains_and_is_kept_as_an_id(model, parquet_base, column):
    folder, _ = model
    path = folder / "kinds.parquet"
    pq.write_table(pq.read_table(parquet_base).append_column("t", column), path)
    for ids in ([], ["t"]):
        config = config_for(folder, path, name="kinds", id=ids)
        result = cli("train", "--config", config, "--quiet")
        assert result.exit_code == 0, result.output
        predicted = cli("predict", path, "--run", result.stdout.splitlines()[-1], "--json")
        assert predicted.exit_code == 0, predicted.output
        assert len(predicted.stdout.splitlines()) == 40 and all(
            json.loads(line) for line in predicted.stdout.splitlines()
        )


def test_nan_in_a_parquet_column_read_as_categories_is_a_missing_cell(model, parquet_base):
    folder, _ = model
    path = folder / "nan-category.parquet"
    pq.write_table(
        pq.read_table(parquet_base).append_column("code", pa.array([1.0, float("nan"), 2.0, 3.0] * 10)), path
    )
    config = config_for(folder, path, name="nan-category", columns={"code": "category"}, min_category_count=1)
    result = cli("train", "--config", config, "--quiet")
    assert result.exit_code == 0, result.output
    saved = checkpoint.load(Path(result.stdout.splitlines()[-1]) / "checkpoint.npz")
    code = next(c for c in saved.encoder.columns if c["name"] == "code")
    assert code["categories"] == ["1", "2", "3"] and code["missing"]


# --- a checkpoint's header 'table' edited by hand: refused when loaded -------------------------------------------


def npy_bytes(data):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "|u1", "fortran_order": False, "shape": (len(data),)})
    return buffer.getvalue() + data


def with_table(source, path, edit):
    """A copy of the checkpoint ``source`` whose header's 'table' is ``edit``ed (a function of the header)."""
    with zipfile.ZipFile(source) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    header = json.loads(np.load(source)["header"].tobytes())
    edit(header)
    members["header.npy"] = npy_bytes(json.dumps(header).encode())
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def setter(*keys, value):
    def edit(header):
        node = header["table"]
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


COLUMNS_TEXT = "has a column that is not a name and one of number, category, boolean"
EDITS = {
    "table of a list": (setter("columns", value={}), "must hold 'columns', 'target' and 'ids', and nothing else"),
    "a name empty": (setter("columns", 0, "name", value=" "), COLUMNS_TEXT),
    "a kind of a list": (setter("columns", 0, "kind", value=["number"]), COLUMNS_TEXT),
    "a mean nan": (setter("columns", 0, "mean", value=float("nan")), "column 'x' whose number statistics"),
    "a mean of 400 digits": (setter("columns", 0, "mean", value=10**400), "column 'x' whose number statistics"),
    "a mean beyond": (setter("columns", 0, "mean", value=1e300), "column 'x' whose number statistics"),
    "a std too small": (setter("columns", 0, "std", value=1e-320), "column 'x' whose number statistics"),
    "a std of text": (setter("columns", 1, "std", value="1"), "column 'y' whose number statistics"),
    "a flag of text": (setter("columns", 0, "missing", value="no"), "column 'x' whose number statistics"),
    "a field more": (setter("columns", 0, "median", value=0.0), "column 'x' whose number statistics"),
    "categories twice": (setter("columns", 2, "categories", value=["red", "red", "blue"]), "column 'colour'"),
    "a category number": (setter("columns", 2, "categories", value=["red", 5, "blue"]), "column 'colour'"),
    "other as a number": (setter("columns", 2, "other", value=1), "column 'colour' whose category statistics"),
    "one width more": (setter("columns", 2, "other", value=True), "encodes 6 inputs, the first layer takes 5"),
    "one width less": (setter("columns", 2, "categories", value=["red"]), "encodes 3 inputs, the first layer takes 5"),
    "a column twice": (setter("columns", 1, "name", value="x"), "names column 'x' twice"),
    "ids of a feature": (setter("ids", value=["x"]), "has ids that are not column names of their own"),
    "ids twice": (setter("ids", value=["k", "k"]), "has ids that are not column names of their own"),
    "a task unknown": (setter("target", "task", value="ranking"), "has no readable target"),
    "the target a feature": (
        setter("target", "columns", value=["x"]),
        "has the column 'x' as a feature and the target",
    ),
    "classes twice": (setter("target", "classes", value=["no", "no"]), "without two or more classes"),
    "boolean of words": (setter("target", "kind", value="boolean"), "boolean target whose classes are not false and"),
    "a kind of a list for the target": (setter("target", "kind", value=["category"]), "has a target of no kind"),
    "a target field more": (setter("target", "mean", value=[0.0]), "whose fields are not classes, columns, kind, task"),
}


@pytest.mark.parametrize("case", sorted(EDITS))
def test_a_hand_edited_table_header_is_refused_at_load_by_every_command(model, case):
    folder, run = model
    edit, message = EDITS[case]
    path = with_table(run / "checkpoint.npz", folder / f"{case.replace(' ', '-')}.npz", edit)
    results = {
        "predict": cli("predict", folder / "base.csv", "--checkpoint", path),
        "evaluate": cli("evaluate", "--checkpoint", path, "--data", folder / "base.csv", "--json", "-"),
        "export": cli("export", "--checkpoint", path, "--out", folder / "m.onnx"),
    }
    for command, result in results.items():
        line = one_line(result)
        assert line.startswith(f"Error: {path}: ") and message in line, (command, line)


@pytest.fixture(scope="module")
def regression(model):
    folder, _ = model
    result = cli("train", "--config", config_for(folder, folder / "base.csv", name="regression", target="x"), "--quiet")
    assert result.exit_code == 0, result.output
    return Path(result.stdout.splitlines()[-1])


@pytest.mark.parametrize(
    "value, message",
    [
        ([float("inf")], "without a finite mean per column"),
        ([0.0, 1.0], "without a finite mean per column"),
        (0.0, "without a finite mean per column"),
    ],
)
def test_a_regression_target_edited_by_hand_is_refused_at_load(model, regression, value, message):
    folder, _ = model
    path = with_table(regression / "checkpoint.npz", folder / "regression.npz", setter("target", "mean", value=value))
    assert message in one_line(cli("predict", folder / "base.csv", "--checkpoint", path))
    for std in ([0], [1e300], ["1"]):
        path = with_table(regression / "checkpoint.npz", folder / "regression.npz", setter("target", "std", value=std))
        assert "without a standard deviation from 1e-150 to 1e+150 per column" in one_line(
            cli("predict", folder / "base.csv", "--checkpoint", path)
        )


def test_the_encoder_s_share_of_a_header_leaves_the_rest_room():
    assert 2 * encoding.ENCODER_BYTES <= checkpoint.MAX_HEADER_BYTES


def test_names_like_config_keys_or_yaml_words_survive_init_config_and_check(model):
    folder, _ = model
    header = ["data.target", "null", "<<", "a\nb", "label"]
    path = folder / "keys.csv"
    path.write_text(csv_text([[x, y, c, x, v] for x, y, c, v in base_rows()], header=header))
    config = folder / "keys.yaml"
    assert cli("init-config", config, "--table", path, "--target", "label", "--force").exit_code == 0
    assert yaml.safe_load(config.read_text())["data"]["columns"] == {
        "data.target": "number", "null": "number", "<<": "category", "a\nb": "number",
    }  # fmt: skip
    check = cli("check", "--config", config)
    assert check.exit_code == 0, check.output
    assert "columns:      4 columns give 6 inputs (number: data.target, null, a\\nb; category: <<)" in check.stdout


def test_a_cell_python_cannot_hold_is_named_as_pyarrow_writes_it(model, regression, parquet_base):
    # the regression's 'label' is boolean; a date in it before year 1 was an unexpected OverflowError
    folder, _ = model
    path = folder / "dates.parquet"
    columns = pq.read_table(parquet_base)
    dates = pa.array([-719529] + [None] * 39, type=pa.date32())
    pq.write_table(columns.set_column(3, "label", dates), path)
    result = cli("predict", path, "--run", regression)
    assert one_line(result, predict=True) == (
        f"Error: {path}: row 1: column 'label': '-0001-12-31' is not true or false (the column is boolean)"
    )
    assert result.stderr.splitlines()[-1] == "39 of 40 rows predicted, 1 problem above"
