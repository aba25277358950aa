"""The scikit-learn estimators: scikit-learn's own checks, pipelines and searches, DataFrames with categories and
missing cells, the same weights as `dnn train` to the bit, and checkpoints both ways through the real CLI."""

import csv
import json
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import yaml
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from tabledata import mixed_columns, write_mixed_csv

from conftest import ROOT
from dnncli.extras import install_command
from dnncli.model import checkpoint
from dnncli.sklearn import DNNClassifier, DNNRegressor, DNNWarning, load

FAST = {"hidden_layer_sizes": (16,), "learning_rate": 0.1, "epochs": 100}  # what scikit-learn's checks train


def expected_failures(estimator):
    if isinstance(estimator, DNNClassifier):
        return {
            "check_class_weight_classifiers": (
                "weights {0: 1000, others: 0.0001} make answering class 0 for every row the best model; dnn calls a "
                "model whose output is the same for every row one that learned nothing, and fails its run, as "
                "`dnn train` does (model.collapse)"
            )
        }
    return {}


@parametrize_with_checks([DNNClassifier(**FAST), DNNRegressor(**FAST)], expected_failed_checks=expected_failures)
def test_scikit_learns_estimator_checks(estimator, check):
    check(estimator)


def test_in_a_pipeline_a_grid_search_and_cross_validation():
    X, y = load_iris(return_X_y=True)
    pipeline = make_pipeline(StandardScaler(), DNNClassifier(learning_rate=0.1, epochs=100))
    grid = {"dnnclassifier__hidden_layer_sizes": [(4,), (16,)], "dnnclassifier__epochs": np.array([20, 100])}
    search = GridSearchCV(pipeline, grid, cv=3).fit(X, y)  # NumPy's integers in a grid are whole numbers
    assert search.best_params_["dnnclassifier__epochs"] == 100
    assert search.best_score_ > 0.9
    X, y = load_diabetes(return_X_y=True)
    assert cross_val_score(DNNRegressor(**FAST), X, y, cv=3).mean() > 0.3


# --- tables: DataFrames, and `dnn train` on the same rows ------------------------------------------------------

CLASSIFIER = {  # config key -> the estimator's parameter, with a value for each: the config of the bit-for-bit test
    "seed": ("seed", 7),
    "model.layers": ("hidden_layer_sizes", (12, 6)),
    "model.batch_norm": ("batch_norm", [True, False]),
    "training.learning_rate": ("learning_rate", 0.01),
    "training.optimizer": ("optimizer", "adam"),
    "training.batch_size": ("batch_size", 32),
    "training.epochs": ("epochs", 5),
    "training.l2": ("l2", 0.01),
    "training.keep_prob": ("keep_prob", [0.9, 1.0]),
    "training.validation_fraction": ("validation_fraction", 0.2),
    "training.early_stopping.patience": ("patience", 4),
    "training.log_every": ("log_every", 5),
    "training.class_weight": ("class_weight", "balanced"),
    "data.max_categories": ("max_categories", 4),
}
REGRESSOR = {
    "model.layers": ("hidden_layer_sizes", (8,)),
    "model.activation": ("activation", "tanh"),
    "model.init": ("init", "he"),
    "training.learning_rate": ("learning_rate", 0.05),
    "training.optimizer": ("optimizer", {"name": "momentum", "beta": 0.8}),
    "training.schedule": ("schedule", {"name": "step", "every": 20, "factor": 0.5}),
    "training.batch_size": ("batch_size", 50),
    "training.iterations": ("iterations", 60),
    "data.columns": ("column_kinds", {"indoor": "category"}),
}


def config_of(keys, target):
    """The YAML config `dnn train` trains on mixed.csv with the values of ``keys``."""
    config = {"data": {"train": "mixed.csv", "target": target, "id": "id"}, "model": {}, "training": {}}
    for key, (name, value) in keys.items():
        *sections, last = key.split(".")
        node = config
        for section in sections:
            node = node.setdefault(section, {})
        node[last] = ["auto", *value, "auto"] if name == "hidden_layer_sizes" else value
    return yaml.safe_dump(config)


def parameters(keys):
    return {name: value for name, value in keys.values()}


@pytest.fixture
def mixed(in_tmp):
    """mixed.csv (numbers, categories, booleans, missing cells, an id) in the current folder, and its rows as
    pandas reads them."""
    write_mixed_csv(in_tmp / "mixed.csv", mixed_columns())
    return pd.read_csv("mixed.csv", engine="pyarrow")


def dnn_train(dnn, keys, target):
    with open("c.yaml", "w") as f:
        f.write(config_of(keys, target))
    result = dnn("train", "--config", "c.yaml", "--quiet")
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1] + "/checkpoint.npz"


