"""`dnn evaluate` and its metrics: hand-computed cases, then the real CLI on trained runs."""

import json
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from dnncli.data.hdf5 import write_hdf5
from dnncli.model.metrics import classification_report, confusion_matrix


def last_line(output):
    return output.strip().splitlines()[-1]


# --- metrics, worked out by hand ----------------------------------------------


def test_three_classes_by_hand():
    labels = [0, 0, 0, 0, 1, 1, 2, 2, 2, 2]
    predicted = [0, 0, 0, 1, 1, 1, 1, 0, 2, 2]
    report = classification_report(np.array(labels), np.array(predicted), ["a", "b", "c"])
    assert report["confusion_matrix"] == [[3, 1, 0], [0, 2, 0], [1, 1, 2]]
    assert report["counts"] == {"a": 4, "b": 2, "c": 4}
    assert report["predicted_counts"] == {"a": 4, "b": 4, "c": 2}
    # precision TP/column, recall TP/row, F1 2TP/(row + column)
    expected = {
        "a": {"precision": 3 / 4, "recall": 3 / 4, "f1": 6 / 8},
        "b": {"precision": 2 / 4, "recall": 2 / 2, "f1": 4 / 6},
        "c": {"precision": 2 / 2, "recall": 2 / 4, "f1": 4 / 6},
    }
    for name, scores in expected.items():
        assert report["per_class"][name] == pytest.approx(scores, abs=1e-15)
    assert report["macro"] == pytest.approx({"precision": 0.75, "recall": 0.75, "f1": 25 / 36}, abs=1e-15)
    assert "positive" not in report


