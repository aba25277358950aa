"""Whatever table a user gives dnn, it is read or refused in one line: exit 0 or 2, never a traceback.

Random CSV text (any names, cells, delimiters, line ends, encodings, ragged rows, gzip, cut short) and random
Parquet tables (every flat kind pyarrow writes, missing cells, NaN and infinity, names twice, nested columns)
go through `dnn data info`, `dnn init-config --table`, `dnn predict` and `dnn evaluate --data` on a small
trained table model, and `dnn train`; Parquet files damaged byte by byte go through `dnn data info` in a
process whose memory is capped; checkpoints whose header 'table' is mutated go through predict, evaluate and
export. With ``catch_exceptions=False`` any exception that escapes fails the test. Nothing is lost: a table
`dnn data info` reads is predicted row for row, each row once, in order, a prediction or its error.
"""

import copy
import csv
import gzip
import io
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_tables import HEADER, base_rows, npy_bytes

from dnncli.cli import main

SETTINGS = settings(
    max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 25)), deadline=None, suppress_health_check=list(HealthCheck)
)
FEW = settings(SETTINGS, max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 8)))  # a process each
LEFT = ("Warning: ", "model: ")  # what stderr may say besides errors
SUMMARY = re.compile(r"^\d+ of \d+ rows? predicted, \d+ problems? above$")  # predict's, after the rows it names


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def checked(result, command):
    """A command's result, succeeded or refused in lines each an error, a warning or predict's count; a run
    that learned nothing from a table of a few rows fails (exit 1), saying so in one line."""
    assert result.exit_code in (0, 2) or (command == "train" and "Error: the model learned nothing" in result.stderr)
    assert "Traceback" not in result.output and "unexpected" not in result.stderr, (command, result.stderr)
    for line in result.stderr.splitlines():
        assert line.startswith(("Error: ", *LEFT)) or SUMMARY.match(line), (command, line)
    if result.exit_code != 0:
        assert any(line.startswith("Error: ") for line in result.stderr.splitlines()), (command, result.stderr)
    return result


def train_config(folder, train, **data):
    path = folder / "t.yaml"
    config = {
        "name": "t",
        "data": {"train": str(train), "target": "label", **data},
        "model": {"layers": ["auto", 3, "auto"]},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "epochs": 1, "log_every": 5},
        "output": {"dir": str(folder / "runs")},
    }
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """A classifier and a regression of the base table: numbers x and y, a colour, the class label (yes/no)."""
    folder = tmp_path_factory.mktemp("table-properties")
    with open(folder / "base.csv", "w", newline="") as f:
        csv.writer(f).writerows([HEADER, *base_rows()])
    runs = {}
    for name, target in (("classifier", "label"), ("regression", "x")):
        result = cli("train", "--config", train_config(folder, folder / "base.csv", target=target), "--quiet")
        assert result.exit_code == 0, result.output
        runs[name] = Path(result.stdout.strip().splitlines()[-1])
    return folder, runs


def through_every_command(folder, runs, path):
    """``path`` through data info, init-config, predict, evaluate and train, each result checked; and what data
    info reads, predict predicts row for row."""
    info = checked(cli("data", "info", path), "data info")
    checked(cli("init-config", folder / "new.yaml", "--table", path, "--force"), "init-config")
    for run in runs.values():
        predicted = checked(cli("predict", path, "--run", run, "--json"), "predict")
        checked(cli("evaluate", "--run", run, "--data", path, "--json", "-"), "evaluate")
        if info.exit_code == 0 and predicted.stdout:
            rows = int(re.search(r", (\d+) rows?, ", info.stdout.splitlines()[0]).group(1))
            records = [json.loads(line) for line in predicted.stdout.splitlines()]
            where = [r.get("line", r.get("row")) for r in records]
            assert len(records) == rows and where == sorted(set(where)), (rows, where)
            assert all(("error" in r) != ("predicted" in r) for r in records)
    checked(cli("train", "--config", train_config(folder, path), "--quiet"), "train")


# --- CSV -----------------------------------------------------------------------------------------------------------