def assert_same_model(saved, model):
    assert saved.net == model.net
    assert list(saved.params) == list(model.params)
    for name, value in saved.params.items():
        assert value.dtype == model.params[name].dtype and np.array_equal(value, model.params[name]), name
    assert (saved.encoder.columns, saved.encoder.target) == (model.encoder.columns, model.encoder.target)
    assert saved.classes == model.classes


@pytest.mark.filterwarnings("ignore::dnncli.sklearn.DNNWarning")
def test_the_same_seed_gives_the_same_weights_as_dnn_train_to_the_bit(mixed, dnn):
    saved = checkpoint.load(dnn_train(dnn, CLASSIFIER, "label"))
    estimator = DNNClassifier(**parameters(CLASSIFIER)).fit(mixed.drop(columns=["label", "id"]), mixed["label"])
    assert_same_model(saved, estimator.model_)
    progress = [{k: v for k, v in m.header["progress"].items() if k != "seconds"} for m in (saved, estimator.model_)]
    assert progress[0] == progress[1] and progress[0]["history"]  # the same logged costs and validation scores
    assert list(estimator.classes_) == ["no", "yes"]

    saved = checkpoint.load(dnn_train(dnn, REGRESSOR, "size"))
    estimator = DNNRegressor(**parameters(REGRESSOR)).fit(mixed.drop(columns=["size", "id"]), mixed["size"])
    assert_same_model(saved, estimator.model_)


@pytest.mark.filterwarnings("ignore::dnncli.sklearn.DNNWarning")
def test_a_dnn_train_checkpoint_loads_as_an_estimator_with_its_configs_parameters(mixed, dnn):
    path = dnn_train(dnn, CLASSIFIER, "label")
    estimator = load(path)
    assert isinstance(estimator, DNNClassifier)
    assert clone(estimator).get_params() == DNNClassifier(**parameters(CLASSIFIER)).get_params()
    X = mixed.drop(columns=["label", "id"])
    assert list(estimator.feature_names_in_) == list(X.columns) and estimator.n_features_in_ == 4
    records = json_lines(dnn("predict", "mixed.csv", "--checkpoint", path, "--json"))
    probabilities = estimator.predict_proba(X)
    assert [[r["probabilities"][c] for c in estimator.classes_] for r in records] == probabilities.tolist()
    assert [r["predicted"] for r in records] == list(estimator.predict(X))
    with pytest.raises(ValueError, match=r"checkpoint.npz: a classification model; load it with DNNClassifier.load$"):
        DNNRegressor.load(path)


def json_lines(result):
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_a_model_trained_in_python_is_evaluated_and_predicted_by_the_cli(mixed, dnn):
    X, y = mixed.drop(columns=["label", "id"]), mixed["label"]
    with warnings.catch_warnings(record=True):
        estimator = DNNClassifier(hidden_layer_sizes=(8,), learning_rate=0.1, epochs=200, min_category_count=20)
        estimator.fit(X, y)
    estimator.save("model.npz")
    evaluation = json.loads(dnn("evaluate", "--checkpoint", "model.npz", "--data", "mixed.csv", "--json", "-").stdout)
    assert evaluation["accuracy"] == estimator.score(X, y) > 0.8
    records = json_lines(dnn("predict", "mixed.csv", "--checkpoint", "model.npz", "--json"))
    assert [[r["probabilities"][c] for c in ("no", "yes")] for r in records] == estimator.predict_proba(X).tolist()
    assert [r["line"] for r in records[:2]] == [2, 3]  # each row named by its line in the CSV
    again = load("model.npz")
    assert type(again) is DNNClassifier and again.get_params() == estimator.get_params()
    assert np.array_equal(again.predict_proba(X), estimator.predict_proba(X))


def test_a_checkpoint_saved_in_python_is_the_one_dnn_train_writes(mixed, dnn):
    """The same header fields (the estimator's own beside them), so every command that takes a table model of
    `dnn train` (evaluate, predict, serve, export) takes one trained in Python alike."""
    with warnings.catch_warnings(record=True):
        saved = checkpoint.load(dnn_train(dnn, CLASSIFIER, "label"))
        DNNClassifier(**parameters(CLASSIFIER)).fit(mixed.drop(columns=["label", "id"]), mixed["label"]).save("m.npz")
    ours = checkpoint.load("m.npz")
    assert set(ours.header) == set(saved.header) | {"estimator"}
    same = ("format", "version", "layers", "activations", "output", "classes", "input_shape", "scaling", "dtype")
    assert {key: ours.header[key] for key in same} == {key: saved.header[key] for key in same}
    assert ours.header["table"] == saved.header["table"] | {"ids": []}  # X had no id column left
    assert set(ours.state) == set(saved.state)


