"""Shared fixtures: the demo data set (made once per session) and the course's cat files."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from dnncli.cli import main
from dnncli.demo import write_demo

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


def cat_folder():
    """The course's files: $DNN_CAT_DATA, data/cat/ in the project, or ../shared/data/cat/ beside it."""
    candidates = [os.environ.get("DNN_CAT_DATA"), ROOT / "data" / "cat", ROOT.parent / "shared" / "data" / "cat"]
    for folder in candidates:
        if (
            folder
            and (Path(folder) / "train_catvnoncat.h5").exists()
            and (Path(folder) / "test_catvnoncat.h5").exists()
        ):
            return Path(folder)
    return None


@pytest.fixture(scope="session")
def cat_data():
    folder = cat_folder()
    if folder is None:
        pytest.skip("the course's cat files are not here (set DNN_CAT_DATA or put them in data/cat/)")
    return folder


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory):
    """The built-in demo set: train.h5, test.h5, samples/ (do not modify; copy first)."""
    out = tmp_path_factory.mktemp("demo")
    write_demo(out)
    return out


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run inside an empty folder, so runs/ lands there."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def dnn():
    """Invoke the CLI: dnn("train", "--config", path) -> click Result."""
    runner = CliRunner()

    def invoke(*args, **kwargs):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False, **kwargs)

    return invoke


def write_config(path, demo_data, **sections):
    """A small demo config at ``path``; ``sections`` update its top-level sections."""
    import yaml

    config = {
        "name": "t",
        "seed": 1,
        "data": {"train": str(demo_data / "train.h5"), "test": str(demo_data / "test.h5")},
        "model": {"layers": [12288, 8, 4, 1]},
        "training": {"learning_rate": 0.01, "iterations": 30, "log_every": 10},
    }
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key].update(value)
        else:
            config[key] = value
    Path(path).write_text(yaml.safe_dump(config))
    return Path(path)


def train_run(root, config_path):
    """Train ``config_path`` through the CLI with runs under ``root``; returns the run folder."""
    result = CliRunner().invoke(
        main, ["train", "--config", str(config_path), "--quiet", "--set", f"output.dir={root / 'runs'}"]
    )
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory, demo_data):
    """A small two-class model trained on the demo set: ``runs/t/1`` under a folder with ``runs/latest``."""
    root = tmp_path_factory.mktemp("demo_run")
    config = write_config(root / "c.yaml", demo_data, training={"learning_rate": 0.01, "iterations": 300})
    return train_run(root, config)


@pytest.fixture(scope="session")
def three_class_data(tmp_path_factory, demo_data):
    """The demo pictures labelled dark, mid or bright by their mean pixel: a three-class set."""
    import h5py
    import numpy as np

    from dnncli.data import write_hdf5

    out = tmp_path_factory.mktemp("three")
    for split in ("train", "test"):
        with h5py.File(demo_data / f"{split}.h5") as f:
            x = f[f"{split}_set_x"][()]
        labels = np.digitize(x.mean(axis=(1, 2, 3)), [100, 150])
        write_hdf5(out / f"{split}.h5", split, x, labels, ["dark", "mid", "bright"])
    return out


@pytest.fixture(scope="session")
def softmax_run(tmp_path_factory, three_class_data):
    """A small softmax model trained on ``three_class_data``."""
    root = tmp_path_factory.mktemp("softmax_run")
    config = write_config(
        root / "c.yaml",
        three_class_data,
        model={"layers": [12288, 8, 3], "output": "softmax"},
        training={"learning_rate": 0.05, "iterations": 200},
    )
    return train_run(root, config)


def metrics_of(folder):
    """A run folder's metrics.json."""
    import json

    return json.loads((Path(folder) / "metrics.json").read_text())


def train_quietly(dnn, config, *args):
    """``dnn train --config config --quiet *args``: (click result, the run folder or None)."""
    result = dnn("train", "--config", config, "--quiet", *args)
    return result, Path(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None
