"""A table config's choices and what reviewers found, through the real CLI: data.task over the target's kind, a
stratified data.test_fraction, training.class_weight on a table and its mistakes, a regression that learned
nothing, cells that would run in a spreadsheet, ids in evaluate, kinds read from every row of the file, floats as
categories, inputs no memory holds, whole numbers in a hand-edited header, the fast path on a table on disk."""

import csv
import io
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from tabledata import mixed_columns, write_csv, write_mixed_csv

from dnncli.config.load import load
from dnncli.data.columns import KINDS
from dnncli.data.encoding import TableSpec
from dnncli.data.table_sets import class_of_rows, split_tables
from dnncli.data.tables import read_table
from dnncli.model import checkpoint
from dnncli.model.baselines import no_better, no_better_text


def config_file(folder, train, name="t", training=None, model=None, **data):
    config = {
        "name": name,
        "data": {"train": str(train), "target": "label", **data},
        "model": {"layers": ["auto", 8, "auto"], **(model or {})},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 5, **(training or {})},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    path = tmp_path_factory.mktemp("mixed") / "mixed.csv"
    write_mixed_csv(path, mixed_columns())
    return path


@pytest.fixture(scope="module")
def levels(tmp_path_factory):
    """x and y, and ``label``: a level 0, 1 or 2 written as a whole number, which reads as a number."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(2, 300))
    level = np.digitize(x + y, [-0.7, 0.7])
    rows = [[f"{a:.4f}", f"{b:.4f}", str(c)] for a, b, c in zip(x, y, level, strict=True)]
    return write_csv(tmp_path_factory.mktemp("levels") / "levels.csv", ["x", "y", "label"], rows)


def test_data_task_makes_whole_numbers_classes_and_is_said_by_check(in_tmp, dnn, levels):
    as_read = dnn("check", "--config", config_file(in_tmp, levels, "read"))
    assert as_read.exit_code == 0, as_read.output
    assert "\ntask:         regression of label (numbers; predicted in their own units" in as_read.stdout
    config = config_file(in_tmp, levels, "classes", task="classification")
    checked = dnn("check", "--config", config)
    assert checked.exit_code == 0, checked.output
    assert "task:         classification of label into 0, 1, 2 (data.task sets another)" in checked.stdout
    trained = dnn("train", "--config", config, "--quiet")
    assert trained.exit_code == 0, trained.output
    metrics = json.loads((in_tmp / trained.stdout.strip().splitlines()[-1] / "metrics.json").read_text())
    assert metrics["task"] == "classification" and metrics["train"]["accuracy"] > 0.6


def test_data_task_regression_of_a_text_target_is_refused(in_tmp, dnn, mixed):
    result = dnn("check", "--config", config_file(in_tmp, mixed, task="regression"))
    assert result.exit_code == 2
    assert result.stderr == "Error: data.task: regression needs a numeric target; 'label' holds categories\n"


@pytest.mark.parametrize("fraction", [0.2, 0.25, 0.5])
def test_test_fraction_holds_out_each_class_s_share(in_tmp, mixed, fraction):
    config = load(config_file(in_tmp, mixed, test_fraction=fraction, id="id"))
    tables = split_tables(config)
    spec = TableSpec.of(config["data"])
    every, train, test = (class_of_rows(t, spec) for t in (tables.file, tables.train, tables.test))
    assert len(train) + len(test) == len(every)
    for value in np.unique(every):
        assert np.sum(test == value) == round(fraction * np.sum(every == value))
    again = split_tables(config)  # the same seed, the same rows
    assert np.array_equal(again.test.origin, tables.test.origin)


def predicted_yes(dnn, folder, config):
    trained = dnn("train", "--config", config, "--quiet")
    assert trained.exit_code == 0, trained.output
    run = trained.stdout.strip().splitlines()[-1]
    evaluated = dnn("evaluate", "--run", run, "--data", folder / "mixed.csv", "--json", "-")
    assert evaluated.exit_code == 0, evaluated.output
    return json.loads(evaluated.stdout)["predicted_counts"]["yes"]


def test_class_weights_on_a_table_make_the_weighted_class_answered_more(in_tmp, dnn, mixed):
    folder = mixed.parent
    plain = predicted_yes(dnn, folder, config_file(in_tmp, mixed, "plain", id="id"))
    weighted = config_file(in_tmp, mixed, "weighted", id="id", training={"class_weight": {"no": 1, "yes": 8}})
    assert predicted_yes(dnn, folder, weighted) > plain
    balanced = config_file(in_tmp, mixed, "balanced", id="id", training={"class_weight": "balanced"})
    assert dnn("train", "--config", balanced, "--quiet").exit_code == 0


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"no": 1, "maybe": 2}, "training.class_weight: 'maybe' is not a class; the classes are 'no', 'yes'"),
        ({"no": 1}, "training.class_weight: give every class a weight; 'yes' has none"),
    ],
)
def test_class_weights_that_do_not_fit_the_table_s_classes_are_one_line(in_tmp, dnn, mixed, weights, message):
    result = dnn("train", "--config", config_file(in_tmp, mixed, id="id", training={"class_weight": weights}))
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1] == f"Error: {message}"  # after the warning about rare colours
    assert not (in_tmp / "runs").exists()


def test_class_weights_on_a_regression_are_one_line(in_tmp, dnn, levels):
    config = config_file(in_tmp, levels, training={"class_weight": "balanced"})
    result = dnn("train", "--config", config)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: training.class_weight: ") and "regression" in result.stderr


def test_a_regression_whose_units_all_die_learned_nothing_and_fails(in_tmp, dnn, levels):
    config = config_file(
        in_tmp, levels, "dead", model={"layers": ["auto", 4, "auto"]},
        training={"optimizer": "gd", "learning_rate": 1.5, "epochs": None, "iterations": 200, "batch_size": None},
    )  # fmt: skip
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1].startswith("Error: the model learned nothing")
    metrics = json.loads((in_tmp / "runs" / "dead" / "1" / "metrics.json").read_text())
    assert metrics["status"] == "failed" and (in_tmp / "runs" / "dead" / "1" / "checkpoint.npz").exists()


def test_a_regression_within_a_thousandth_of_the_mean_s_rmse_is_no_better_than_the_mean():
    assert no_better({"rmse": 0.7744816, "baseline": {"rmse": 0.7744819}})  # the mean, but for one row
    assert no_better({"rmse": 0.78, "baseline": {"rmse": 0.7744819}})
    assert not no_better({"rmse": 0.766, "baseline": {"rmse": 0.7744819}})  # 1% better: a model, if a poor one
    assert no_better_text({"rmse": 0.7744816, "baseline": {"rmse": 0.7744819}}) == (
        "no better than always answering the training mean: RMSE 0.774482 against its 0.774482"
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def runs_as_a_formula(cell):
    try:
        float(cell)
        return False  # a number, negative or not, is shown as one
    except ValueError:
        return cell.startswith(FORMULA_STARTS)


def test_no_cell_header_or_class_name_of_a_prediction_can_run_as_a_spreadsheet_formula(in_tmp, dnn):
    rng = np.random.default_rng(1)
    classes = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)"]
    ids = ["=1+1", "+cmd", "-x", "@me", "\tTAB", "plain"]
    x = rng.normal(size=(240, 2))
    label = np.digitize(x[:, 0] + x[:, 1], [-0.8, 0, 0.8])
    rows = [
        [ids[i % len(ids)], f"{a:.4f}", f"{b:.4f}", classes[c]]
        for i, ((a, b), c) in enumerate(zip(x, label, strict=True))
    ]
    path = write_csv(in_tmp / "formulas.csv", ["=id", "x", "y", "label"], rows)
    trained = dnn("train", "--config", config_file(in_tmp, path, id="=id"), "--quiet")
    assert trained.exit_code == 0, trained.output
    run = trained.stdout.strip().splitlines()[-1]
    for out in (in_tmp / "predictions.csv", "-"):
        result = dnn("predict", path, "--run", run, *(("--out", out) if out != "-" else ()))
        assert result.exit_code == 0, result.output
        text = Path(out).read_text() if out != "-" else result.stdout
        table = list(csv.reader(io.StringIO(text)))
        assert table[0][:2] == ["line", "'=id"] and len(table) == 241
        flagged = [cell for row in table for cell in row if runs_as_a_formula(cell)]
        assert not flagged, flagged[:5]
        assert {row[2] for row in table[1:]} <= {"'" + c for c in classes}  # each answer, shown as text
        assert [row[1] for row in table[1:7]] == ["'" + i if i != "plain" else i for i in ids]


def test_evaluate_names_each_row_by_its_ids_and_its_line(in_tmp, dnn, mixed):
    trained = dnn("train", "--config", config_file(in_tmp, mixed, id="id", test_fraction=0.25), "--quiet")
    assert trained.exit_code == 0, trained.output
    run = trained.stdout.strip().splitlines()[-1]
    result = dnn("evaluate", "--run", run, "--top-losses", "3", "--json", "-")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    with open(mixed, newline="") as f:
        by_line = {i + 2: row["id"] for i, row in enumerate(csv.DictReader(f))}
    assert report["predictions"] and all(r["ids"] == {"id": by_line[r["line"]]} for r in report["predictions"])
    shown = dnn("evaluate", "--run", run, "--top-losses", "3")
    for row in report["top_losses"]:
        assert f"{row['ids']['id']}, line {row['line']}" in shown.stdout


def test_a_typo_in_a_held_out_row_is_named_as_in_a_training_row(in_tmp, dnn):
    rng = np.random.default_rng(3)
    x = rng.normal(size=60)
    rows = [[f"{v:.3f}", "yes" if v > 0 else "no"] for v in x]
    rows[40][0] += "x"
    path = write_csv(in_tmp / "typo.csv", ["x", "label"], rows)
    for seed in range(4):  # wherever the seed puts the row: training, validation or test
        config = config_file(in_tmp, path, test_fraction=0.3, training={"validation_fraction": 0.2})
        result = dnn("train", "--config", config, "--quiet", "--set", f"seed={seed}")
        assert result.exit_code == 2
        assert result.stderr.splitlines()[-1].startswith(f"Error: {path}: line 42, column 'x': '{rows[40][0]}' is")


def test_a_float_column_read_as_categories_names_each_value_alike_in_any_rows(tmp_path):
    columns = {"h": [3.0, 2.5, None, 1e10, 7.0, 3.0], "label": ["a", "b", "a", "b", "a", "b"]}
    for kind in (pa.float16(), pa.float32(), pa.float64()):
        path = tmp_path / f"{kind}.parquet"
        pq.write_table(
            pa.table({"h": pa.array(columns["h"], pa.float64()).cast(kind), "label": columns["label"]}), path
        )
        table = read_table(path)
        whole = KINDS["category"].values(table, "h").to_pylist()
        assert whole[0] == "3" and whole[2] is None and whole[4] == "7"
        for rows in ([0, 4], [0, 1], [3, 5]):  # the same value, the same text, whatever else is read with it
            assert KINDS["category"].values(table.select(rows), "h").to_pylist() == [whole[i] for i in rows]


def test_rows_whose_inputs_no_memory_holds_are_one_line_before_they_are_made(in_tmp, dnn, mixed, monkeypatch):
    import dnncli.data.encoding as encoding

    monkeypatch.setattr(encoding, "available_memory", lambda: 1000)
    result = dnn("train", "--config", config_file(in_tmp, mixed, id="id"), "--quiet")
    assert result.exit_code == 2
    line = result.stderr.splitlines()[-1]
    assert line.startswith(f"Error: {mixed}: its 400 rows encode to ") and "data.max_categories" in line


def test_a_header_edited_to_hold_whole_numbers_is_read_as_floats(in_tmp, dnn, levels):
    trained = dnn("train", "--config", config_file(in_tmp, levels), "--quiet")
    assert trained.exit_code == 0, trained.output
    path = in_tmp / trained.stdout.strip().splitlines()[-1] / "checkpoint.npz"
    saved = checkpoint.load(path)
    header = saved.header
    header["table"]["target"]["mean"] = [10**20]
    header["table"]["columns"][0]["std"] = 2
    checkpoint.save(path, header, saved.params, extra=saved.arrays)
    result = dnn("evaluate", "--checkpoint", path, "--data", levels, "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["rmse"] > 1e19  # the mean it was given, in floats


def test_the_fast_path_on_a_table_read_from_disk_is_refused_before_the_file_is_read(in_tmp, dnn, mixed):
    config = config_file(in_tmp, mixed, id="id", in_memory=False, training={"fast_path": "on", "optimizer": "gd"})
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[-1].startswith("Error: training.fast_path: 'on' holds every training row")
    assert "categories" not in result.stderr  # refused before the pass that would warn of the rare colours


@pytest.mark.parametrize("cells", [["1,234", "12,345,678.5", "999"], ["1,234,567", "2,000", "12"]])
def test_numbers_with_thousands_separators_are_refused_with_what_to_write(in_tmp, dnn, cells):
    rows = [[cells[i % 3], "yes" if i % 2 else "no"] for i in range(30)]
    path = write_csv(in_tmp / "thousands.csv", ["amount", "label"], rows)
    result = dnn("data", "info", path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {path}: line 2, column 'amount': '{cells[0]}' is a number written with a comma; dnn reads numbers "
        "with a point for decimals and no thousands separators (1234.5); save the table so, or set "
        "data.columns.amount: category\n"
    )


@pytest.mark.parametrize("in_memory", [True, False])
def test_cells_of_spaces_are_missing_and_leave_a_column_of_numbers_numbers(in_tmp, dnn, in_memory):
    rows = [
        [" " if i % 4 == 0 else f"{i / 10}", "\t" if i % 5 == 0 else "red", "yes" if i % 2 else "no"] for i in range(40)
    ]
    path = write_csv(in_tmp / "spaces.csv", ["x", "colour", "label"], rows)
    config = config_file(in_tmp, path, in_memory=in_memory, training={"epochs": 1})
    checked = dnn("check", "--config", config)
    assert checked.exit_code == 0, checked.output
    assert "(number: x; category: colour)" in checked.stdout
    trained = dnn("train", "--config", config, "--quiet")
    assert trained.exit_code == 0, trained.output
    encoder = checkpoint.load(in_tmp / trained.stdout.strip().splitlines()[-1] / "checkpoint.npz").encoder
    x, colour = encoder.columns
    assert x["missing"] and colour["missing"] and colour["categories"] == ["red"]


def test_a_number_a_float32_model_cannot_hold_is_named_by_predict_and_evaluate(in_tmp, dnn, levels):
    config = config_file(in_tmp, levels, "f32")
    text = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**text, "dtype": "float32"}))
    trained = dnn("train", "--config", config, "--quiet")
    assert trained.exit_code == 0, trained.output
    run = trained.stdout.strip().splitlines()[-1]
    path = write_csv(in_tmp / "huge.csv", ["x", "y", "label"], [["1e40", "0.5", "1"], ["0.3", "0.1", "0"]])
    predicted = dnn("predict", path, "--run", run)
    assert predicted.exit_code == 2, predicted.output  # a row it could not predict, the others predicted
    assert f"Error: {path}: line 2: column 'x': 1e+40 is beyond what a float32 run holds" in predicted.stderr
    assert [line.split(",")[0] for line in predicted.stdout.splitlines()[1:]] == ["3"]  # the other row, predicted
    assert "RuntimeWarning" not in predicted.stderr
    evaluated = dnn("evaluate", "--run", run, "--data", path)
    assert evaluated.exit_code == 2 and "RuntimeWarning" not in evaluated.stderr
    assert evaluated.stderr.splitlines()[-1].startswith(f"Error: {path}: line 2, input 'x': ")
