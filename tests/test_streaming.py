"""Data sets read from disk a batch at a time: the same numbers as in memory, with memory bounded by the batch."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import STATEFUL, arrays, assert_same_run, write_config
from dnncli import resources
from dnncli.config import load as configs
from dnncli.data import disk as streaming
from dnncli.data.dataset import READ_BATCH
from dnncli.data.disk import PicturesOnDisk, fits_in_memory, memory_needed
from dnncli.data.hdf5 import write_hdf5
from dnncli.data.sets import load_split
from dnncli.engine import Network, Settings, Trainer, initialize
from dnncli.model.score import score
from dnncli.run import feed
from dnncli.run.job import prepare


def run_folder(result):
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def numbered(tmp_path_factory):
    """An HDF5 dataset of 50 small pictures, each filled with its own number, one picture a chunk."""
    path = tmp_path_factory.mktemp("numbered") / "n.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset(
            "x", data=np.arange(50, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 3), np.uint8), chunks=(1, 2, 3)
        )
    return h5py.File(path, "r")["x"]


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_reads_come_back_in_the_order_asked_for(numbered, data):
    view = st.lists(st.integers(0, 49), unique=True, min_size=1, max_size=50)
    outer = np.array(data.draw(view))
    inner = np.array(data.draw(st.lists(st.integers(0, len(outer) - 1), min_size=0, max_size=80)), dtype=np.int64)
    pictures = PicturesOnDisk(numbered)[outer]
    assert pictures.shape == (len(outer), 2, 3)
    assert np.array_equal(pictures.read()[:, 0, 0], outer)
    assert np.array_equal(pictures.read(inner)[:, 0, 0], outer[inner])  # repeats too
    assert np.array_equal(pictures[inner].read()[:, 0, 0], outer[inner])


def test_streaming_and_in_memory_training_give_the_same_run(in_tmp, demo_data, dnn):
    # shuffled mini-batches, dropout, Adam, a schedule, L2, a validation split and early stopping
    config = write_config(in_tmp / "c.yaml", demo_data, training=STATEFUL)
    loaded = run_folder(dnn("train", "--config", config, "--quiet", "--set", "data.in_memory=true"))
    streamed = run_folder(dnn("train", "--config", config, "--quiet", "--set", "data.in_memory=false"))
    assert_same_run(loaded, streamed)  # weights bit for bit, every logged cost, the final scores
    assert json.loads((streamed / "metrics.json").read_text())["iterations_done"] == STATEFUL["iterations"]


def test_a_streamed_run_resumes_as_if_never_stopped(in_tmp, demo_data, dnn):
    training = {**STATEFUL, "early_stopping": {"patience": None}}
    config = write_config(in_tmp / "c.yaml", demo_data, data={"in_memory": False}, training=training)
    whole = run_folder(dnn("train", "--config", config, "--quiet"))
    half = run_folder(dnn("train", "--config", config, "--quiet", "--set", "training.iterations=30"))
    resumed = run_folder(dnn("train", "--resume", half, "--set", "training.iterations=60", "--quiet"))
    first, second = arrays(whole / "checkpoint.npz"), arrays(resumed / "checkpoint.npz")
    assert all(np.array_equal(first[name], second[name]) for name in first)


@pytest.fixture(scope="module")
def bigger(tmp_path_factory, demo_data):
    """The demo pictures twice, turned over the second time: 600 examples, more than one READ_BATCH."""
    with h5py.File(demo_data / "train.h5", "r") as f:
        x, y = f["train_set_x"][()], f["train_set_y"][()]
    path = tmp_path_factory.mktemp("bigger") / "train.h5"
    write_hdf5(path, "train", np.concatenate([x, x[:, ::-1]]), np.concatenate([y, y]), ["plain", "shape"])
    assert 2 * READ_BATCH < 600
    return path


def test_a_set_bigger_than_a_part_is_scored_alike_on_disk_and_in_memory(in_tmp, bigger, dnn):
    config = write_config(
        in_tmp / "c.yaml",
        bigger.parent,
        data={"train": str(bigger), "test": None, "in_memory": False},
        # one path for both: in memory, auto would take the fast path, the same model only to rounding
        training={"batch_size": 100, "iterations": 30, "fast_path": "off"},
    )
    streamed = run_folder(dnn("train", "--config", config, "--quiet"))
    loaded = run_folder(dnn("train", "--config", config, "--quiet", "--set", "data.in_memory=true"))
    first, second = arrays(streamed / "checkpoint.npz"), arrays(loaded / "checkpoint.npz")
    assert all(np.array_equal(first[name], second[name]) for name in first)
    on_disk, in_memory = (json.loads((f / "metrics.json").read_text())["train"] for f in (streamed, loaded))
    assert on_disk["examples"] == in_memory["examples"] == 600
    assert on_disk == in_memory  # both scored READ_BATCH examples at a time
    # dnn evaluate on the streamed run reads its set in parts too, and classifies each example as in memory
    reports = [
        json.loads(dnn("evaluate", "--run", f, "--split", "train", "--json", "-").stdout) for f in (streamed, loaded)
    ]
    assert reports[0]["predictions"] == reports[1]["predictions"]
    assert reports[0]["accuracy"] == on_disk["accuracy"]


def test_validation_split_of_a_set_on_disk_is_two_views(in_tmp, demo_data):
    path = write_config(
        in_tmp / "c.yaml", demo_data, data={"in_memory": False}, training={**STATEFUL, "validation_fraction": 0.25}
    )
    job = prepare(configs.load(path))
    assert job.train.on_disk and job.validation.on_disk and job.test.on_disk
    train, held_out = job.train.pictures.indices, job.validation.pictures.indices
    assert len(train) == 225 and len(held_out) == 75
    assert sorted(np.concatenate([train, held_out])) == list(range(300))
    whole = load_split(configs.load(path), "train").pixels()
    assert np.array_equal(job.validation.pixels(), whole[held_out])


def test_streaming_needs_a_batch_size(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, data={"in_memory": False})
    result = dnn("train", "--config", config)
    assert result.exit_code == 2
    assert (
        "data.in_memory: reading from disk goes a batch at a time; set training.batch_size, e.g. 256" in result.stderr
    )


def test_auto_reads_from_disk_what_would_not_fit(in_tmp, demo_data, dnn, monkeypatch):
    # as if no memory were free: auto leaves every set on disk
    monkeypatch.setattr(streaming, "MEMORY_SHARE", 0.0)
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("train", "--config", config)
    assert result.exit_code == 2
    assert f"data.in_memory: {demo_data / 'train.h5'} is read from disk (it needs about 0.0 GB" in result.stderr
    assert "which needs training.batch_size; set one, e.g. 256" in result.stderr
    job = prepare(configs.load(write_config(in_tmp / "c.yaml", demo_data, training={"batch_size": 50})))
    assert job.train.on_disk and job.test.on_disk
    params = {"W1": np.zeros((8, 12288)), "b1": np.zeros((8, 1)), "W2": np.zeros((4, 8)), "b2": np.zeros((4, 1))}
    params.update(W3=np.zeros((1, 4)), b3=np.zeros((1, 1)))
    assert score(job.net, params, job.test, np.float64)["cost"] == pytest.approx(np.log(2))


def test_the_auto_rule(demo_data):
    with h5py.File(demo_data / "train.h5", "r") as f:
        pictures = f["train_set_x"]
        assert memory_needed(pictures, np.float64) == 300 * 12288 * 9
        assert memory_needed(pictures, np.float32) == 300 * 12288 * 5
        assert fits_in_memory(pictures, np.float64, available=2 * 300 * 12288 * 9)
        assert not fits_in_memory(pictures, np.float64, available=2 * 300 * 12288 * 9 - 1)
    assert resources.available_memory() > 0


class Announced:
    """A source of rows in memory that records what the trainer says it will take next."""

    def __init__(self, rows, targets):
        self.rows, self.targets, self.m = rows, targets, rows.shape[0]
        self.announced, self.taken = [], []

    def will_take(self, indices):
        self.announced.append(np.array(indices))

    def take(self, indices):
        self.taken.append(np.array(indices))
        return self.rows[indices].T, self.targets[:, indices]


def test_the_trainer_announces_each_next_batch_across_epochs():
    rng = np.random.default_rng(0)
    net = Network((6, 3, 1), ("relu",), "sigmoid")
    source = Announced(rng.random((10, 6)), rng.integers(0, 2, (1, 10)).astype(float))
    trainer = Trainer(net, initialize(net.layers, "he", 1), Settings(0.1, batch_size=4, seed=3), source)
    for _ in range(7):  # 3 batches an epoch (4, 4, 2): into the third epoch
        trainer.step()
    assert [len(t) for t in source.taken] == [4, 4, 2, 4, 4, 2, 4]
    for announced, taken in zip(source.announced, source.taken[1:], strict=False):
        assert np.array_equal(announced, taken)
    assert len(source.announced) == 7  # the last announcement is of the batch after the run


def test_a_batch_read_ahead_is_the_batch_read_now(in_tmp, demo_data):
    config = write_config(in_tmp / "c.yaml", demo_data, data={"in_memory": False}, training={"batch_size": 4})
    dataset = load_split(configs.load(config), "train")
    assert dataset.on_disk
    targets = dataset.labels[None, :].astype(float)
    source = feed.DiskSource(dataset, targets, np.float64)
    first, second = np.array([5, 0, 299, 7]), np.array([1, 2, 3])
    source.will_take(first)
    X, Y = source.take(first)  # the batch read ahead
    assert np.array_equal(X, dataset.rows()[first].T) and np.array_equal(Y, targets[:, first])
    source.will_take(first)
    X, Y = source.take(second)  # not the batch announced: read now
    assert np.array_equal(X, dataset.rows()[second].T) and np.array_equal(Y, targets[:, second])


def damaged_chunk(source, path, example):
    """A copy of ``source`` with the compressed chunk of picture ``example`` overwritten in the middle."""
    path.write_bytes(source.read_bytes())
    with h5py.File(path, "r") as f:
        chunk = f["train_set_x"].id.get_chunk_info(example)
    with open(path, "r+b") as f:
        f.seek(chunk.byte_offset + 10)
        f.write(b"\xff" * 40)
    return path


@pytest.mark.parametrize("in_memory", [True, False])
def test_a_damaged_chunk_is_the_same_one_line_read_at_once_or_a_batch_at_a_time(in_tmp, demo_data, dnn, in_memory):
    bad = damaged_chunk(demo_data / "train.h5", in_tmp / "bad.h5", 150)
    config = write_config(
        in_tmp / "c.yaml",
        demo_data,
        data={"train": str(bad), "test": None, "in_memory": in_memory},
        model={"layers": [12288, 2, 1]},
        training={"iterations": 30, "batch_size": 64, "log_every": 10},
    )
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 2, result.output
    message = f"{bad}: cannot read dataset 'train_set_x' (Can't synchronously read data (filter returned failure"
    assert result.stderr.startswith(f"Error: {message}") and len(result.stderr.splitlines()) == 1
    # read at once, the damage is found before any run folder; a batch at a time, by the first pass over the
    # pictures (the familiarity statistics, model.honesty) or by the batch that holds it: a run that had begun
    # says why it ended
    folders = [f for f in (in_tmp / "runs" / "t").glob("*") if f.name != "latest"] if not in_memory else []
    for folder in folders:
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["status"] == "failed" and metrics["error"].startswith(message)
    assert len(folders) <= 1
