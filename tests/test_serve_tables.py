"""`dnn serve` of a table model as a real process on 127.0.0.1, spoken to over HTTP with httpx: JSON rows and
uploaded table files get the records `dnn predict --json` gives, a row the model cannot take its error."""

import datetime
import gzip
import json
import math
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from tabledata import mixed_columns, write_mixed_csv
from test_serve import Server
from test_tables import diabetes, table_config, train  # noqa: F401 (diabetes: its fixture)

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")


def cli(*args):
    from click.testing import CliRunner

    from dnncli.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """A classifier of the mixed table (numbers, colours beyond four sharing 'other', booleans, missing cells),
    its id column kept in predictions; and new rows for it, as columns of Python values."""
    folder = tmp_path_factory.mktemp("mixed-serve")
    write_mixed_csv(folder / "mixed.csv", mixed_columns())
    config = table_config(folder, folder / "mixed.csv", name="mixed", id="id", max_categories=4)
    run = train(cli, config, f"output.dir={folder / 'runs'}")
    new = mixed_columns(m=40, seed=5)
    new["colour"][:3] = ["teal", None, "violet"]  # unseen, missing, rare
    new["size"][3] = None  # size had no missing cell in training
    return folder, run, new


@pytest.fixture(scope="module")
def server(mixed_run, tmp_path_factory):
    _, run, _ = mixed_run
    running = Server(tmp_path_factory.mktemp("serve-tables"), "--run", run, "--max-rows", 50, "--max-upload-mb", 1)
    yield running
    running.stop()


def as_rows(columns):
    names = list(columns)
    return [{name: columns[name][i] for name in names} for i in range(len(columns[names[0]]))]


def predicted_json(run, path):
    result = cli("predict", path, "--run", run, "--json")
    return [json.loads(line) for line in result.stdout.splitlines()], result


def without(record, key):
    return {k: v for k, v in record.items() if k != key}


def post_rows(server, rows, **kwargs):
    return httpx.post(server.url + "/predict", json={"rows": rows}, timeout=60, **kwargs)


def post_file(server, name, data):
    return httpx.post(server.url + "/predict", files={"table": (name, data)}, timeout=60)


def test_info_says_it_is_a_table_model_and_lists_its_columns(server, mixed_run):
    _, run, _ = mixed_run
    info = httpx.get(server.url + "/info").json()
    assert info["data"] == "table" and info["task"] == "classification" and info["classes"] == ["no", "yes"]
    assert info["columns"] == [
        {"name": "size", "kind": "number"},
        {"name": "weight", "kind": "number"},
        {"name": "colour", "kind": "category", "categories": ["red", "green", "blue", "yellow"]},
        {"name": "indoor", "kind": "boolean"},
    ]
    assert info["ids"] == ["id"] and info["max_rows"] == 50 and info["max_upload_bytes"] == 1_000_000
    assert info["checkpoint"] == str(run / "checkpoint.npz") and "input_shape" not in info


def test_rows_get_the_records_dnn_predict_gives_their_file(server, mixed_run, tmp_path):
    _, run, new = mixed_run
    expected, _ = predicted_json(run, write_mixed_csv(tmp_path / "new.csv", new))
    response = post_rows(server, as_rows(new))
    assert response.status_code == 200, response.text
    answer = response.json()
    records = answer["predictions"]
    assert [r["row"] for r in records] == list(range(1, 41))
    assert [without(r, "row") for r in records] == [without(r, "line") for r in expected]  # to the bit
    grouped = [c for c in new["colour"] if c not in (None, "red", "green", "blue", "yellow")]
    assert answer["unknown_categories"] == {"colour": {c: grouped.count(c) for c in grouped}} and "teal" in grouped
    for i in (0, 7, 39):  # alone, a row gets the same record as among the others
        [alone] = post_rows(server, [as_rows(new)[i]]).json()["predictions"]
        assert without(alone, "row") == without(expected[i], "line")