NAMES = st.one_of(
    st.sampled_from([*HEADER, "", " ", "Unnamed: 0", "data.target", "a\nb", "[/x]", "col\x1b[31m", "é", '"q"']),
    st.text(max_size=6),
)
CELLS = st.one_of(
    st.sampled_from(
        ["", "NA", "nan", "NaN", "null", "?", "inf", "-inf", "1e200", "1e400", "0,5", "1,5e3", "true", "yes", "no"]
    ),
    st.sampled_from(["1", "0", "-0", "+3.5e2", " 7 ", '"', "a,b", "a;b", "a\nb", "\r", "\t", "red", "blue", "é"]),
    st.floats().map(repr),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=8),
)


@st.composite
def random_rows(draw):
    """A header and rows of random cells, some ragged."""
    columns = draw(st.integers(1, 5))
    header = draw(st.lists(NAMES, min_size=columns, max_size=columns))
    if draw(st.booleans()):  # most columns named as the model's
        header = [HEADER[i] if i < len(HEADER) and draw(st.booleans()) else name for i, name in enumerate(header)]
    row = st.lists(CELLS, min_size=columns, max_size=columns)
    ragged = st.lists(CELLS, min_size=0, max_size=columns + 2)
    return header, draw(st.lists(st.one_of(row, row, row, ragged), max_size=12))


@st.composite
def edited_rows(draw):
    """The base table's header and some of its rows, a few cells, names and rows edited: mostly a table the
    model reads, with a few cells it cannot take."""
    header, rows = list(HEADER), [list(row) for row in base_rows(draw(st.integers(1, 30)))]
    for _ in range(draw(st.integers(0, 4))):
        i, j = draw(st.integers(0, len(rows) - 1)), draw(st.integers(0, len(HEADER) - 1))
        edit = draw(st.sampled_from(["cell", "cell", "name", "drop a cell", "add a cell"]))
        if edit == "cell" and j < len(rows[i]):  # an earlier edit may have dropped the row's last cells
            rows[i][j] = draw(CELLS)
        elif edit == "name":
            header[j] = draw(NAMES)
        elif edit == "drop a cell" and j < len(rows[i]):
            del rows[i][j]
        elif edit == "add a cell":
            rows[i].insert(j, draw(CELLS))
    return header, rows


