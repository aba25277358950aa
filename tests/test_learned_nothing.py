"""A run that learned nothing says so (model.collapse, the end of run.loop): a dead network ends as failed,
exit 1, its checkpoint kept; a model that answers one class for everything is a warning in metrics.json,
`dnn runs` and the report; uneven classes are named with the remedy."""

import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import CONFIGS, data_sets, metrics_of, write_config
from dnncli.data.dataset import Dataset
from dnncli.engine import Network, forward, initialize
from dnncli.model.collapse import (
    SAME,
    Spread,
    constant_output,
    dead_layers,
    learned_nothing,
    one_class,
    one_class_warning,
    same_inputs_warning,
    spread,
    uneven_classes,
)

TERMINAL = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "250"}


def spread_of(units, outputs, answered, present):
    """A ``Spread`` from per-layer (low, high) pairs, the outputs' (low, high), and the class counts."""
    return Spread(
        [np.array(low, float) for low, _ in units],
        [np.array(high, float) for _, high in units],
        np.array(outputs[0], float),
        np.array(outputs[1], float),
        np.array(answered),
        np.array(present),
    )


def dead_everywhere():
    return spread_of([([0, -1], [2, 3]), ([0, 0, 0], [0, 0, 0])], ([0.3], [0.3]), [0, 300], [150, 150])


def test_a_dead_layer_and_a_constant_output_are_a_run_that_learned_nothing():
    dead = dead_everywhere()
    assert dead_layers(dead) == [2] and constant_output(dead)
    message = learned_nothing(dead, 10.0)
    assert message.startswith("the model learned nothing: every unit of hidden layer 2 outputs 0 for every")
    assert "try a lower training.learning_rate (now 10, try 1) or another model.init" in message
    saturated = spread_of([([1, 1], [1, 1 + SAME / 2])], ([0.7], [0.7]), [0, 10], [5, 5])
    assert "every unit of hidden layer 1 gives the same value" in learned_nothing(saturated, 0.1)
    flat_output = spread_of([([0, 0], [1, 1])], ([0.2], [0.2 + SAME / 2]), [10, 0], [5, 5])
    assert "its output is the same (to 1e-06) for every training example" in learned_nothing(flat_output, 0.1)


def test_an_output_that_varies_or_data_of_one_class_is_not_a_failure():
    varies = spread_of([([0, 0], [0, 1])], ([0.2], [0.2 + 2 * SAME]), [10, 0], [5, 5])
    assert learned_nothing(varies, 0.1) is None and dead_layers(varies) == []
    one_class_data = spread_of([([0, 0], [0, 0])], ([0.2], [0.2]), [10, 0], [10, 0])
    assert learned_nothing(one_class_data, 0.1) is None
    nan = spread_of([([0], [1])], ([np.nan], [np.nan]), [10, 0], [5, 5])
    assert not constant_output(nan)
    same_inputs = spread_of([([0, 0], [0, 0])], ([0.5], [0.5]), [10, 0], [5, 5])
    same_inputs.inputs_differ = False
    assert learned_nothing(same_inputs, 0.1) is None
    assert same_inputs_warning(same_inputs).startswith("every training example has the same inputs")
    assert same_inputs_warning(dead_everywhere()) is None


def test_one_class_answered_for_every_example_is_a_warning_with_the_remedy_for_uneven_classes():
    uneven = spread_of([([0], [1])], ([0.1], [0.3]), [100, 0], [85, 15])
    assert one_class(uneven) == 0
    assert one_class_warning(uneven, ["plain", "shape"]) == (
        "the model answers 'plain' for every training example, though 15% are of other classes: it learned only "
        "which class is most common; the classes are uneven: training.class_weight: balanced weighs each "
        "class's examples by how rare it is"
    )
    even = spread_of([([0], [1])], ([0.1], [0.3]), [0, 0, 100], [40, 30, 30])
    assert one_class_warning(even, ["a", "b", "c"]).endswith("try more iterations or another training.learning_rate")
    answers_both = spread_of([([0], [1])], ([0.1], [0.9]), [60, 40], [85, 15])
    assert one_class(answers_both) is None and one_class_warning(answers_both, ["a", "b"]) is None