def test_binary_reports_the_positive_class_and_zero_for_nothing_to_count():
    report = classification_report(np.array([0, 0, 1, 1, 1]), np.array([0, 0, 0, 0, 0]), ["no", "yes"])
    assert report["confusion_matrix"] == [[2, 0], [3, 0]]
    assert report["per_class"]["no"] == pytest.approx({"precision": 2 / 5, "recall": 1.0, "f1": 4 / 7})
    # "yes" is never predicted: its precision has nothing to count and is 0
    assert report["positive"] == {"class": "yes", "precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert report["macro"] == pytest.approx({"precision": 0.2, "recall": 0.5, "f1": 2 / 7})


def test_a_class_absent_from_the_data_counts_in_the_macro_average():
    report = classification_report(np.array([0, 1, 1]), np.array([0, 1, 0]), ["a", "b", "c"])
    assert report["counts"]["c"] == 0 and report["per_class"]["c"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0}
    assert report["macro"]["precision"] == pytest.approx((1 / 2 + 1) / 3)
    assert report["macro"]["recall"] == pytest.approx((1 + 1 / 2) / 3)


def test_confusion_matrix_counts_every_pair():
    rng = np.random.default_rng(3)
    labels, predicted = rng.integers(0, 4, size=(2, 500))
    confusion = confusion_matrix(labels, predicted, 4)
    for i in range(4):
        for j in range(4):
            assert confusion[i, j] == np.sum((labels == i) & (predicted == j))


# --- the command --------------------------------------------------------------


def run_metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def labels_in(path, split):
    with h5py.File(path) as f:
        return f[f"{split}_set_y"][()]


def test_no_flags_evaluates_the_newest_run_on_its_test_set(demo_run, demo_data, dnn, monkeypatch):
    monkeypatch.chdir(demo_run.parents[2])
    result = dnn("evaluate")
    assert result.exit_code == 0, result.output
    written = Path(last_line(result.stdout))
    assert written == Path("runs/t/1/evaluation-test.json")
    report = json.loads(written.read_text())
    trained = run_metrics(demo_run)["test"]
    assert report["accuracy"] == trained["accuracy"]  # the very number dnn train reported
    assert report["log_loss"] == trained["cost"]
    assert report["split"] == "test" and report["data"] == str(demo_data / "test.h5")
    assert report["checkpoint"] == "runs/t/1/checkpoint.npz" and report["iteration"] == 300
    labels = labels_in(demo_data / "test.h5", "test")
    confusion = np.array(report["confusion_matrix"])
    assert confusion.sum() == report["examples"] == len(labels) == 100
    assert np.trace(confusion) / 100 == report["accuracy"]
    assert report["counts"] == {"plain": int(np.sum(labels == 0)), "shape": int(np.sum(labels == 1))}
    for name in ("precision (shape)", "macro f1", "true \\ predicted", "plain", "shape", f"{report['accuracy']:.4f}"):
        assert name in result.stdout


def test_each_example_is_in_the_report(demo_run, demo_data, dnn):
    report = json.loads(dnn("evaluate", "--run", demo_run, "--json", "-").stdout)
    labels = labels_in(demo_data / "test.h5", "test")
    assert [p["index"] for p in report["predictions"]] == list(range(100))
    assert [p["true"] for p in report["predictions"]] == [["plain", "shape"][y] for y in labels]
    for p in report["predictions"]:
        probabilities = p["probabilities"]
        assert sum(probabilities.values()) == pytest.approx(1, abs=1e-12)
        assert p["predicted"] == ("shape" if probabilities["shape"] > 0.5 else "plain")


def test_train_split_matches_training_accuracy(demo_run, dnn):
    result = dnn("evaluate", "--run", demo_run, "--split", "train")
    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == str(demo_run / "evaluation-train.json")
    report = json.loads((demo_run / "evaluation-train.json").read_text())
    assert report["accuracy"] == run_metrics(demo_run)["train"]["accuracy"]
    assert report["examples"] == 300


def test_data_file_finds_its_split(demo_run, demo_data, dnn, tmp_path):
    out = tmp_path / "r.json"
    result = dnn("evaluate", "--run", demo_run, "--data", demo_data / "train.h5", "--json", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["split"] == "train" and report["accuracy"] == run_metrics(demo_run)["train"]["accuracy"]


def test_json_dash_prints_only_json(demo_run, dnn):
    result = dnn("evaluate", "--run", demo_run, "--json", "-")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["accuracy"] == run_metrics(demo_run)["test"]["accuracy"]


def test_a_checkpoint_outside_a_run_needs_data(demo_run, demo_data, dnn, tmp_path):
    model = tmp_path / "model.npz"
    shutil.copy(demo_run / "checkpoint.npz", model)
    result = dnn("evaluate", "--checkpoint", model)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {tmp_path}: no config.yaml here names a data set; pass --data FILE\n"
    result = dnn("evaluate", "--checkpoint", model, "--data", demo_data / "test.h5")
    assert result.exit_code == 0, result.output
    assert last_line(result.stdout) == str(tmp_path / "evaluation-model-test.json")


def test_three_classes_end_to_end(softmax_run, dnn):
    result = dnn("evaluate", "--run", softmax_run)
    assert result.exit_code == 0, result.output
    report = json.loads(Path(last_line(result.stdout)).read_text())
    assert report["classes"] == ["red", "green", "blue"]
    assert report["accuracy"] == run_metrics(softmax_run)["test"]["accuracy"]
    assert set(report["per_class"]) == {"red", "green", "blue"} and "positive" not in report
    assert np.array(report["confusion_matrix"]).shape == (3, 3)
    assert "macro precision" in result.stdout and "precision (" not in result.stdout


def test_data_that_does_not_fit_the_model(demo_run, dnn, tmp_path):
    small = tmp_path / "small.h5"
    write_hdf5(small, "test", np.zeros((4, 32, 32, 3), np.uint8), [0, 1, 0, 1], ["plain", "shape"])
    result = dnn("evaluate", "--run", demo_run, "--data", small)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {small}: pictures are (32, 32, 3), the training set's are (64, 64, 3)\n"
    renamed = tmp_path / "renamed.h5"
    write_hdf5(renamed, "test", np.zeros((2, 64, 64, 3), np.uint8), [0, 1], ["cat", "dog"])
    result = dnn("evaluate", "--run", demo_run, "--data", renamed)
    assert result.exit_code == 2 and "classes ['cat', 'dog'] differ" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--split", "test"], "no runs yet under runs/"),
        (["--run", "nowhere"], "nowhere: no such run folder"),
        (["--run", "a", "--checkpoint", "b"], "give --run or --checkpoint, not both"),
        (["--checkpoint", "missing.npz"], "missing.npz: no such checkpoint"),
    ],
)
def test_usage_errors(in_tmp, dnn, args, message):
    result = dnn("evaluate", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_data_file_without_picture_keys(demo_run, dnn, tmp_path):
    odd = tmp_path / "odd.h5"
    with h5py.File(odd, "w") as f:
        f["pics"] = np.zeros((2, 64, 64, 3), np.uint8)
    result = dnn("evaluate", "--run", demo_run, "--data", odd)
    assert result.exit_code == 2
    assert result.stderr == f"Error: {odd}: has neither 'test_set_x' nor 'train_set_x' pictures\n"


def test_a_checkpoint_scaled_otherwise_is_refused(demo_run, demo_data, dnn, tmp_path):
    from dnncli.model import checkpoint

    saved = checkpoint.load(demo_run / "checkpoint.npz")
    checkpoint.save(
        tmp_path / "m.npz", dict(saved.header, scaling={"divide_by": 510.0}), saved.params, extra=saved.arrays
    )
    result = dnn("evaluate", "--checkpoint", tmp_path / "m.npz", "--data", demo_data / "test.h5")
    assert result.exit_code == 2
    assert (
        result.stderr
        == f"Error: {tmp_path / 'm.npz'}: divides pixels by 510.0; data sets are evaluated divided by 255.0\n"
    )