@st.composite
def csv_files(draw):
    """(file name, bytes) of a CSV-ish file: a header and rows, written with a delimiter, quoting and line ends,
    in an encoding, maybe with a BOM, gzipped or cut short."""
    header, rows = draw(st.one_of(random_rows(), edited_rows()))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]))
    text = io.StringIO()
    writer = csv.writer(text, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    writer.writerows([header, *rows])
    text = draw(st.sampled_from(["", "\ufeff"])) + text.getvalue()
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8", "latin-1", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    name = "t.csv"
    if draw(st.integers(0, 4)) == 0:
        data, name = gzip.compress(data), "t.csv.gz"
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    return name, data


@SETTINGS
@given(file=st.one_of(csv_files(), st.tuples(st.just("t.csv"), st.binary(max_size=300))))
def test_any_csv_file_is_read_or_refused_in_one_line(model, file):
    folder, runs = model
    name, data = file
    with tempfile.TemporaryDirectory(prefix="dnn-csv-prop-") as where:
        path = Path(where) / name
        path.write_bytes(data)
        through_every_command(Path(where), runs, path)


@SETTINGS
@given(file=csv_files())
def test_a_csv_file_read_from_disk_trains_or_is_refused_as_in_memory(file):
    """A table read a block at a time (data.in_memory: false) is refused with the line it is refused with whole,
    and one read whole trains read from disk too, with the same training rows."""
    name, data = file
    with tempfile.TemporaryDirectory(prefix="dnn-csv-stream-") as where:
        folder = Path(where)
        path = folder / name
        path.write_bytes(data)
        results = {}
        for in_memory in (True, False):
            config = train_config(folder, path, in_memory=in_memory)
            text = yaml.safe_load(config.read_text())
            text["training"]["batch_size"] = 4
            config.write_text(yaml.safe_dump(text))
            results[in_memory] = checked(cli("train", "--config", config, "--quiet"), "train")
        whole, streamed = results[True], results[False]
        errors = [[line for line in r.stderr.splitlines() if line.startswith("Error: ")] for r in (whole, streamed)]
        assert whole.exit_code == streamed.exit_code and errors[0] == errors[1], (whole.stderr, streamed.stderr)


# --- Parquet ---------------------------------------------------------------------------------------------------------


@st.composite
def parquet_columns(draw, rows):
    """A pyarrow array of ``rows`` cells of one flat kind pyarrow writes to Parquet, some missing; or, now and
    then, a nested one."""
    maybe = lambda values: st.lists(st.one_of(st.none(), values), min_size=rows, max_size=rows)  # noqa: E731
    kind = draw(st.integers(0, 12))
    if kind == 0:
        return pa.array(draw(maybe(st.integers(-(2**63), 2**63 - 1))), type=pa.int64())
    if kind == 1:
        return pa.array(draw(maybe(st.integers(0, 2**64 - 1))), type=pa.uint64())
    if kind == 2:
        return pa.array(draw(maybe(st.floats())), type=pa.float64())
    if kind == 3:
        return pa.array(draw(maybe(st.floats(width=32))), type=pa.float32())
    if kind == 4:
        return pa.array(draw(maybe(st.text(max_size=6))), type=pa.string())
    if kind == 5:
        return pa.array(draw(maybe(st.booleans())), type=pa.bool_())
    if kind == 6:
        unit = draw(st.sampled_from(["ms", "us", "ns"]))
        return pa.array(draw(maybe(st.integers(-(2**63) + 1, 2**63 - 1))), type=pa.timestamp(unit))
    if kind == 7:
        return pa.array(draw(maybe(st.integers(-(2**31), 2**31 - 1))), type=pa.date32())
    if kind == 8:
        words = draw(maybe(st.sampled_from(["red", "green", "blue", "yes", "no"])))
        return pa.array(words, type=pa.dictionary(pa.int32(), pa.string()))
    if kind == 9:
        return pa.nulls(rows)
    if kind == 10:
        return pa.array(draw(maybe(st.integers(0, 1))), type=pa.int8())
    if kind == 11:
        return pa.array(draw(maybe(st.sampled_from(["yes", "no", "true", "false"]))), type=pa.large_string())
    return pa.array(draw(maybe(st.lists(st.integers(0, 3), max_size=2))))  # nested: refused


@st.composite
def parquet_tables(draw):
    rows = draw(st.integers(0, 10))
    columns = draw(st.integers(1, 5))
    names = draw(st.lists(NAMES, min_size=columns, max_size=columns))
    if draw(st.booleans()):
        names = [HEADER[i] if i < len(HEADER) else name for i, name in enumerate(names)]
    arrays = [draw(parquet_columns(rows)) for _ in names]
    return pa.Table.from_arrays(arrays, names=names), draw(st.integers(1, 4))


@SETTINGS
@given(table=parquet_tables())
def test_any_parquet_table_is_read_or_refused_in_one_line(model, table):
    folder, runs = model
    columns, group_rows = table
    with tempfile.TemporaryDirectory(prefix="dnn-parquet-prop-") as where:
        path = Path(where) / "t.parquet"
        pq.write_table(columns, path, row_group_size=group_rows)
        through_every_command(Path(where), runs, path)


def capped(limit):
    """A child process's memory capped at ``limit`` bytes: an allocation beyond it fails, it never grows."""
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@FEW
@given(
    where=st.sampled_from(["footer", "anywhere", "cut"]),
    offsets=st.lists(st.integers(0, 2**16), min_size=1, max_size=6),
    values=st.binary(min_size=6, max_size=6),
)
def test_a_parquet_file_damaged_anywhere_is_read_or_refused_in_one_line(model, where, offsets, values):
    folder, _ = model
    good = folder / "base.parquet"
    if not good.exists():
        rows = base_rows()
        table = {name: [row[i] for row in rows] for i, name in enumerate(HEADER)}
        pq.write_table(pa.table({**table, "x": [float(v) for v in table["x"]]}), good)
    data = bytearray(good.read_bytes())
    size = int.from_bytes(data[-8:-4], "little")
    if where == "cut":
        data = data[: offsets[0] % len(data)] + data[-4:]
    for offset, value in zip(offsets, values, strict=False):
        if where != "cut":
            start = len(data) - 8 - size if where == "footer" else 0
            data[start + offset % (len(data) - start)] = value
    with tempfile.TemporaryDirectory(prefix="dnn-damaged-prop-") as tmp:
        path = Path(tmp) / "t.parquet"
        path.write_bytes(bytes(data))
        result = subprocess.run(
            [sys.executable, "-m", "dnncli", "data", "info", str(path)],
            capture_output=True, text=True, timeout=120, preexec_fn=capped(4 * 2**30),
        )  # fmt: skip
    assert result.returncode in (0, 2), result.stderr
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith(LEFT)]
    assert len(errors) == (result.returncode == 2) and all(line.startswith("Error: ") for line in errors), errors