def test_uneven_classes_are_named_with_the_remedy():
    assert uneven_classes([85, 15], ["plain", "shape"]) == (
        "uneven classes: 'shape' 15 (15%) of 100 training examples; a model can score well by rarely answering it "
        "(training.class_weight: balanced weighs each class's examples by how rare it is)"
    )
    assert uneven_classes([72, 137], ["non-cat", "cat"]) is None  # the cat set: 34% is not uneven
    assert "them" in uneven_classes([80, 10, 10], ["a", "b", "c"])
    assert uneven_classes([0, 0], ["a", "b"]) is None


def test_the_spread_over_a_set_a_part_at_a_time_is_the_spread_of_the_whole():
    rng = np.random.default_rng(1)
    net = Network((12, 5, 3, 1), ("relu", "tanh"))
    params = initialize(net.layers, "he", 3)
    pictures = rng.integers(0, 256, (100, 2, 2, 3), dtype=np.uint8)
    labels = rng.integers(0, 2, 100)
    seen = spread(net, params, Dataset(pictures, labels, ["a", "b"], "memory"), np.float64)
    ZL, cache = forward(net, params, pictures.reshape(100, -1).T / 255.0)
    for l in range(2):
        assert np.array_equal(seen.unit_low[l], cache[l][2].min(axis=1))
        assert np.array_equal(seen.unit_high[l], cache[l][2].max(axis=1))
    p = 1 / (1 + np.exp(-ZL))
    assert seen.output_low == pytest.approx(p.min(axis=1)) and seen.output_high == pytest.approx(p.max(axis=1))
    assert seen.answered.tolist() == [int(np.sum(p <= 0.5)), int(np.sum(p > 0.5))]
    assert seen.present.tolist() == np.bincount(labels, minlength=2).tolist()
    assert seen.inputs_differ
    same = Dataset(np.zeros((40, 2, 2, 3), np.uint8), labels[:40], ["a", "b"], "memory")
    assert not spread(net, params, same, np.float64).inputs_differ


# --- real runs ---------------------------------------------------------------------------------------------


def test_a_learning_rate_of_10_on_the_demo_kills_every_unit_and_the_run_fails(demo_data, in_tmp, dnn):
    result = dnn(
        "train", "--config", CONFIGS / "demo.yaml", "--quiet", "--set", "training.learning_rate=10",
        *data_sets(demo_data),
    )  # fmt: skip
    assert result.exit_code == 1
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("Error: the model learned nothing: every unit of hidden layer")
    assert "outputs 0 for every training example (dead units)" in error
    assert "try a lower training.learning_rate (now 10, try 1) or another model.init" in error
    folder = in_tmp / "runs" / "demo" / "1"
    assert f"({Path('runs/demo/1/checkpoint.npz')} is kept)" in error
    assert (folder / "checkpoint.npz").exists()
    metrics = metrics_of(folder)
    assert metrics["status"] == "failed" and metrics["error"] in error
    assert metrics["iterations_done"] == 2500 and metrics["train"]["accuracy"] == 0.5  # the scores are kept too
    listed = dnn("runs", in_tmp / "runs")
    assert "failed" in listed.stdout
    line = next(line for line in listed.stdout.splitlines() if line.startswith(f"{folder}\t"))
    assert line.split("\t")[-2:][0] == "failed" and line.split("\t")[-1].startswith("the model learned nothing")


def write_uneven_folder(root, counts):
    """root/<split>/<class>/ with noise pictures, the same kind in every class: nothing tells the classes apart."""
    rng = np.random.default_rng(0)
    for split, by_class in counts.items():
        for name, count in by_class.items():
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{i:03d}.png")
    return root


