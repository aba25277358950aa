"""Tables: CSV and Parquet files trained on, evaluated and predicted through the real CLI, their encoding compared
with scikit-learn's, and every statistic taken from the training rows alone."""

import csv
import io
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.impute import SimpleImputer
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from tabledata import COLOURS, mixed_columns, sklearn_table, write_csv, write_mixed_csv, write_parquet

from dnncli.data.dataset import held_out
from dnncli.data.encoding import TableSpec, fit_encoder
from dnncli.data.tables import read_table
from dnncli.model import checkpoint


def last_line(result):
    return Path(result.stdout.strip().splitlines()[-1])


def table_config(folder, train, name="t", **data):
    config = {
        "name": name,
        "data": {"train": str(train), "target": "label", **data},
        "model": {"layers": ["auto", 16, 8, "auto"]},
        "training": {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 20, "log_every": 50},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def train(dnn, config, *sets):
    result = dnn("train", "--config", config, "--quiet", *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 0, result.output
    return last_line(result)


@pytest.fixture(scope="module")
def cancer(tmp_path_factory):
    """scikit-learn's breast cancer table as CSV and Parquet, the same cells in both."""
    folder = tmp_path_factory.mktemp("cancer")
    header, rows, _, _ = sklearn_table(load_breast_cancer)
    write_csv(folder / "cancer.csv", header, rows)
    columns = {name: [row[i] for row in rows] for i, name in enumerate(header)}
    columns = {name: ([float(v) for v in cells] if name != "label" else cells) for name, cells in columns.items()}
    write_parquet(folder / "cancer.parquet", columns)
    return folder


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mixed")
    columns = mixed_columns()
    write_mixed_csv(folder / "mixed.csv", columns)
    return folder, columns


def test_a_csv_and_its_parquet_twin_train_the_same_model(in_tmp, dnn, cancer):
    runs = []
    for name in ("cancer.csv", "cancer.parquet"):
        config = table_config(in_tmp, cancer / name, name=name.replace(".", "-"), test_fraction=0.2)
        runs.append(train(dnn, config))
    first, second = (checkpoint.load(run / "checkpoint.npz") for run in runs)
    for name in first.params:
        np.testing.assert_array_equal(first.params[name], second.params[name])
    metrics = [json.loads((run / "metrics.json").read_text()) for run in runs]
    assert metrics[0]["test"] == metrics[1]["test"]
    assert metrics[0]["test"]["accuracy"] > 0.9
    assert first.header["table"] == second.header["table"]


def test_the_encoding_equals_scikit_learns_column_transformer(tmp_path, mixed):
    folder, columns = mixed
    table = read_table(folder / "mixed.csv")
    spec = TableSpec.of(
        {"target": "label", "features": None, "drop": [], "id": "id", "columns": {}, "max_categories": 4,
         "min_category_count": 5, "task": "auto"}
    )  # fmt: skip
    encoder = fit_encoder(table, spec)
    kinds = {c["name"]: c["kind"] for c in encoder.columns}
    assert kinds == {"size": "number", "weight": "number", "colour": "category", "indoor": "boolean"}
    ours, unknown = encoder.encode(table)
    rare = {c: columns["colour"].count(c) for c in COLOURS[4:]}
    assert unknown == {"colour": rare}  # grouped into 'other': without an input of their own
    names = encoder.input_names

    import pandas as pd

    frame = pd.DataFrame({k: v for k, v in columns.items() if k not in ("id", "label")})
    frame["indoor"] = frame["indoor"].map({True: 1.0, False: 0.0})
    numbers = make_pipeline(StandardScaler(), SimpleImputer(strategy="constant", fill_value=0.0, add_indicator=True))
    colours = make_pipeline(
        SimpleImputer(strategy="constant", fill_value="(missing)"),
        OneHotEncoder(max_categories=6, handle_unknown="infrequent_if_exist", sparse_output=False),
    )  # kept four, 'other', and the missing cells as a category of their own
    booleans = SimpleImputer(strategy="mean", add_indicator=True)
    transformer = ColumnTransformer(
        [("size", numbers, ["size"]), ("weight", numbers, ["weight"]), ("colour", colours, ["colour"]),
         ("indoor", booleans, ["indoor"])]
    )  # fmt: skip
    theirs = transformer.fit_transform(frame)
    theirs_names = list(transformer.get_feature_names_out())
    mapping = {
        "size": "size__size", "weight": "weight__weight", "weight (missing)": "weight__missingindicator_weight",
        "colour=other": "colour__colour_infrequent_sklearn", "colour (missing)": "colour__colour_(missing)",
        "indoor": "indoor__indoor", "indoor (missing)": "indoor__missingindicator_indoor",
    }  # fmt: skip
    mapping.update({f"colour={c}": f"colour__colour_{c}" for c in COLOURS[:4]})
    assert sorted(mapping) == sorted(names)
    for i, name in enumerate(names):
        np.testing.assert_allclose(ours[:, i], theirs[:, theirs_names.index(mapping[name])], rtol=1e-12, atol=1e-12)


def test_every_statistic_comes_from_the_training_rows_only(in_tmp, dnn, mixed):
    folder, columns = mixed
    test = dict(mixed_columns(m=100, seed=1))
    test["size"] = [s + 1000 for s in test["size"]]  # were test rows counted, the mean would move
    test["colour"] = ["teal"] * 100
    write_mixed_csv(in_tmp / "test.csv", test)
    config = table_config(in_tmp, folder / "mixed.csv", test=str(in_tmp / "test.csv"), id="id")
    run = train(dnn, config, "training.validation_fraction=0.25")
    stored = {c["name"]: c for c in checkpoint.load(run / "checkpoint.npz").header["table"]["columns"]}
    kept, _ = held_out(len(columns["size"]), 0.25, 1)
    size = np.asarray(columns["size"])[kept]
    assert stored["size"]["mean"] == pytest.approx(size.mean(), rel=1e-12)
    assert stored["size"]["std"] == pytest.approx(size.std(), rel=1e-12)
    assert "teal" not in stored["colour"]["categories"]
    result = dnn("evaluate", "--run", run, "--json", "-")
    assert result.exit_code == 0, result.output
    assert "100 cells hold a category not learned in training; colour: 'teal' (100)" in result.stderr


def test_evaluate_and_predict_give_each_row_the_same_probabilities(in_tmp, dnn, mixed):
    folder, _ = mixed
    config = table_config(in_tmp, folder / "mixed.csv", id="id", test_fraction=0.25)
    run = train(dnn, config)
    evaluation = json.loads(dnn("evaluate", "--run", run, "--json", "-").stdout)
    assert evaluation["examples"] == 100
    lines = {record["line"]: record for record in evaluation["predictions"]}
    predicted = dnn("predict", folder / "mixed.csv", "--run", run)
    assert predicted.exit_code == 0, predicted.output
    rows = list(csv.DictReader(io.StringIO(predicted.stdout)))
    assert list(rows[0]) == [
        "line", "id", "predicted", "probability", "margin", "unfamiliarity", "unfamiliar", "p_no", "p_yes"
    ]  # fmt: skip
    assert [int(r["line"]) for r in rows] == list(range(2, 402))
    for row in rows:
        if int(row["line"]) in lines:
            record = lines[int(row["line"])]
            assert row["predicted"] == record["predicted"]
            assert float(row["p_yes"]) == record["probabilities"]["yes"]
    assert rows[0]["id"] == "r0000"


def test_predict_names_the_rows_it_cannot_read_and_keeps_the_others_in_place(in_tmp, dnn, mixed):
    folder, _ = mixed
    run = train(dnn, table_config(in_tmp, folder / "mixed.csv", id="id"))
    lines = (folder / "mixed.csv").read_text().splitlines()
    header, good = lines[0], lines[1:6]
    cells = good[2].split(",")
    cells[1] = "tall"  # size is a number
    bad_cell = ",".join(cells)
    ragged = ",".join(good[3].split(",")[:3])
    quoted = good[4].replace(good[4].split(",")[0], "\"=cmd|' /C calc'!A0\"", 1)
    (in_tmp / "new.csv").write_text("\n".join([header, good[0], good[1], bad_cell, ragged, quoted]) + "\n")
    result = dnn("predict", "new.csv", "--run", run)
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert errors == [
        "Error: new.csv: line 4: column 'size': 'tall' is not a number",
        "Error: new.csv: line 5: has 3 cells, the header has 6",
    ]
    assert "3 of 5 rows predicted, 2 problems above" in result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert [row[0] for row in rows[1:]] == ["2", "3", "6"]
    assert rows[3][1] == "'=cmd|' /C calc'!A0"  # a spreadsheet shows it as text, never runs it
    as_json = dnn("predict", "new.csv", "--run", run, "--json")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [r["line"] for r in records] == [2, 3, 4, 5, 6]
    assert records[2] == {"line": 4, "error": "column 'size': 'tall' is not a number"}
    assert records[4]["id"] == "=cmd|' /C calc'!A0"  # JSON keeps it exact


def test_predict_writes_its_file_with_out(in_tmp, dnn, cancer):
    run = train(dnn, table_config(in_tmp, cancer / "cancer.csv", test_fraction=0.2))
    result = dnn("predict", cancer / "cancer.parquet", "--run", run, "--out", "predictions.csv")
    assert result.exit_code == 0, result.output
    assert last_line(result) == Path("predictions.csv")
    rows = list(csv.DictReader(open("predictions.csv")))
    assert len(rows) == 569 and rows[0]["row"] == "1"  # a Parquet file's rows are counted from 1


def seeded_test_scores(dnn, folder, header, train_rows, test_rows, target, epochs, score):
    """dnn's ``score`` on the test rows after training on the training rows (files in ``folder``) as the peer
    comparisons below train scikit-learn's MLP: layers [auto, 32, 16, auto], Adam at 0.001, batches of 32; a
    run per seed 0, 1 and 2."""
    write_csv(folder / "train.csv", header, train_rows)
    write_csv(folder / "test.csv", header, test_rows)
    config = table_config(folder, folder / "train.csv", test=str(folder / "test.csv"), target=target)
    scores = []
    for seed in range(3):
        run = train(
            dnn, config, f"seed={seed}", "training.learning_rate=0.001", f"training.epochs={epochs}",
            "model.layers=[auto, 32, 16, auto]",
        )  # fmt: skip
        scores.append(json.loads((run / "metrics.json").read_text())["test"][score])
    return scores


def test_accuracy_is_at_least_scikit_learns_mlp_with_the_same_layers(in_tmp, dnn):
    """The same layers, optimizer, rate, batches and epochs, and the same standardised inputs; the mean over three
    seeds (the two draw their initial weights differently), within one test example."""
    from sklearn.model_selection import train_test_split

    for loader in (load_breast_cancer, load_wine):
        header, rows, X, y = sklearn_table(loader)
        train_rows, test_rows = train_test_split(rows, test_size=0.25, random_state=0, stratify=y)
        ours = seeded_test_scores(dnn, in_tmp, header, train_rows, test_rows, "label", 150, "accuracy")
        features = lambda part: np.array([[float(v) for v in r[:-1]] for r in part])  # noqa: E731
        labels = lambda part: [r[-1] for r in part]  # noqa: E731
        scaler = StandardScaler().fit(features(train_rows))
        theirs = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns that 150 epochs did not converge
            for seed in range(3):
                mlp = MLPClassifier(
                    (32, 16), learning_rate_init=0.001, batch_size=32, max_iter=150, alpha=0.0, random_state=seed
                )
                mlp.fit(scaler.transform(features(train_rows)), labels(train_rows))
                theirs.append(mlp.score(scaler.transform(features(test_rows)), labels(test_rows)))
        assert np.mean(ours) >= np.mean(theirs) - 1 / len(test_rows), (loader.__name__, ours, theirs)


def test_check_and_data_info_show_the_kinds_and_the_task(in_tmp, dnn, mixed):
    folder, _ = mixed
    info = dnn("data", "info", folder / "mixed.csv")
    assert info.exit_code == 0, info.output
    assert "400 rows, 6 columns" in info.stdout
    for name, kind in (("size", "number"), ("colour", "category"), ("indoor", "boolean"), ("id", "category")):
        cells = [[c.strip() for c in line.split("│")[1:3]] for line in info.stdout.splitlines() if "│" in line]
        assert [name, kind] in cells, name
    check = dnn("check", "--config", table_config(in_tmp, folder / "mixed.csv", id="id"))
    assert check.exit_code == 0, check.output
    assert "task:         classification of label into no, yes" in check.stdout
    assert (
        "columns:      4 columns give 12 inputs (number: size, weight; category: colour; boolean: indoor)"
        in check.stdout
    )


def test_init_config_from_a_table_trains(in_tmp, dnn, mixed):
    folder, _ = mixed
    result = dnn("init-config", "mixed.yaml", "--table", folder / "mixed.csv", "--target", "label")
    assert result.exit_code == 0, result.output
    config = yaml.safe_load(Path("mixed.yaml").read_text())
    assert config["data"]["target"] == "label"
    assert config["data"]["columns"] == {
        "id": "category",
        "size": "number",
        "weight": "number",
        "colour": "category",
        "indoor": "boolean",
    }
    config["data"]["columns"].pop("id")
    config["data"]["id"] = "id"
    Path("mixed.yaml").write_text(yaml.safe_dump(config))
    run = train(dnn, "mixed.yaml", "training.epochs=5")
    assert json.loads((run / "metrics.json").read_text())["status"] == "finished"
    without = dnn("init-config", "guess.yaml", "--table", folder / "mixed.csv")
    assert without.exit_code == 0
    assert yaml.safe_load(Path("guess.yaml").read_text())["data"]["target"] is None  # no target guessed
    assert dnn("check", "--config", "guess.yaml").stderr.startswith("Error: guess.yaml: data.target: missing")


def test_resume_continues_a_table_run_bit_for_bit(in_tmp, dnn, mixed):
    folder, _ = mixed
    config = table_config(in_tmp, folder / "mixed.csv", id="id")
    whole = train(dnn, config, "training.epochs=4")
    half = train(dnn, config, "training.epochs=2")
    resumed = dnn("train", "--resume", half, "--quiet", "--set", "training.epochs=4")
    assert resumed.exit_code == 0, resumed.output
    a, b = checkpoint.load(whole / "checkpoint.npz"), checkpoint.load(half / "checkpoint.npz")
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """scikit-learn's diabetes table: ten numbers and the disease progression a year later, a number."""
    from sklearn.datasets import load_diabetes

    folder = tmp_path_factory.mktemp("diabetes")
    header, rows, _, _ = sklearn_table(load_diabetes, target="progression", names=False)
    write_csv(folder / "diabetes.csv", header, [row[:-1] + [repr(float(row[-1]))] for row in rows])
    return folder


def test_a_numeric_target_is_regression_predicted_in_its_own_units(in_tmp, dnn, diabetes):
    config = table_config(in_tmp, diabetes / "diabetes.csv", test_fraction=0.2)
    config.write_text(config.read_text().replace("target: label", "target: progression"))
    check = dnn("check", "--config", config)
    assert "task:         regression of progression" in check.stdout
    assert "identity output" in check.stdout
    run = train(dnn, config, "training.learning_rate=0.003", "training.epochs=60")
    saved = checkpoint.load(run / "checkpoint.npz")
    assert saved.net.output == "identity" and saved.regression
    metrics = json.loads((run / "metrics.json").read_text())
    assert {"rmse", "mae", "r2", "cost"} <= set(metrics["test"]) and "accuracy" not in metrics["test"]
    evaluation = json.loads(dnn("evaluate", "--run", run, "--json", "-").stdout)
    truth = np.array([r["true"]["progression"] for r in evaluation["predictions"]])
    guess = np.array([r["predicted"]["progression"] for r in evaluation["predictions"]])
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    assert evaluation["r2"] == pytest.approx(r2_score(truth, guess), abs=1e-12)
    assert evaluation["rmse"] == pytest.approx(root_mean_squared_error(truth, guess), rel=1e-12)
    assert evaluation["mae"] == pytest.approx(mean_absolute_error(truth, guess), rel=1e-12)
    assert evaluation["r2"] == pytest.approx(metrics["test"]["r2"], abs=1e-12)
    assert 25 < truth.mean() and guess.std() > 20  # in the target's units (25 to 346), not standardised
    assert evaluation["r2"] > 0.3
    predicted = list(csv.DictReader(io.StringIO(dnn("predict", diabetes / "diabetes.csv", "--run", run).stdout)))
    assert list(predicted[0]) == ["line", "predicted_progression", "unfamiliarity", "unfamiliar"]
    by_line = {r["line"]: r["predicted"]["progression"] for r in evaluation["predictions"]}
    for row in predicted:
        if int(row["line"]) in by_line:
            assert float(row["predicted_progression"]) == by_line[int(row["line"])]


def test_several_numeric_targets_are_learned_together(in_tmp, dnn):
    from sklearn.datasets import load_linnerud

    data = load_linnerud()
    header = list(data.feature_names) + list(data.target_names)
    rows = [[*map(float, x), *map(float, y)] for x, y in zip(data.data, data.target, strict=True)]
    write_csv(in_tmp / "linnerud.csv", header, rows)
    config = table_config(in_tmp, in_tmp / "linnerud.csv")
    text = config.read_text().replace("target: label", f"target: [{', '.join(data.target_names)}]")
    config.write_text(text)
    run = train(dnn, config, "training.epochs=50")
    saved = checkpoint.load(run / "checkpoint.npz")
    assert saved.net.layers[0] == 3 and saved.net.layers[-1] == 3
    assert saved.classes == list(data.target_names)
    evaluation = dnn("evaluate", "--run", run, "--data", in_tmp / "linnerud.csv")
    assert evaluation.exit_code == 0, evaluation.output
    assert all(name in evaluation.stdout for name in data.target_names)


def test_r2_is_at_least_scikit_learns_mlp_regressor_with_the_same_layers(in_tmp, dnn, diabetes):
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPRegressor

    rows = list(csv.reader(open(diabetes / "diabetes.csv")))
    header, rows = rows[0], rows[1:]
    train_rows, test_rows = train_test_split(rows, test_size=0.25, random_state=0)
    ours = seeded_test_scores(dnn, in_tmp, header, train_rows, test_rows, "progression", 100, "r2")
    X = lambda part: np.array([[float(v) for v in r[:-1]] for r in part])  # noqa: E731
    y = lambda part: np.array([float(r[-1]) for r in part])  # noqa: E731
    scaler = StandardScaler().fit(X(train_rows))
    mean, std = y(train_rows).mean(), y(train_rows).std()  # dnn learns the standardised target: so does sklearn here
    theirs = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(3):
            mlp = MLPRegressor(
                hidden_layer_sizes=(32, 16),
                learning_rate_init=0.001,
                batch_size=32,
                max_iter=100,
                alpha=0.0,
                random_state=seed,
            )
            mlp.fit(scaler.transform(X(train_rows)), (y(train_rows) - mean) / std)
            guess = mlp.predict(scaler.transform(X(test_rows))) * std + mean
            from sklearn.metrics import r2_score

            theirs.append(r2_score(y(test_rows), guess))
    assert np.mean(ours) >= np.mean(theirs) - 0.01, (ours, theirs)
