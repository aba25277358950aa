"""Whatever a user throws at dnn, it succeeds or says what is wrong: exit 0 or 2, never a traceback.

Random and mutated configs, YAML text, HDF5 files, checkpoints and picture bytes go through
the real CLI. With ``catch_exceptions=False`` any exception that escapes fails the test.
"""

import copy
import io
import json
import os
import re
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dnncli.cli import main
from dnncli.config.schema import leaf_keys
from dnncli.data.hdf5 import write_hdf5

SETTINGS = settings(
    max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 40)), deadline=None, suppress_health_check=list(HealthCheck)
)
SHAPE = (4, 4, 3)
BASE = {
    "name": "p",
    "seed": 1,
    "model": {"layers": [48, 3, 1]},
    "training": {"learning_rate": 0.1, "iterations": 3, "log_every": 1},
}


LENGTH_KEYS = ("training.iterations", "training.epochs", "training.batch_size")  # kept small: no long runs
KEYS = [key for key in sorted(leaf_keys()) if key not in LENGTH_KEYS]
KEYS += ["training.optimizer.beta1", "model", "training", "extra", "data.extra"]

small_ints = st.integers(-3, 40)
values = st.one_of(
    st.none(),
    st.booleans(),
    small_ints,
    st.sampled_from([0, -1, 2**31, 10**12, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["relu", "softmax", "adam", "momentum", "step", "he", "float32", "auto", "on", "1e-3", "\x00"]),
    st.lists(st.one_of(small_ints, st.sampled_from([48, 10**12])), max_size=5),
    st.dictionaries(
        st.sampled_from(["name", "beta", "every", "x"]), st.one_of(small_ints, st.text(max_size=4)), max_size=3
    ),
)
length_values = st.one_of(st.none(), st.integers(-2, 6), st.text(max_size=3))


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Eight 4x4 RGB pictures, two classes, as train.h5 and test.h5, and a picture file."""
    out = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        x = rng.integers(0, 256, size=(8, *SHAPE), dtype=np.uint8)
        write_hdf5(out / f"{split}.h5", split, x, np.arange(8) % 2, ["no", "yes"])
    Image.fromarray(rng.integers(0, 256, size=(9, 7, 3), dtype=np.uint8)).save(out / "picture.png")
    return out


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


PREDICT_NOTES = re.compile(r"^model: .* \(iteration \d+\)$|^\d+ of \d+ pictures classified, \d+ problems? above$")


def assert_clean(result, allowed=(0, 2)):
    assert result.exit_code in allowed, result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        # dnn predict names its model first and sums up last: what is checked here is the error between
        lines = [line for line in result.stderr.strip().splitlines() if not PREDICT_NOTES.match(line)]
        assert lines and lines[0].startswith("Error: ") and len(lines) <= 2, result.stderr


def set_key(config, dotted, value):
    node = config
    parts = dotted.split(".")
    for part in parts[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[parts[-1]] = value


def train_with(folder, config):
    path = folder / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return invoke("train", "--config", path, "--quiet", "--set", f"output.dir={folder / 'runs'}")


def with_data(tiny_data):
    config = copy.deepcopy(BASE)
    config["data"] = {"train": str(tiny_data / "train.h5"), "test": str(tiny_data / "test.h5")}
    return config


@SETTINGS
@given(
    mutations=st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=4),
    lengths=st.lists(st.tuples(st.sampled_from(LENGTH_KEYS), length_values), max_size=2),
)
def test_mutated_configs(tiny_data, mutations, lengths):
    config = with_data(tiny_data)
    for key, value in mutations + lengths:
        set_key(config, key, value)
    with tempfile.TemporaryDirectory() as folder:
        assert_clean(train_with(Path(folder), config))


@SETTINGS
@given(text=st.one_of(st.text(max_size=200), st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_any_yaml_text(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogateescape")
        assert_clean(invoke("train", "--config", path, "--quiet", "--set", f"output.dir={folder}"))


dtypes = st.sampled_from(["uint8", "int64", "float32", "bool", "S3"])
shapes = st.lists(st.integers(0, 5), min_size=0, max_size=5).map(tuple)


@pytest.fixture(scope="module")
def tiny_run(tiny_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny_run")
    config = with_data(tiny_data)
    config["training"]["optimizer"] = "momentum"
    result = train_with(folder, config)
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


@SETTINGS
@given(
    x=st.tuples(dtypes, shapes),
    y=st.tuples(dtypes, shapes),
    classes=st.one_of(
        st.none(),
        st.lists(st.text(st.characters(exclude_characters="\x00"), max_size=4), max_size=3),
        st.just(["a", "a"]),
    ),
    x_key=st.sampled_from(["train_set_x", "other"]),
)
def test_random_hdf5_files(tiny_data, tiny_run, x, y, classes, x_key):
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.h5"
        with h5py.File(path, "w") as f:
            for key, (dtype, shape) in ((x_key, x), ("train_set_y", y)):
                if dtype == "S3":
                    f.create_dataset(key, data=np.full(shape, b"abc"))
                else:
                    f.create_dataset(key, data=rng.integers(0, 3, size=shape).astype(dtype))
            if classes is not None:
                f.create_dataset("list_classes", data=[c.encode("utf-8", "surrogatepass") for c in classes])
        config = with_data(tiny_data)
        config["data"]["train"] = str(path)
        assert_clean(train_with(Path(folder), config))
        evaluate_on(tiny_run, path)


def evaluate_on(run, data):
    assert_clean(invoke("evaluate", "--run", run, "--data", data, "--json", data.parent / "e.json"))


@SETTINGS
@given(content=st.binary(max_size=300))
def test_random_bytes_as_data(tiny_data, tiny_run, content):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.h5"
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + content if content[:1] == b"\x00" else content)
        config = with_data(tiny_data)
        config["data"]["train"] = str(path)
        assert_clean(train_with(Path(folder), config))
        evaluate_on(tiny_run, path)


def mutate_bytes(data, edits):
    data = bytearray(data)
    for position, value in edits:
        if data:
            data[position % len(data)] = value
    return bytes(data)


def use_checkpoint(tiny_data, path):
    assert_clean(
        invoke("evaluate", "--checkpoint", path, "--data", tiny_data / "test.h5", "--json", path.parent / "e.json")
    )
    assert_clean(invoke("predict", tiny_data / "picture.png", "--checkpoint", path))


@SETTINGS
@given(
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
)
def test_damaged_checkpoint_bytes(tiny_data, tiny_run, edits, cut):
    data = mutate_bytes((tiny_run / "checkpoint.npz").read_bytes(), edits)
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.npz"
        path.write_bytes(data)
        use_checkpoint(tiny_data, path)


@SETTINGS
@given(
    field=st.sampled_from(
        [
            "format",
            "version",
            "layers",
            "activations",
            "output",
            "classes",
            "input_shape",
            "scaling",
            "dtype",
            "iteration",
            "progress",
            "config",
            "new",
        ]
    ),
    value=values,
)
def test_mutated_checkpoint_headers(tiny_data, tiny_run, field, value):
    with np.load(tiny_run / "checkpoint.npz", allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    header = json.loads(arrays["header"].tobytes())
    header[field] = value
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.npz"
        np.savez(path, **arrays)
        use_checkpoint(tiny_data, path)


@SETTINGS
@given(name=st.sampled_from(["W1", "b1", "W2", "b2", "state.v_W1", "header"]), dtype=dtypes, shape=shapes)
def test_replaced_checkpoint_arrays(tiny_data, tiny_run, name, dtype, shape):
    with np.load(tiny_run / "checkpoint.npz", allow_pickle=False) as npz:
        arrays = {n: npz[n] for n in npz.files}
    arrays[name] = np.full(shape, b"abc") if dtype == "S3" else np.ones(shape, dtype=dtype)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.npz"
        np.savez(path, **arrays)
        use_checkpoint(tiny_data, path)


def picture_bytes(kind):
    rng = np.random.default_rng(2)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, size=(6, 5, 3), dtype=np.uint8)).save(buffer, format=kind)
    return buffer.getvalue()


PICTURES = {kind: picture_bytes(kind) for kind in ("PNG", "JPEG", "BMP", "GIF", "WEBP")}


@SETTINGS
@given(
    kind=st.sampled_from(sorted(PICTURES)),
    edits=st.lists(st.tuples(st.integers(0, 10**4), st.integers(0, 255)), max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 10**4)),
)
def test_damaged_picture_bytes(tiny_run, kind, edits, cut):
    data = mutate_bytes(PICTURES[kind], edits)
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"p.{kind.lower()}"
        path.write_bytes(data)
        result = invoke("predict", path, "--checkpoint", tiny_run / "checkpoint.npz", "--json")
        assert_clean(result)
        if result.exit_code == 0:
            record = json.loads(result.stdout.strip().splitlines()[-1])
            assert 0 <= record["probability"] <= 1


def test_the_suite_can_see_a_failure(tiny_data):
    # guard against a suite that passes whatever happens: a bad value must give exit 2
    config = with_data(tiny_data)
    config["training"]["learning_rate"] = "fast"
    with tempfile.TemporaryDirectory() as folder:
        result = train_with(Path(folder), config)
    assert result.exit_code == 2 and "training.learning_rate" in result.stderr
    assert os.path.basename(__file__) == "test_properties.py"
