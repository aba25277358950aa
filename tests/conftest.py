"""Shared fixtures: the demo data set (made once per session) and the course's cat files."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import settings

from dnncli.cli import main
from dnncli.data.demo import write_demo
from dnncli.engine import OUTPUT_ACTIVATIONS, Network, batch_norm_arrays, encode_labels, initialize

# The suite draws the same examples on every run, so a run of `make test` (and CI) is reproducible; `make fuzz`
# loads "fuzz" and draws new ones, many more. Test modules build their settings on whichever is loaded.
settings.register_profile("suite", derandomize=True)
settings.register_profile("fuzz", derandomize=False)
settings.load_profile(os.environ.get("DNN_HYPOTHESIS", "suite"))

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


def data_sets(folder, train="train.h5", test="test.h5"):
    """``--set`` arguments pointing a shipped config at data in ``folder``."""
    return ["--set", f"data.train={folder / train}", "--set", f"data.test={folder / test}"]


CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def random_targets(net, rng, m, dtype=np.float64):
    """Targets ``Y`` of ``m`` examples drawn by ``rng``: encoded labels, or numbers for a regression."""
    if net.is_regression:
        return rng.normal(size=(net.layers[-1], m)).astype(dtype)
    return encode_labels(net, rng.integers(0, net.n_classes, m), dtype)


def checkable_problem(layers, activations, output, m=7, seed=0, batch_norm=None, dtype=np.float64):
    """What a gradient check takes: a network, its arrays (biases, batch norm's scales and shifts moved off
    their start, so the check sees them), a batch ``X`` and its targets ``Y`` (``random_targets``)."""
    rng = np.random.default_rng(seed)
    net = Network(tuple(layers), tuple(activations), output, batch_norm)
    params = initialize(net.layers, "xavier", seed, dtype)
    params.update(batch_norm_arrays(net, dtype))
    for name in params:
        if name[0] == "b" or name.startswith("gamma"):
            params[name] = (params[name] + rng.normal(0, 0.3, params[name].shape)).astype(dtype)
    params = {name: params[name] for name in net.array_names}
    X = rng.normal(size=(layers[0], m)).astype(dtype)
    return net, params, X, random_targets(net, rng, m, dtype)


# Class weights for the tests, one per class: (class 0, class 1) of a sigmoid output, three for a softmax one.
CLASS_WEIGHTS = {"sigmoid": (0.4, 2.5), "softmax": (1.0, 3.0, 0.5)}
# (output, class weights): every output unweighted, then the classifiers weighted
OUTPUT_CASES = [(output, None) for output in sorted(OUTPUT_ACTIVATIONS)] + sorted(CLASS_WEIGHTS.items())


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


def set_key(config, dotted, value):
    """``config`` with the dotted key set to ``value``, making sections (over whatever was there) on the way."""
    node = config
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


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
def validated_run(tmp_path_factory, demo_data):
    """A finished short run with a validation set, so it has all four of a run's files (with best.npz)."""
    root = tmp_path_factory.mktemp("validated_run")
    config = write_config(
        root / "c.yaml", demo_data, training={"iterations": 6, "log_every": 2, "validation_fraction": 0.2}
    )
    return train_run(root, config)


@pytest.fixture(scope="session")
def three_class_data(tmp_path_factory):
    """The three-class demo set (``dnn data demo --classes 3``): red, green or blue shapes."""
    out = tmp_path_factory.mktemp("three")
    write_demo(out, classes=3)
    return out


@pytest.fixture(scope="session")
def softmax_run(tmp_path_factory, three_class_data):
    """A small softmax model trained on ``three_class_data``."""
    root = tmp_path_factory.mktemp("softmax_run")
    config = write_config(
        root / "c.yaml",
        three_class_data,
        model={"layers": [12288, 8, 3], "output": "softmax"},
        training={"learning_rate": 0.02, "iterations": 200},  # at 0.05 its one hidden layer dies: it learned nothing
    )
    return train_run(root, config)


# mini-batches with shuffling, dropout, Adam, a schedule, L2 and a validation set with early stopping:
# everything that carries state across a resume
STATEFUL = {
    "learning_rate": 0.00005,  # at 0.0005 (and 0.0001 with seed 2) its first layer dies: a run that learned nothing fails
    "iterations": 60,
    "batch_size": 32,
    "optimizer": "adam",
    "schedule": {"name": "step", "every": 20, "factor": 0.5},
    "l2": 0.1,
    "keep_prob": [0.8, 0.9],
    "validation_fraction": 0.2,
    "early_stopping": {"patience": 50},
    "log_every": 5,
    "checkpoint_every": 10,
}


def arrays(path):
    with np.load(path, allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files if name != "header"}


def assert_same_run(a, b):
    first, second = arrays(a / "checkpoint.npz"), arrays(b / "checkpoint.npz")
    assert first.keys() == second.keys()
    for name in first:
        assert np.array_equal(first[name], second[name]), name  # bit for bit
    ma, mb = (json.loads((f / "metrics.json").read_text()) for f in (a, b))
    for key in ("costs", "train", "validation", "test", "iterations_done", "best_iteration", "stopped_early"):
        assert ma[key] == mb[key], key


def metrics_of(folder):
    """A run folder's metrics.json."""
    return json.loads((Path(folder) / "metrics.json").read_text())


def train_quietly(dnn, config, *args):
    """``dnn train --config config --quiet *args``: (click result, the run folder or None)."""
    result = dnn("train", "--config", config, "--quiet", *args)
    return result, Path(result.stdout.strip().splitlines()[-1]) if result.stdout.strip() else None


# --- table runs: a regression and a classification with every kind of column, trained once per session ---------


@pytest.fixture(scope="session")
def table_files(tmp_path_factory):
    """``diabetes.csv`` (numbers, a numeric target) and ``mixed.csv`` (an id, numbers, categories, booleans,
    missing cells, the target ``label``) in one folder."""
    from tabledata import mixed_columns, write_diabetes, write_mixed_csv

    folder = tmp_path_factory.mktemp("tables")
    write_diabetes(folder)
    write_mixed_csv(folder / "mixed.csv", mixed_columns())
    return folder


@pytest.fixture(scope="session")
def regression_run(table_files):
    """A regression run on the diabetes table, with validation and test rows (so a best.npz)."""
    from tabledata import table_run_config

    config = table_run_config(table_files / "diabetes.yaml", table_files / "diabetes.csv", "progression",
                              learning_rate=0.003, epochs=40)  # fmt: skip
    return train_run(table_files, config)


@pytest.fixture(scope="session")
def table_class_run(table_files):
    """A classification run on the mixed table (categories, booleans, missing cells), with validation and test rows."""
    from tabledata import table_run_config

    config = table_run_config(table_files / "mixed.yaml", table_files / "mixed.csv", "label", data={"id": "id"})
    return train_run(table_files, config)


# --- a real browser ------------------------------------------------------------------------------------------

BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium (playwright), for pages checked as a browser shows them; one a module, closed at its end,
    as a module of its own may start playwright too (a thread holds one at a time)."""
    import shutil

    path = shutil.which("chromium")
    if path is None:
        pytest.skip("no chromium on this machine")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=BROWSER_ARGS)
        yield browser
        browser.close()