def test_a_row_the_model_cannot_take_gets_its_error_and_the_others_are_predicted(server, mixed_run, tmp_path):
    _, run, new = mixed_run
    rows = as_rows(new)[:9]
    expected, _ = predicted_json(run, write_mixed_csv(tmp_path / "new.csv", new))
    del rows[1]["weight"]
    del rows[2]["weight"], rows[2]["colour"]
    rows[3]["size"] = "tall"
    rows[4]["indoor"] = "maybe"
    rows[5]["size"] = [1, 2]
    rows[6] = ["not", "an", "object"]
    rows[7]["size"] = "12.5"  # a number written as text is a number, as in a CSV file
    rows[8]["colour"] = 3  # a category written as a number is that category's text
    response = post_rows(server, rows)
    assert response.status_code == 200
    records = response.json()["predictions"]
    assert records[1:7] == [
        {"row": 2, "error": "no column 'weight', which the model takes"},
        {"row": 3, "error": "no columns 'weight', 'colour', which the model takes"},
        {"row": 4, "error": "column 'size': 'tall' is not a number"},
        {"row": 5, "error": "column 'indoor': 'maybe' is not true or false (the column is boolean)"},
        {"row": 6, "error": "column 'size': a JSON array is not a cell"},
        {"row": 7, "error": "a row is an object of column names and cells, not a JSON array"},
    ]
    assert without(records[0], "row") == without(expected[0], "line")
    assert records[7]["row"] == 8 and "predicted" in records[7] and "predicted" in records[8]
    assert response.json()["unknown_categories"]["colour"]["3"] == 1


def test_a_table_file_gets_what_dnn_predict_json_gives_it(server, mixed_run, tmp_path):
    _, run, new = mixed_run
    path = write_mixed_csv(tmp_path / "new.csv", new)
    lines = path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[1] = "tall"
    lines[5] = ",".join(cells)  # line 6: a cell that is not a number
    lines[9] = ",".join(lines[9].split(",")[:3])  # line 10: a ragged row
    path.write_text("\n".join(lines) + "\n")
    expected, result = predicted_json(run, path)
    assert result.exit_code == 2 and {"line": 10, "error": "has 3 cells, the header has 6"} in expected
    response = post_file(server, "new.csv", path.read_bytes())
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == expected
    assert post_file(server, "new.csv.gz", gzip.compress(path.read_bytes())).json()["predictions"] == expected
    parquet = tmp_path / "new.parquet"
    dated = {**new, "id": [datetime.datetime(2026, 1, 1) + datetime.timedelta(days=i) for i in range(40)]}
    pq.write_table(pa.table(dated), parquet)  # an id column of dates: JSON has none, the CSV output's text is given
    records = post_file(server, "rows.parquet", parquet.read_bytes()).json()["predictions"]
    expected, _ = predicted_json(run, parquet)
    assert records == expected and records[0]["row"] == 1 and records[1]["id"] == "2026-01-02 00:00:00"


def test_a_file_the_model_cannot_take_is_422_naming_it_not_a_path_of_the_server(server, mixed_run, tmp_path):
    _, _, new = mixed_run
    new = {name: cells for name, cells in new.items() if name != "weight"}
    write_mixed_csv(tmp_path / "short.csv", new)
    response = post_file(server, "short.csv", (tmp_path / "short.csv").read_bytes())
    assert response.status_code == 422
    assert response.json()["error"].startswith("short.csv: no column 'weight', which the model takes; the file has")
    for data, problem in (
        (b"", "empty; a table needs a header row and at least one row"),
        (b"\x89PNG\r\n\x1a\n\0\0\0", "a binary file, not CSV text"),
    ):
        response = post_file(server, "x.csv", data)
        assert response.status_code == 422 and response.json() == {"error": f"x.csv: {problem}"}, response.text