def test_arrays_are_numbers_named_x0_x1_and_keep_their_classes_through_a_checkpoint(in_tmp, dnn):
    X, y = load_iris(return_X_y=True)
    estimator = DNNClassifier(hidden_layer_sizes=(8,), learning_rate=0.1, epochs=100).fit(X, y)
    assert not hasattr(estimator, "feature_names_in_") and estimator.n_features_in_ == 4
    assert estimator.model_.encoder.feature_columns == ["x0", "x1", "x2", "x3"]
    estimator.save("iris.npz")
    again = DNNClassifier.load("iris.npz")
    assert again.classes_.dtype == estimator.classes_.dtype and list(again.classes_) == [0, 1, 2]
    assert np.array_equal(again.predict(X), estimator.predict(X)) and not hasattr(again, "feature_names_in_")
    with open("iris.csv", "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["x0", "x1", "x2", "x3", "y"])
        rows.writerows([[*map(repr, x), label] for x, label in zip(X.tolist(), y, strict=True)])
    evaluation = json.loads(dnn("evaluate", "--checkpoint", "iris.npz", "--data", "iris.csv", "--json", "-").stdout)
    assert evaluation["accuracy"] == estimator.score(X, y)
    model = checkpoint.load("iris.npz")
    checkpoint.save("bad.npz", {**model.header, "estimator": {"classes": [0, 1]}}, model.params, extra=model.arrays)
    with pytest.raises(ValueError, match=r"^bad.npz: header field 'estimator' is not what an estimator saves$"):
        load("bad.npz")


def test_a_dataframe_keeps_its_categories_and_missing_cells():
    columns = mixed_columns()
    frame = pd.DataFrame(columns).drop(columns="id")
    X, y = frame.drop(columns="label"), frame["label"]
    with warnings.catch_warnings(record=True):
        estimator = DNNClassifier(hidden_layer_sizes=(8,), learning_rate=0.1, epochs=200).fit(X, y)
        arrow = clone(estimator).fit(pa.Table.from_pandas(X), y)
    assert np.array_equal(arrow.model_.params["W1"], estimator.model_.params["W1"])  # Arrow data reads alike
    kinds = {column["name"]: column["kind"] for column in estimator.model_.encoder.columns}
    assert kinds == {"size": "number", "weight": "number", "colour": "category", "indoor": "boolean"}
    assert "weight (missing)" in estimator.model_.encoder.input_names and estimator.score(X, y) > 0.8
    new = X.head(3).assign(colour=["mauve", None, "red"])
    with pytest.warns(DNNWarning, match=r"^X: 1 cell holds a category not learned in training; colour: 'mauve' \(1\)$"):
        estimator.predict(new)
    with pytest.raises(ValueError, match=r"^X: row 1, column 'size': 'tall' is not a number; fix the cell"):
        estimator.predict(X.head(3).assign(size=["1.5", "tall", "2"]))


def test_partial_fit_continues_where_fit_stopped_to_the_bit():
    X, y = load_iris(return_X_y=True)
    settings = {"hidden_layer_sizes": (8,), "optimizer": "adam", "learning_rate": 0.01, "batch_size": 16}
    two = DNNClassifier(epochs=2, **settings).fit(X, y)
    one = DNNClassifier(epochs=1, **settings).fit(X, y).partial_fit(X, y)
    assert one.n_iter_ == two.n_iter_ == 20
    for name, value in two.model_.params.items():
        assert np.array_equal(value, one.model_.params[name]), name


def test_partial_fit_learns_from_chunks_and_says_what_it_cannot_take():
    X, y = load_iris(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    estimator = DNNClassifier(hidden_layer_sizes=(8,), optimizer="adam", learning_rate=0.01, batch_size=10)
    for _ in range(30):
        for chunk in np.array_split(order, 3):
            estimator.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert list(estimator.classes_) == [0, 1, 2] and estimator.n_iter_ == 30 * 15
    assert estimator.score(X, y) > 0.9
    with pytest.raises(ValueError, match=r"^class_weight: balanced counts the classes of all the rows; partial_fit"):
        clone(estimator).set_params(class_weight="balanced").partial_fit(X, y)
    with pytest.raises(ValueError, match=r"^partial_fit: the parameters make another network than the fitted one"):
        estimator.set_params(hidden_layer_sizes=(4,)).partial_fit(X, y)
    with pytest.raises(ValueError, match=r"column 'y': '7' is not a class the model knows"):
        estimator.set_params(hidden_layer_sizes=(8,)).partial_fit(X[:2], [7, 0])


def test_bad_parameters_and_failed_runs_are_pythons_errors_naming_the_parameters():
    X, y = load_iris(return_X_y=True)
    cases = [
        ({"learning_rate": -1}, "learning_rate: must be greater than 0, got -1"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes: must hold positive whole numbers only"),
        ({"epochs": None}, "iterations: set iterations or epochs (one of them)"),
        ({"patience": 3}, "patience: early stopping watches the validation cost; set validation_fraction above 0"),
        ({"optimizer": {"name": "adam", "beta": 0.9}}, "optimizer: adam has no setting 'beta'"),
    ]
    for given, message in cases:
        with pytest.raises(ValueError) as raised:
            DNNClassifier(**given).fit(X, y)
        assert str(raised.value).startswith(message), str(raised.value)
    with pytest.raises(
        RuntimeError,
        match=r"^learning_rate: the cost .+ at iteration \d+; the rate 1e\+06 is probably too high, try 100000$",
    ):
        DNNRegressor(learning_rate=1e6, epochs=20).fit(*load_diabetes(return_X_y=True))
    frame = pd.DataFrame({"label": [1, 2, 1], "other": [3, 4, 5]})
    with pytest.raises(ValueError, match=r"^X: has a column 'label', which is the target y; leave the target out"):
        DNNClassifier().fit(frame, frame["label"])


def test_without_scikit_learn_the_import_says_which_extra_to_install():
    probe = (
        "import sys; sys.modules['sklearn'] = None\ntry:\n import dnncli.sklearn\nexcept ImportError as e:\n print(e)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.stdout.strip() == (
        "dnncli.sklearn needs scikit-learn 1.6 or newer (the optional sklearn extra); install it with: "
        + install_command("sklearn")
    )


def test_the_estimator_parameters_and_the_config_keys_agree():
    """Every parameter sets a key of the config, and its default is that key's (one home for each default)."""
    from dnncli.config.schema import leaf_keys
    from dnncli.sklearn.parameters import OWN_DEFAULTS, PARAMETERS, field_of

    assert set(PARAMETERS.values()) <= set(leaf_keys())
    for estimator in (DNNClassifier(), DNNRegressor()):
        for name, value in estimator.get_params().items():
            default = field_of(PARAMETERS[name]).default
            default = default.get("name") if isinstance(default, dict) else default
            assert value == OWN_DEFAULTS.get(name, default), name
    assert set(DNNClassifier().get_params()) - set(DNNRegressor().get_params()) == {"class_weight"}
    guide = (ROOT / "docs" / "guide" / "07-python.md").read_text()
    for name, key in PARAMETERS.items():  # the guide's table of parameters has a row for each
        assert f"| `{name}` | `{key}`" in guide, name


def test_a_model_trained_in_python_is_exported_and_served_as_dnn_predict_answers(mixed, dnn):
    """`dnn export` and `dnn serve` take a checkpoint saved in Python as one of `dnn train`: the ONNX graph and
    the service answer each row as `dnn predict` does."""
    pytest.importorskip("onnxruntime")
    httpx = pytest.importorskip("httpx")
    from test_export_tables import onnx_feed, session
    from test_serve import Server

    X, y = mixed.drop(columns=["label", "id"]), mixed["label"]
    with warnings.catch_warnings(record=True):
        DNNClassifier(hidden_layer_sizes=(8,), learning_rate=0.1, epochs=50).fit(X, y).save("model.npz")
    records = json_lines(dnn("predict", "mixed.csv", "--checkpoint", "model.npz", "--json"))
    exported = dnn("export", "--checkpoint", "model.npz", "--out", "model.onnx")
    assert exported.exit_code == 0, exported.output
    graph = session("model.onnx")
    probabilities, _ = graph.run(None, onnx_feed("model.onnx", "mixed.csv"))
    np.testing.assert_allclose(
        probabilities, [[r["probabilities"][c] for c in ("no", "yes")] for r in records], atol=1e-12
    )
    server = Server(Path.cwd(), "--checkpoint", Path("model.npz").resolve())
    try:
        missing = lambda value: isinstance(value, float) and value != value  # noqa: E731 (NaN: JSON has none)
        rows = [{k: None if missing(v) else v for k, v in row.items()} for row in X.head(5).to_dict(orient="records")]
        answered = httpx.post(server.url + "/predict", json={"rows": rows}, timeout=60).json()["predictions"]
    finally:
        server.stop()
    assert [a["probabilities"] for a in answered] == [r["probabilities"] for r in records[:5]]
