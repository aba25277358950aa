"""Augmentation of training pictures: what each setting does to a picture, the source that draws it from the
seed and the iteration, and runs that use it (general path only, resumed bit for bit)."""

from pathlib import Path

import numpy as np
import pytest

from conftest import arrays, metrics_of, write_config
from dnncli.config.build import build_settings
from dnncli.config.load import load
from dnncli.data.augment import augment_pictures
from dnncli.data.hdf5 import load_hdf5
from dnncli.engine import fast_path_obstacle
from dnncli.model import checkpoint
from dnncli.model.score import score
from dnncli.run.feed import AugmentedSource


def pictures(n=40, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, 6, 5, 3), dtype=np.uint8)


def rng(seed=1):
    return np.random.default_rng(seed)


def test_nothing_switched_on_changes_nothing():
    p = pictures()
    np.testing.assert_array_equal(augment_pictures(p, rng()), p)


def test_flips_mirror_about_half_the_pictures():
    p = pictures(200)
    out = augment_pictures(p, rng(), flip=True)
    mirrored = [np.array_equal(o, q[:, ::-1]) for o, q in zip(out, p, strict=True)]
    same = [np.array_equal(o, q) for o, q in zip(out, p, strict=True)]
    assert all(m or s for m, s in zip(mirrored, same, strict=True))
    assert 70 < sum(mirrored) < 130


def test_a_shift_moves_the_picture_and_repeats_the_edge():
    p = pictures(30)
    out = augment_pictures(p, rng(3), shift=2)
    draws = rng(3)
    draws.random(30)
    dy, dx = draws.integers(-2, 3, size=(2, 30))
    for o, q, y, x in zip(out, p, dy, dx, strict=True):
        # by hand: pad by the edge, then cut the window that the shift leaves
        padded = np.pad(q, ((2, 2), (2, 2), (0, 0)), mode="edge")
        np.testing.assert_array_equal(o, padded[2 - y : 2 - y + 6, 2 - x : 2 - x + 5])
    assert len({(y, x) for y, x in zip(dy, dx, strict=True)}) > 5


def test_brightness_and_contrast_stay_pictures():
    p = pictures(50)
    out = augment_pictures(p, rng(), brightness=0.2, contrast=0.3)
    assert out.dtype == np.uint8 and out.shape == p.shape
    change = out.astype(float).mean(axis=(1, 2, 3)) - p.astype(float).mean(axis=(1, 2, 3))
    assert np.abs(change).max() > 5 and np.abs(change).max() <= 0.2 * 255 + 1
    spread = out.astype(float).std(axis=(1, 2, 3)) / p.astype(float).std(axis=(1, 2, 3))
    assert spread.min() < 0.95 and spread.max() < 1.31  # clipping only ever narrows it


SETTINGS = {"flip": True, "shift": 3, "brightness": 0.1, "contrast": 0.1}


def test_the_source_draws_from_the_seed_and_the_iteration(demo_data):
    train = load_hdf5(
        demo_data / "train.h5", "train_set_x", "train_set_y", "list_classes", ("train_set_x", "train_set_y")
    )
    targets = train.labels.reshape(1, -1).astype(np.float32)
    source = AugmentedSource(train, targets, np.float32, SETTINGS, seed=7)
    batch = np.arange(10, 42)
    source.at(5)
    X, Y = source.take(batch)
    assert X.shape == (train.features, 32) and X.dtype == np.float32 and 0 <= X.min() and X.max() <= 1
    np.testing.assert_array_equal(Y, targets[:, batch])
    again = AugmentedSource(train, targets, np.float32, SETTINGS, seed=7)  # a resumed run's source
    again.at(5)
    np.testing.assert_array_equal(again.take(batch)[0], X)
    source.at(6)
    assert not np.array_equal(source.take(batch)[0], X)
    everything, _ = source.everything()
    assert everything.shape == (train.features, train.m)
    assert not np.array_equal(everything, train.rows(np.float32).T)


def test_the_fast_path_names_augmentation_as_its_obstacle(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, data={"augment": {"flip": True}})
    settings_ = build_settings(load(config))
    assert settings_.inputs_vary
    assert "data.augment" in fast_path_obstacle(settings_, 300)
    result = dnn("train", "--config", config, "--set", "training.fast_path='on'")
    assert result.exit_code == 2 and "data.augment" in result.stderr


def train(dnn, config, *overrides):
    result = dnn("train", "--config", config, "--quiet", *[a for o in overrides for a in ("--set", o)])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def test_an_augmented_run_trains_on_the_general_path_and_resumes_bit_for_bit(in_tmp, demo_data, dnn):
    config = write_config(
        in_tmp / "c.yaml",
        demo_data,
        data={"augment": SETTINGS},
        training={"learning_rate": 0.01, "iterations": 16, "batch_size": 64, "log_every": 4, "checkpoint_every": 4},
    )
    straight = train(dnn, config)
    plain = train(
        dnn,
        config,
        "data.augment.flip=false",
        "data.augment.shift=0",
        "data.augment.brightness=0",
        "data.augment.contrast=0",
    )
    folder = train(dnn, config, "training.iterations=9")
    result = dnn("train", "--resume", folder, "--quiet", "--set", "training.iterations=16")
    assert result.exit_code == 0, result.output
    first, second = arrays(straight / "checkpoint.npz"), arrays(folder / "checkpoint.npz")
    for name in first:
        assert np.array_equal(first[name], second[name]), name
    assert metrics_of(straight)["fast_path"] is False
    assert metrics_of(straight)["train"] == metrics_of(folder)["train"]
    assert not np.array_equal(first["W1"], arrays(plain / "checkpoint.npz")["W1"])  # it did augment
    # the final scores are of the pictures as they are, not augmented
    saved = checkpoint.load(straight / "checkpoint.npz")
    train_set = load_hdf5(
        demo_data / "train.h5", "train_set_x", "train_set_y", "list_classes", ("train_set_x", "train_set_y")
    )
    scores = score(saved.net, saved.params, train_set, np.float64)
    assert {key: metrics_of(straight)["train"][key] for key in scores} == scores  # beside them, the baseline's


def test_dnn_check_and_summary_show_the_augmentation(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, data={"augment": {"flip": True, "shift": 4}})
    result = dnn("check", "--config", config)
    assert result.exit_code == 0, result.output
    assert "augment:      horizontal flips (half the pictures), shifts of up to 4 pixels each way" in result.stdout
    assert "training batches only" in result.stdout
    result = dnn("summary", "--config", config)
    assert result.exit_code == 0, result.output
    assert "training pictures augmented: horizontal flips" in " ".join(result.stdout.split())
    plain = write_config(in_tmp / "p.yaml", demo_data)
    assert "augment" not in dnn("check", "--config", plain).stdout


@pytest.mark.parametrize(
    "override, problem",
    [
        ("data.augment.shift=-1", "data.augment.shift: must be at least 0"),
        ("data.augment.brightness=2", "data.augment.brightness: must be at most 1"),
        ("data.augment.flip=1", "data.augment.flip: must be true or false"),
        ("data.augment.rotate=10", "data.augment.rotate: unknown key"),
    ],
)
def test_augment_config_errors(in_tmp, demo_data, dnn, override, problem):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("check", "--config", config, "--set", override)
    assert result.exit_code == 2 and problem in result.stderr