def test_an_85_15_folder_set_collapses_to_the_larger_class_and_says_so(demo_data, in_tmp, dnn):
    photos = write_uneven_folder(
        in_tmp / "photos", {"train": {"plain": 85, "shape": 15}, "test": {"plain": 11, "shape": 2}}
    )
    config = write_config(
        in_tmp / "uneven.yaml",
        demo_data,
        data={"format": "folder", "train": str(photos / "train"), "test": str(photos / "test")},
        training={"learning_rate": 0.005, "iterations": 200, "log_every": 50},
    )
    result = dnn("train", "--config", config, env=TERMINAL)
    assert result.exit_code == 0, result.output
    uneven = (
        "uneven classes: 'shape' 15 (15%) of 100 training examples; a model can score well by rarely answering it "
        "(training.class_weight: balanced weighs each class's examples by how rare it is)"
    )
    one_class = (
        "the model answers 'plain' for every training example, though 15% are of other classes: it learned only "
        "which class is most common; the classes are uneven: training.class_weight: balanced"
    )
    no_better = (
        "on the test set the model is no better than always answering 'plain': accuracy 0.8462 against its 0.8462, "
        "balanced accuracy 0.5000 against its 0.5000"
    )
    stderr = " ".join(result.stderr.split())
    assert stderr.index(uneven) < stderr.index("iteration") < stderr.index(one_class) < stderr.index(no_better)
    folder = Path(result.stdout.strip().splitlines()[-1])
    metrics = metrics_of(folder)
    assert metrics["status"] == "finished"
    assert metrics["test"]["accuracy"] == pytest.approx(11 / 13)  # 0.8462: the larger class's share
    assert metrics["test"]["baseline_accuracy"] == pytest.approx(11 / 13)
    assert metrics["test"]["balanced_accuracy"] == metrics["test"]["baseline_balanced_accuracy"] == 0.5
    assert metrics["class_counts"] == {"plain": 85, "shape": 15}
    assert [w[: len(t)] for w, t in zip(metrics["warnings"], (uneven, one_class, no_better), strict=True)] == [
        uneven,
        one_class,
        no_better,
    ]
    summary = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).split())  # every score beside the baseline
    assert "balanced ┃ baseline ┃" in summary and "0.8462 │ 0.5000 │ 0.8462 │" in summary
    assert "baseline: always answering 'plain'" in summary and f"! {no_better}" in summary
    listed = dnn("runs", in_tmp / "runs", env=TERMINAL)
    assert f"! {in_tmp / folder}: the model answers 'plain'" in listed.stdout.replace("\n", "")
    assert f"! {in_tmp / folder}: on the test set the model is no better" in listed.stdout.replace("\n", "")
    piped = dnn("runs", in_tmp / "runs")
    line = next(line for line in piped.stdout.splitlines() if line.startswith(f"{in_tmp / folder}\t"))
    assert line.split("\t")[-1] == "; ".join(metrics["warnings"])
    rows = json.loads(dnn("runs", in_tmp / "runs", "--json").stdout)
    assert rows[0]["warnings"] == metrics["warnings"] and rows[0]["error"] is None
    assert rows[0]["test_baseline_accuracy"] == pytest.approx(11 / 13)
    evaluated = dnn("evaluate", "--run", folder, env=TERMINAL)
    assert f"! {no_better.removeprefix('on the test set the model is ')}" in " ".join(evaluated.stdout.split())
    report = json.loads((folder / "evaluation-test.json").read_text())
    assert report["baseline"] == {"class": "plain", "accuracy": 11 / 13, "balanced_accuracy": 0.5}
    assert report["balanced_accuracy"] == 0.5 and report["per_class"]["shape"]["recall"] == 0
    page = in_tmp / "report.html"
    assert dnn("report", folder, "--out", page).exit_code == 0
    text = page.read_text()
    assert "the model answers &#x27;plain&#x27; for every training example" in text
    assert "The model is no better than always answering &#x27;plain&#x27;: accuracy 0.8462 against its 0.8462" in text


def test_a_run_that_learned_has_no_warnings(demo_run):
    metrics = metrics_of(demo_run)
    assert metrics["status"] == "finished" and "warnings" not in metrics and "error" not in metrics


def test_the_summary_and_metrics_give_each_class_s_recall_as_evaluate_does(demo_data, in_tmp, dnn):
    trained = dnn("train", "--config", CONFIGS / "demo.yaml", *data_sets(demo_data))
    assert trained.exit_code == 0, trained.output
    folder = in_tmp / "runs" / "demo" / "1"
    evaluated = dnn("evaluate", "--run", folder, "--json", "-")
    assert evaluated.exit_code == 0, evaluated.output
    per_class = json.loads(evaluated.stdout)["per_class"]
    recall = metrics_of(folder)["test"]["recall"]
    assert recall == [per_class[name]["recall"] for name in ("plain", "shape")]
    shown = ", ".join(f"{name} {value:.4f}" for name, value in zip(("plain", "shape"), recall, strict=True))
    assert f"recall by class on the test set: {shown}" in trained.stdout  # the summary, after the log
    assert np.mean(recall) == pytest.approx(metrics_of(folder)["test"]["balanced_accuracy"], abs=1e-15)
