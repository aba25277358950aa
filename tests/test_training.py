"""Training options end to end: determinism, epochs, validation, early stopping, softmax, Adam on the cat set."""

import json
from pathlib import Path

import numpy as np

from conftest import CAT_FILES, CONFIGS, STATEFUL, arrays, assert_same_run, data_sets, write_config
from dnncli.model import checkpoint


def run_folder(result):
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def metrics(folder):
    return json.loads((folder / "metrics.json").read_text())


def test_same_seed_same_run_with_shuffling_and_dropout(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training=STATEFUL)
    first = run_folder(dnn("train", "--config", config, "--quiet"))
    second = run_folder(dnn("train", "--config", config, "--quiet"))
    assert_same_run(first, second)
    other = run_folder(dnn("train", "--config", config, "--quiet", "--set", "seed=2"))
    assert not np.array_equal(arrays(first / "checkpoint.npz")["W1"], arrays(other / "checkpoint.npz")["W1"])


def test_epochs_count_mini_batches(in_tmp, demo_data, dnn):
    # 300 examples, 20% held out: 240 to train on, 64 a batch: 4 steps an epoch
    training = {"iterations": None, "epochs": 3, "batch_size": 64, "validation_fraction": 0.2, "log_every": 1}
    config = write_config(in_tmp / "c.yaml", demo_data, training=training)
    folder = run_folder(dnn("train", "--config", config, "--quiet"))
    m = metrics(folder)
    assert m["iterations"] == m["iterations_done"] == 12
    assert m["train"]["examples"] == 240 and m["validation"]["examples"] == 60
    assert [r["iteration"] for r in m["costs"]] == list(range(12))
    assert all(0 <= r["validation_accuracy"] <= 1 and r["validation_cost"] > 0 for r in m["costs"])


def test_early_stopping_keeps_the_best_model(in_tmp, demo_data, dnn):
    # the validation cost falls, with bumps; two checks in a row without a new best stop the run
    training = {"learning_rate": 0.0075, "iterations": 3000, "validation_fraction": 0.3, "log_every": 50}
    training["early_stopping"] = {"patience": 2}
    model = {"layers": [12288, 20, 7, 5, 1]}
    config = write_config(in_tmp / "c.yaml", demo_data, model=model, training=training)
    result = dnn("train", "--config", config)
    folder = run_folder(result)
    m = metrics(folder)
    assert m["stopped_early"] and m["iterations_done"] < 3000
    assert "stopped early" in result.stdout
    costs = {r["iteration"]: r["validation_cost"] for r in m["costs"]}
    best = m["best_iteration"]  # iterations done: the weights after the update of the record of best - 1
    assert best > 1 and costs[best - 1] == min(costs.values()) < costs[0]
    assert m["best_validation"]["cost"] == costs[best - 1]
    assert sorted(costs)[-1] == best - 1 + 2 * 50
    best_model = checkpoint.load(folder / "best.npz")
    assert best_model.iteration == best
    last = checkpoint.load(folder / "checkpoint.npz")
    assert last.iteration == m["iterations_done"]
    assert not np.array_equal(best_model.params["W1"], last.params["W1"])


def test_softmax_on_the_three_class_demo(in_tmp, three_class_data, dnn):
    folder = run_folder(
        dnn(
            "train", "--config", CONFIGS / "demo-multiclass.yaml", "--quiet",
            *data_sets(three_class_data), "--set", "training.iterations=1500",
        )
    )  # fmt: skip
    m = metrics(folder)
    assert m["costs"][0]["cost"] > 1.0  # about ln 3 at the start
    assert m["train"]["accuracy"] > 0.95 and m["test"]["accuracy"] > 0.85
    assert checkpoint.load(folder / "checkpoint.npz").classes == ["red", "green", "blue"]


def test_softmax_needs_as_many_outputs_as_classes(in_tmp, three_class_data, dnn):
    config = write_config(in_tmp / "c.yaml", three_class_data, model={"layers": [12288, 4, 2], "output": "softmax"})
    result = dnn("train", "--config", config)
    assert result.exit_code == 2
    assert "model.layers: the last size must equal the number of classes, 3, got 2" in result.stderr
    sigmoid = write_config(in_tmp / "s.yaml", three_class_data)
    assert "sigmoid is for two classes" in dnn("train", "--config", sigmoid).stderr


def test_float32_training(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, dtype="float32", training={"iterations": 50, "batch_size": 100})
    folder = run_folder(dnn("train", "--config", config, "--quiet"))
    saved = checkpoint.load(folder / "checkpoint.npz")
    assert {p.dtype for p in saved.params.values()} == {np.dtype(np.float32)}
    assert metrics(folder)["costs"][-1]["cost"] < metrics(folder)["costs"][0]["cost"]


def test_cat_with_adam_beats_the_reference_test_accuracy(in_tmp, cat_data, dnn):
    folder = run_folder(
        dnn(
            "train", "--config", CONFIGS / "cat-adam.yaml", "--quiet", *data_sets(cat_data, *CAT_FILES),
        )
    )  # fmt: skip
    assert metrics(folder)["test"]["accuracy"] > 0.80


def test_gradcheck_command(in_tmp, demo_data, dnn):
    model = {"layers": [12288, 5, 4, 1], "activation": ["tanh", "leaky_relu"]}
    config = write_config(in_tmp / "c.yaml", demo_data, model=model, training={"l2": 0.3, "keep_prob": [0.7, 1.0]})
    result = dnn("gradcheck", "--config", config, "--entries", "20")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("│")]
    assert len(rows) == 3 and all(row.rstrip(" │").endswith("ok") for row in rows)
    strict = dnn("gradcheck", "--config", config, "--entries", "20", "--threshold", "1e-15")
    assert strict.exit_code == 1 and "gradient check failed for layer" in strict.stderr