# --- checkpoints whose header 'table' is mutated ---------------------------------------------------------------------

JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.sampled_from([10**400, 0, 1, 2, -1]),
        st.floats(),
        st.text(max_size=6),
        st.sampled_from(["x", "y", "colour", "label", "number", "category", "boolean", "classification", "regression"]),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def places(node, path=()):
    """Every place in a JSON value: (path of keys and indices, value)."""
    yield path, node
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from places(child, (*path, key))


@SETTINGS
@given(data=st.data(), which=st.sampled_from(["classifier", "regression"]))
def test_a_checkpoint_whose_table_header_is_mutated_loads_checked_or_is_refused(model, data, which):
    folder, runs = model
    source = runs[which] / "checkpoint.npz"
    header = json.loads(np.load(source)["header"].tobytes())
    table = copy.deepcopy(header["table"])
    for _ in range(data.draw(st.integers(1, 3))):
        path, node = data.draw(st.sampled_from(list(places(table))))
        action = data.draw(st.sampled_from(["replace", "delete", "add"]))
        parent = table
        for key in path[:-1]:
            parent = parent[key]
        if not path:
            table = data.draw(JSON_VALUES)
            break
        if action == "replace":
            parent[path[-1]] = data.draw(JSON_VALUES)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(node, dict):
            node[data.draw(st.text(max_size=6))] = data.draw(JSON_VALUES)
        elif action == "add" and isinstance(node, list):
            node.append(data.draw(JSON_VALUES))
    header["table"] = table
    with tempfile.TemporaryDirectory(prefix="dnn-header-prop-") as where:
        path = Path(where) / "c.npz"
        with zipfile.ZipFile(source) as z:
            members = {info.filename: z.read(info) for info in z.infolist()}
        members["header.npy"] = npy_bytes(json.dumps(header).encode())
        with zipfile.ZipFile(path, "w") as z:
            for name, member in members.items():
                z.writestr(name, member)
        base = folder / "base.csv"
        predicted = checked(cli("predict", base, "--checkpoint", path, "--json"), "predict")
        checked(cli("evaluate", "--checkpoint", path, "--data", base, "--json", "-"), "evaluate")
        checked(cli("export", "--checkpoint", path, "--out", Path(where) / "m.onnx"), "export")
        if predicted.exit_code == 2:  # refused when loaded, naming the checkpoint; or the table lacks its columns
            lines = [line for line in predicted.stderr.splitlines() if not line.startswith(LEFT)]
            assert lines and lines[0].startswith((f"Error: {path}: ", f"Error: {base}: ")), lines
            return
        for record in map(json.loads, predicted.stdout.splitlines()):  # loaded: every prediction a number
            values = record["predicted"].values() if which == "regression" else record["probabilities"].values()
            assert all(isinstance(v, float) and np.isfinite(v) for v in values), record
