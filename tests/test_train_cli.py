import json
from pathlib import Path

import h5py
import numpy as np

from conftest import CAT_FILES, CONFIGS, data_sets, write_config
from dnncli.model import checkpoint


def last_line(output):
    return output.strip().splitlines()[-1]


def test_train_writes_a_run_folder(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("train", "--config", config, "--progress", "plain")
    assert result.exit_code == 0, result.output
    folder = Path(last_line(result.stdout))
    assert folder == Path("runs/t/1")
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "finished"
    assert [c["iteration"] for c in metrics["costs"]] == [0, 10, 20, 29]
    assert 0 <= metrics["train"]["accuracy"] <= 1 and metrics["test"]["examples"] == 100
    saved = checkpoint.load(folder / "checkpoint.npz")
    assert saved.net.layers == (12288, 8, 4, 1) and saved.classes == ["plain", "shape"]
    assert saved.iteration == 30
    assert (Path("runs") / "latest").read_text().strip() == "t/1"


def test_quiet_prints_only_the_folder(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 0
    assert result.stdout == "runs/t/1\n"
    second = dnn("train", "--config", config, "--quiet")
    assert second.stdout == "runs/t/2\n"


def test_demo_config_learns(in_tmp, demo_data, dnn):
    result = dnn("train", "--config", CONFIGS / "demo.yaml", "--quiet", *data_sets(demo_data))
    assert result.exit_code == 0, result.output
    metrics = json.loads((Path(last_line(result.stdout)) / "metrics.json").read_text())
    costs = [c["cost"] for c in metrics["costs"]]
    assert costs[-1] < 0.5 * costs[0]
    assert metrics["train"]["accuracy"] > 0.95 and metrics["test"]["accuracy"] > 0.8


def test_cat_reference_numbers(in_tmp, cat_data, dnn):
    result = dnn("train", "--config", CONFIGS / "cat.yaml", "--progress", "plain", *data_sets(cat_data, *CAT_FILES))
    assert result.exit_code == 0, result.output
    assert "iteration    0/2500  cost 0.771749" in result.stderr
    metrics = json.loads((Path(last_line(result.stdout)) / "metrics.json").read_text())
    assert round(metrics["costs"][0]["cost"], 6) == 0.771749
    assert metrics["train"]["accuracy"] >= 0.985
    assert metrics["test"]["accuracy"] == 0.80


def test_checkpoint_round_trip(tmp_path):
    from dnncli.engine import Network, initialize

    net = Network((6, 4, 3), ("tanh",), "softmax")
    params = initialize(net.layers, "he", 3)
    state = {"v_W1": np.arange(24.0).reshape(4, 6), "t": np.array(7)}
    header = checkpoint.make_header(net, ["a", "b", "c"], (1, 2, 3), 255.0, "float64", 12)
    checkpoint.save(tmp_path / "c.npz", header, params, state)
    loaded = checkpoint.load(tmp_path / "c.npz")
    assert loaded.net == net and loaded.header == header
    for name in params:
        assert loaded.params[name].dtype == params[name].dtype
        np.testing.assert_array_equal(loaded.params[name], params[name])
    np.testing.assert_array_equal(loaded.state["v_W1"], state["v_W1"])
    assert int(loaded.state["t"]) == 7


def test_data_demo_through_the_command_line(in_tmp, dnn):
    result = dnn("data", "demo", "--out", "four", "--classes", "4")
    assert result.exit_code == 0, result.output
    written = result.stdout.split()
    assert written[:2] == ["four/train.h5", "four/test.h5"] and len(written) == 2 + 4
    with h5py.File(in_tmp / "four" / "train.h5", "r") as f:
        assert [c.decode() for c in f["list_classes"][()]] == ["red", "green", "blue", "yellow"]
        assert sorted(set(f["train_set_y"][()])) == [0, 1, 2, 3]
    for number in ("1", "5"):
        result = dnn("data", "demo", "--out", "other", "--classes", number)
        assert result.exit_code == 2
        assert "Invalid value for '--classes'" in result.stderr and "2<=x<=4" in result.stderr
    assert not (in_tmp / "other").exists()