def test_limits_and_malformed_requests(server, mixed_run):
    _, _, new = mixed_run
    row = as_rows(new)[0]
    response = post_rows(server, [row] * 51)
    assert response.status_code == 413 and response.json() == {
        "error": "51 rows; at most 50 in one request (--max-rows)"
    }
    assert post_rows(server, [row] * 50).status_code == 200
    csv_text = "size,weight,colour,indoor\n" + "1,2,red,true\n" * 51
    response = post_file(server, "many.csv", csv_text.encode())
    assert response.status_code == 413 and "51 rows; at most 50" in response.json()["error"]
    big = {"rows": [row], "padding": "x" * 1_100_000}
    response = httpx.post(server.url + "/predict", json=big, timeout=30)
    assert response.status_code == 413 and response.json() == {"error": "the upload is over 1 MB (--max-upload-mb)"}

    def chunks():  # no Content-Length: the server counts what it reads
        yield b'{"rows": [], "padding": "'
        for _ in range(30):
            yield b"x" * 100_000

    headers = {"Content-Type": "application/json"}
    response = httpx.post(server.url + "/predict", content=chunks(), headers=headers, timeout=30)
    assert response.status_code == 413
    cases = [
        (b'{"rows": [', "not readable JSON (Expecting value: line 1 column 11 (char 10))"),
        (
            b'{"rows": [\xff]}',
            "not readable JSON ('utf-8' codec can't decode byte 0xff in position 10: invalid start byte)",
        ),
        (b'{"rows": {"size": 1}}', None),
        (b"[1, 2]", None),
        (b'{"rows": []}', "no rows: give one or more in rows"),
    ]
    for body, message in cases:
        response = httpx.post(server.url + "/predict", content=body, headers=headers)
        assert response.status_code == 400, body
        assert response.json()["error"] == (message or response.json()["error"])
        assert message or response.json()["error"].startswith('send rows as application/json, {"rows": [')
    response = httpx.post(server.url + "/predict", content=b"size=1", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400 and response.json()["error"].startswith("send rows as application/json")
    response = httpx.post(server.url + "/predict", files=[("a", ("a.csv", b"x\n1\n")), ("b", ("b.csv", b"x\n1\n"))])
    assert response.status_code == 400 and response.json() == {"error": "2 files; send one table file at a time"}
    assert httpx.get(server.url + "/health").json() == {"status": "ok"}
    assert "Traceback" not in server.output()


def test_a_regression_model_answers_each_target_in_its_units(diabetes, tmp_path):  # noqa: F811
    config = table_config(diabetes, diabetes / "diabetes.csv", name="serve-diabetes", test_fraction=0.2)
    config.write_text(config.read_text().replace("target: label", "target: progression"))
    run = train(cli, config, "training.epochs=20", f"output.dir={tmp_path / 'runs'}")
    lines = (diabetes / "diabetes.csv").read_text().splitlines()[:21]
    (tmp_path / "some.csv").write_text("\n".join(lines) + "\n")
    expected, _ = predicted_json(run, tmp_path / "some.csv")
    header = lines[0].split(",")
    rows = [dict(zip(header, map(float, line.split(",")), strict=True)) for line in lines[1:]]
    serving = Server(tmp_path, "--run", run)
    try:
        info = httpx.get(serving.url + "/info").json()
        assert info["task"] == "regression" and info["targets"] == ["progression"] and "classes" not in info
        records = post_rows(serving, rows).json()["predictions"]
        assert [without(r, "row") for r in records] == [without(r, "line") for r in expected]
        assert records[0]["predicted"]["progression"] > 25  # in the target's units
    finally:
        serving.stop()


def test_help_says_what_a_table_model_takes():
    help_text = cli("serve", "--help").stdout
    assert "--max-rows" in help_text and '{"rows": [{"column": value, ...}, ...]}' in help_text


cells = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["red", "teal", "true", "no", "1.5", "NA", ""]),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
)
rows = st.lists(
    st.one_of(
        st.dictionaries(st.sampled_from(["size", "weight", "colour", "indoor", "id", "other"]), cells, max_size=6),
        cells,
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 40)), deadline=None)
@given(rows=rows)
@example(rows=[{"size": 1, "weight": 2, "colour": 9.3e18, "indoor": True}, {"colour": math.inf}])  # beyond int64
def test_any_json_rows_get_a_record_each_never_a_failure(mixed_run, rows):
    """Whatever the cells, each row gets its prediction or its error, in order, as JSON a client can read."""
    from dnncli.model import checkpoint
    from dnncli.serve.app import Limits
    from dnncli.serve.tables import rows_answer
    from dnncli.text import finite_json

    _, run, _ = mixed_run
    saved = checkpoint.load(run / "checkpoint.npz")
    status, answer = rows_answer(saved, json.dumps({"rows": rows}).encode(), Limits())
    assert status == 200
    records = answer["predictions"]
    assert [r["row"] for r in records] == list(range(1, len(rows) + 1))
    for row, record in zip(rows, records, strict=True):
        complete = isinstance(row, dict) and {"size", "weight", "colour", "indoor"} <= set(row)
        assert ("error" in record) != ("predicted" in record)
        assert complete or "error" in record
        if complete and all(row[c] is None for c in ("size", "weight", "colour", "indoor")):
            assert "predicted" in record  # every cell missing: imputed
    json.dumps(finite_json(answer), allow_nan=False)


def test_a_model_that_overflows_on_rows_is_500_with_the_reason(mixed_run, tmp_path):
    from dnncli.model import checkpoint

    _, run, new = mixed_run
    saved = checkpoint.load(run / "checkpoint.npz")
    huge = {name: value * 1e300 if name.startswith("W") else value for name, value in saved.params.items()}
    checkpoint.save(tmp_path / "huge.npz", saved.header, huge, extra=saved.arrays)
    overflowing = Server(tmp_path, "--checkpoint", tmp_path / "huge.npz")
    try:
        response = post_rows(overflowing, as_rows(new)[:2])
        assert response.status_code == 500
        assert response.json()["error"] == (
            f"the model cannot predict these rows: {tmp_path / 'huge.npz'}: its weights overflow float64 on these "
            "rows (the output layer's pre-activation is inf or nan)"
        )
    finally:
        overflowing.stop()
