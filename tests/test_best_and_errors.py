"""The best checkpoint and what a model gets wrong: best.npz labelled as metrics and evaluate say, each
example of `dnn evaluate --json` named, `--top-losses`."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from conftest import metrics_of, write_config
from dnncli.model import checkpoint

EARLY = ("--set", "training.validation_fraction=0.2", "--set", "training.early_stopping.patience=2")


@pytest.fixture(scope="module")
def early_run(tmp_path_factory, demo_data):
    """A run with a validation set that stops early, trained through the CLI; (folder, its train stdout)."""
    from click.testing import CliRunner

    from dnncli.cli import main

    root = tmp_path_factory.mktemp("early")
    config = write_config(root / "c.yaml", demo_data, training={"learning_rate": 0.01, "iterations": 400})
    args = ["train", "--config", str(config), "--progress", "plain", "--set", f"output.dir={root / 'runs'}", *EARLY]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1]), result.stdout


def test_best_npz_metrics_and_evaluate_name_the_same_iteration(early_run, dnn):
    folder, train_output = early_run
    m = metrics_of(folder)
    best = m["best_iteration"]
    assert m["stopped_early"] and best is not None
    assert checkpoint.load(folder / "best.npz").iteration == best
    # the validation scores logged at iteration best - 1 are of the weights after its update: best.npz's
    record = next(r for r in m["costs"] if r["iteration"] == best - 1)
    assert m["best_validation"] == {"cost": record["validation_cost"], "accuracy": record["validation_accuracy"]}
    assert record["validation_cost"] == min(r["validation_cost"] for r in m["costs"])
    result = dnn("evaluate", "--run", folder, "--best", "--split", "train", "--json", "-")
    assert json.loads(result.stdout)["iteration"] == best
    printed = dnn("evaluate", "--run", folder, "--best")
    assert printed.exit_code == 0 and f"best.npz (iteration {best})" in printed.stdout
    # the end-of-training summary: the best beside the last
    last = m["costs"][-1]
    assert last["iteration"] == m["iterations_done"] - 1  # the last step is always logged
    assert f"validation: best at iteration {best}, cost {record['validation_cost']:.6f}" in train_output
    assert f"validation: last at iteration {m['iterations_done']}, cost {last['validation_cost']:.6f}" in train_output


def test_runs_shows_the_best_beside_the_last(early_run, dnn):
    folder, _ = early_run
    m = metrics_of(folder)
    rows = json.loads(dnn("runs", folder.parents[1], "--json").stdout)
    row = next(row for row in rows if row["run"] == str(folder))
    assert row["best_iteration"] == m["best_iteration"]
    assert row["best_validation_accuracy"] == m["best_validation"]["accuracy"]
    assert row["validation_accuracy"] == m["validation"]["accuracy"]
    table = dnn("runs", folder.parents[1])
    assert f"{m['best_validation']['accuracy']:.4f} @{m['best_iteration']}" in table.stdout


def test_a_run_without_validation_has_no_best(demo_run, dnn):
    m = metrics_of(demo_run)
    assert m["best_iteration"] is None and m["best_validation"] is None
    row = json.loads(dnn("runs", demo_run.parents[1], "--json").stdout)[0]
    assert row["best_iteration"] is None and row["validation_accuracy"] is None


def test_each_record_names_its_index_and_the_probabilities_give_the_loss(demo_run, demo_data, dnn):
    report = json.loads(dnn("evaluate", "--run", demo_run, "--json", "-").stdout)
    with h5py.File(demo_data / "test.h5") as f:
        labels = f["test_set_y"][()]
    assert [r["index"] for r in report["predictions"]] == list(range(len(labels)))
    assert not any("file" in r for r in report["predictions"])
    classes = report["classes"]
    for record, label in zip(report["predictions"], labels, strict=True):
        assert record["true"] == classes[label]
        assert record["loss"] == pytest.approx(-np.log(record["probabilities"][record["true"]]))
    # the mean of the examples' losses is the log loss training reports
    assert np.mean([r["loss"] for r in report["predictions"]]) == pytest.approx(report["log_loss"], rel=1e-9)
    for key in ("roc_auc", "average_precision", "brier"):
        assert 0 <= report[key] <= 1
    assert len(report["calibration"]["bins"]) == 10


def test_top_losses_are_the_most_confidently_wrong_first(demo_run, dnn):
    full = json.loads(dnn("evaluate", "--run", demo_run, "--json", "-", "--top-losses", "5").stdout)
    top = full["top_losses"]
    losses = sorted((r["loss"] for r in full["predictions"]), reverse=True)
    assert [r["loss"] for r in top] == losses[:5]
    for row in top:
        record = full["predictions"][row["index"]]
        assert row["p_true"] == record["probabilities"][record["true"]]
        assert row["p_predicted"] == record["probabilities"][record["predicted"]] >= row["p_true"]
        assert (row["true"], row["predicted"]) == (record["true"], record["predicted"])
    printed = dnn("evaluate", "--run", demo_run, "--top-losses", "3")
    assert printed.exit_code == 0 and "the 3 highest losses" in printed.stdout
    assert dnn("evaluate", "--run", demo_run, "--top-losses", "0").exit_code == 2


def test_a_folder_set_names_each_file_and_top_losses_show_it(demo_run, demo_data, dnn, tmp_path):
    """40 test pictures as files in class folders, with an unreadable one that must not shift the names."""
    with h5py.File(demo_data / "test.h5") as f:
        pictures, labels = f["test_set_x"][:40], f["test_set_y"][:40]
        classes = [c.decode() for c in f["list_classes"][()]]
    for i, (pixels, label) in enumerate(zip(pictures, labels, strict=True)):
        (tmp_path / classes[label]).mkdir(exist_ok=True)
        Image.fromarray(pixels).save(tmp_path / classes[label] / f"{i:02d}.png")
    (tmp_path / classes[0] / "00a-broken.png").write_text("not a picture")
    result = dnn("evaluate", "--run", demo_run, "--data", tmp_path, "--json", "-", "--top-losses", "4")
    report = json.loads(result.stdout)
    expected = sorted(
        ((label, f"{classes[label]}/{i:02d}.png") for i, label in enumerate(labels)),
    )
    assert [r["file"] for r in report["predictions"]] == [name for _, name in expected]
    assert [r["true"] for r in report["predictions"]] == [classes[label] for label, _ in expected]
    by_file = {r["file"]: r for r in report["predictions"]}
    for row in report["top_losses"]:
        assert by_file[row["file"]]["loss"] == row["loss"]


def test_a_set_of_one_class_has_no_ranking_scores(demo_run, demo_data, dnn, tmp_path):
    from dnncli.data.hdf5 import write_hdf5

    with h5py.File(demo_data / "test.h5") as f:
        pictures, labels = f["test_set_x"][()], f["test_set_y"][()]
    only_plain = tmp_path / "plain.h5"
    write_hdf5(only_plain, "test", pictures[labels == 0][:10], [0] * 10, ["plain", "shape"])
    report = json.loads(dnn("evaluate", "--run", demo_run, "--data", only_plain, "--json", "-").stdout)
    assert report["roc_auc"] is None and report["average_precision"] is None  # nothing to rank against
    assert 0 <= report["brier"] <= 1
    printed = dnn("evaluate", "--run", demo_run, "--data", only_plain, "--json", tmp_path / "e.json")
    assert printed.exit_code == 0 and "n/a" in printed.stdout
