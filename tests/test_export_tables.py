"""`dnn export` of a table model: the ONNX graph takes the raw columns, as a program that has only onnxruntime
and a CSV file would give them, and answers what `dnn predict --json` answers for the same file."""

import csv
import json
import math
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tabledata import mixed_columns, write_csv, write_mixed_csv
from test_export import exported
from test_tables import diabetes, table_config, train  # noqa: F401 (diabetes: its fixture)

from dnncli import __version__
from dnncli.data.columns import KINDS
from dnncli.data.tables import MISSING, Table, read_table
from dnncli.model import checkpoint
from dnncli.model.onnx_export import TABLE_KINDS
from dnncli.model.predict import table_predictions

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def test_every_column_kind_has_its_onnx_piece():
    assert list(TABLE_KINDS) == list(KINDS)


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def onnx_feed(model_path, table_path):
    """The graph's inputs from a CSV file, read with Python's csv module as a program without dnn would: numbers
    and booleans as float64 (NaN for a missing cell), categories as the text of each cell."""
    columns = json.loads(session(model_path).get_modelmeta().custom_metadata_map["columns"])
    with open(table_path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    feed = {}
    for column in columns:
        cells = [row[column["name"]] for row in rows]
        if column["kind"] == "category":
            feed[column["name"]] = np.array(cells, dtype=object)
        elif column["kind"] == "boolean":
            feed[column["name"]] = np.array([{"true": 1.0, "false": 0.0}.get(c, math.nan) for c in cells])
        else:
            feed[column["name"]] = np.array([math.nan if c in MISSING else float(c) for c in cells])
    return feed


def predicted_json(dnn, run, table_path):
    result = dnn("predict", table_path, "--run", run, "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def new_rows(folder):
    """Rows the model has not seen, with every awkward cell: an unseen colour, colours and sizes, weights and
    booleans missing (size and indoor written as NA, as spreadsheets write them), a rare colour."""
    columns = mixed_columns(m=60, seed=7)
    columns["colour"][:6] = ["teal", "teal", None, "violet", "black", "red"]
    columns["size"][6:9] = [None, None, None]  # size had no missing cell in training: no indicator
    columns["weight"][9:12] = [None, None, None]
    columns["indoor"][12:15] = [None, None, None]
    path = write_mixed_csv(folder / "new.csv", columns)
    text = path.read_text().splitlines()
    text[8] = text[8].replace(",,", ",NA,", 1)  # line 9: its size is NA
    path.write_text("\n".join(text) + "\n")
    return path


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory):
    """Two classifiers of the mixed table: colours beyond four share 'other' in one; all six are kept in the other,
    so an unseen colour goes to no input."""
    from click.testing import CliRunner

    from dnncli.cli import main

    folder = tmp_path_factory.mktemp("mixed-export")
    write_mixed_csv(folder / "mixed.csv", mixed_columns())

    def dnn(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    runs = {}
    for name, data in {"other": {"max_categories": 4}, "kept": {"min_category_count": 1}}.items():
        config = table_config(folder, folder / "mixed.csv", name=name, id="id", **data)
        runs[name] = train(dnn, config, f"output.dir={folder / 'runs'}")
    return folder, runs


@pytest.mark.parametrize("model", ["other", "kept"])
def test_a_classifier_answers_as_dnn_predict_on_new_rows(model, mixed_runs, dnn, tmp_path):
    folder, runs = mixed_runs
    run = runs[model]
    stored = {c["name"]: c for c in checkpoint.load(run / "checkpoint.npz").header["table"]["columns"]}
    assert stored["colour"]["other"] == (model == "other") and stored["weight"]["missing"]
    assert stored["indoor"]["missing"] and not stored["size"]["missing"]
    rows = new_rows(tmp_path)
    records = predicted_json(dnn, run, rows)
    assert len(records) == 60 and all("error" not in r for r in records)
    classes = checkpoint.load(run / "checkpoint.npz").classes
    expected = np.array([[r["probabilities"][c] for c in classes] for r in records])
    labels = np.array([classes.index(r["predicted"]) for r in records])
    for dtype, tolerance in (("float64", 1e-12), ("float32", 1e-6)):
        path = exported(dnn, run, tmp_path / f"{dtype}.onnx", "--dtype", dtype)
        probabilities, label = session(path).run(None, onnx_feed(path, rows))
        assert probabilities.dtype == np.dtype(dtype) and probabilities.shape == (60, 2)
        np.testing.assert_allclose(probabilities, expected, rtol=0, atol=tolerance)
        np.testing.assert_array_equal(label, labels)
        one = session(path).run(None, {k: v[:1] for k, v in onnx_feed(path, rows).items()})  # any N
        np.testing.assert_allclose(one[0], expected[:1], rtol=0, atol=tolerance)


def test_unseen_and_missing_categories_take_the_inputs_dnn_gives_them(mixed_runs, dnn, tmp_path):
    """A row alone of each kind: its probabilities in the graph are dnn's to 1e-12 whatever the others are."""
    folder, runs = mixed_runs
    saved = checkpoint.load(runs["other"] / "checkpoint.npz")
    path = exported(dnn, runs["other"], tmp_path / "m.onnx")
    base = {"id": "x", "size": "10.5", "weight": "48.25", "indoor": "true", "label": "yes"}
    colours = ["red", "yellow", "violet", "teal", "", "NA", "nan", "None"]  # kept, kept, rare, unseen, missing x 4
    header = list(base)[:3] + ["colour"] + list(base)[3:]
    write_csv(tmp_path / "one.csv", header, [[base[h] if h != "colour" else c for h in header] for c in colours])
    table = read_table(tmp_path / "one.csv")
    records, unknown = table_predictions(saved, table, 0.5, {})
    assert unknown == {"colour": {"violet": 1, "teal": 1}} and table.columns.column("colour").null_count == 4
    probabilities, _ = session(path).run(None, onnx_feed(path, tmp_path / "one.csv"))
    np.testing.assert_allclose(probabilities[:, 1], [r["probabilities"]["yes"] for r in records], rtol=0, atol=1e-12)
    assert probabilities[2, 1] == pytest.approx(probabilities[3, 1], abs=1e-15)  # rare and unseen: both 'other'
    assert len({round(p, 12) for p in probabilities[4:, 1]}) == 1  # every spelling of a missing cell alike


@pytest.fixture(scope="module")
def diabetes_run(diabetes):  # noqa: F811 (the fixture of test_tables)
    from click.testing import CliRunner

    from dnncli.cli import main

    config = table_config(diabetes, diabetes / "diabetes.csv", name="diabetes", test_fraction=0.2)
    config.write_text(config.read_text().replace("target: label", "target: progression"))

    def dnn(*args):
        return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)

    sets = ("training.learning_rate=0.003", "training.epochs=40", f"output.dir={diabetes / 'runs'}")
    return diabetes, train(dnn, config, *sets)


def test_a_regression_answers_in_the_target_s_units_as_dnn_predict(diabetes_run, dnn, tmp_path):
    folder, run = diabetes_run
    lines = (folder / "diabetes.csv").read_text().splitlines()
    cells = [line.split(",") for line in lines[1:81]]
    for i, row in enumerate(cells[:10]):
        row[i] = ""  # a missing cell in each of the ten columns, none of which had one in training
    (tmp_path / "new.csv").write_text("\n".join([lines[0]] + [",".join(row) for row in cells]) + "\n")
    records = predicted_json(dnn, run, tmp_path / "new.csv")
    expected = np.array([[r["predicted"]["progression"]] for r in records])
    assert expected.std() > 20  # in the target's units, not standardised
    for dtype, tolerance in (("float64", 1e-12), ("float32", 1e-6)):
        path = exported(dnn, run, tmp_path / f"{dtype}.onnx", "--dtype", dtype)
        [predicted] = session(path).run(None, onnx_feed(path, tmp_path / "new.csv"))
        assert predicted.dtype == np.float64 and predicted.shape == (80, 1)
        np.testing.assert_allclose(predicted, expected, rtol=tolerance, atol=0)
    meta = session(path).get_modelmeta().custom_metadata_map
    assert json.loads(meta["targets"]) == ["progression"] and meta["task"] == "regression"
    assert [o.name for o in session(path).get_outputs()] == ["predicted"]


def test_metadata_and_inputs_say_what_the_model_takes(mixed_runs, dnn, tmp_path):
    folder, runs = mixed_runs
    result = dnn("export", "--run", runs["other"], "--out", tmp_path / "m.onnx")
    assert result.exit_code == 0, result.output
    assert "11 -> 16 -> 8 -> 1 (sigmoid), 4 columns (N,) each, float64" in result.stdout
    model = onnx.load(str(tmp_path / "m.onnx"))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["data"] == "table" and meta["task"] == "classification" and meta["dnn_version"] == __version__
    assert json.loads(meta["classes"]) == ["no", "yes"] and json.loads(meta["missing_text"]) == MISSING
    assert json.loads(meta["columns"]) == [
        {"name": "size", "kind": "number"},
        {"name": "weight", "kind": "number"},
        {"name": "colour", "kind": "category", "categories": ["red", "green", "blue", "yellow"]},
        {"name": "indoor", "kind": "boolean"},
    ]
    types = {
        i.name: (i.type.tensor_type.elem_type, [d.dim_param for d in i.type.tensor_type.shape.dim])
        for i in model.graph.input
    }
    double, string = onnx.TensorProto.DOUBLE, onnx.TensorProto.STRING
    assert types == {
        "size": (double, ["N"]),
        "weight": (double, ["N"]),
        "colour": (string, ["N"]),
        "indoor": (double, ["N"]),
    }


def renamed(saved, names, path):
    """``saved`` with its feature and target columns renamed (``names``: old -> new), saved at ``path``."""
    header = json.loads(json.dumps(saved.header))
    for column in header["table"]["columns"]:
        column["name"] = names.get(column["name"], column["name"])
    target = header["table"]["target"]
    target["columns"] = [names.get(name, name) for name in target["columns"]]
    checkpoint.save(path, header, saved.params, extra=saved.arrays)
    return checkpoint.load(path)


def test_columns_named_like_the_graph_s_own_tensors_are_exported(mixed_runs, dnn, tmp_path):
    folder, runs = mixed_runs
    names = {"size": "W1", "weight": "dnn.c0.value", "colour": "a0", "indoor": "one"}
    saved = renamed(checkpoint.load(runs["other"] / "checkpoint.npz"), names, tmp_path / "named.npz")
    rows = new_rows(tmp_path)
    text = rows.read_text().splitlines()
    header = text[0]
    for old, new in names.items():
        header = header.replace(old, new)
    (tmp_path / "named.csv").write_text("\n".join([header] + text[1:]) + "\n")
    result = dnn("export", "--checkpoint", tmp_path / "named.npz", "--out", tmp_path / "named.onnx")
    assert result.exit_code == 0, result.output
    records, _ = table_predictions(saved, read_table(tmp_path / "named.csv"), 0.5, {})
    probabilities, _ = session(tmp_path / "named.onnx").run(
        None, onnx_feed(tmp_path / "named.onnx", tmp_path / "named.csv")
    )
    np.testing.assert_allclose(probabilities[:, 1], [r["probabilities"]["yes"] for r in records], rtol=0, atol=1e-12)


def test_a_column_named_as_an_output_is_refused_in_one_line(mixed_runs, dnn, tmp_path):
    folder, runs = mixed_runs
    names = {"weight": "label", "label": "outcome"}  # a feature may be called label where the target is not
    renamed(checkpoint.load(runs["other"] / "checkpoint.npz"), names, tmp_path / "label.npz")
    result = dnn("export", "--checkpoint", tmp_path / "label.npz", "--out", tmp_path / "label.onnx")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr == (
        f"Error: {tmp_path / 'label.npz'}: feature column 'label' has the name of the ONNX graph's output 'label'; "
        "a graph's names are unique, so this model cannot be exported\n"
    )
    assert not (tmp_path / "label.onnx").exists()


@pytest.fixture(scope="module")
def exported_other(mixed_runs, tmp_path_factory):
    """The 'other' classifier, loaded, and its float64 graph in an onnxruntime session."""
    from click.testing import CliRunner

    from dnncli.cli import main

    _, runs = mixed_runs
    out = tmp_path_factory.mktemp("exported") / "m.onnx"
    result = CliRunner().invoke(main, ["export", "--run", str(runs["other"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return checkpoint.load(runs["other"] / "checkpoint.npz"), session(out)


numbers = st.one_of(st.floats(-1e6, 1e6), st.just(math.nan))
colours = st.sampled_from(["red", "green", "blue", "yellow", "violet", "black", "teal", "Red", " red", "日本", None])


@settings(max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 40)), deadline=None)
@given(
    rows=st.lists(st.tuples(numbers, numbers, colours, st.sampled_from([0.0, 1.0, math.nan])), min_size=1, max_size=20)
)
def test_any_cells_get_the_probabilities_dnn_gives_them(exported_other, rows):
    saved, graph = exported_other
    size, weight, colour, indoor = (list(cells) for cells in zip(*rows, strict=True))
    columns = pa.table(
        {
            "size": pa.array(size, pa.float64()),
            "weight": pa.array(weight, pa.float64()),
            "colour": pa.array(colour, pa.string()),
            "indoor": pa.array([None if math.isnan(v) else v == 1.0 for v in indoor], pa.bool_()),
        }
    )
    records, _ = table_predictions(saved, Table(columns, Path("cells"), "json"), 0.5, {})
    feed = {
        "size": np.array(size),
        "weight": np.array(weight),
        "colour": np.array(["" if c is None else c for c in colour], dtype=object),
        "indoor": np.array(indoor),
    }
    probabilities, labels = graph.run(None, feed)
    np.testing.assert_allclose(probabilities[:, 1], [r["probabilities"]["yes"] for r in records], rtol=0, atol=1e-12)
    assert [saved.classes[k] for k in labels] == [r["predicted"] for r in records]
