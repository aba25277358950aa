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
import time
import warnings
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from conftest import set_key
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
    st.sampled_from(
        ["relu", "softmax", "adam", "momentum", "step", "he", "float32", "auto", "on", "1e-3", "\x00", "crop", "pad"]
    ),
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


PREDICT_NOTES = re.compile(r"^model: .* \(iteration \d+\)$|^\d+ of \d+ pictures? classified, \d+ problems? above$")


# a run that diverges fails while running (exit 1, as a full disk does), in one line that says which rate to try
DIVERGED = re.compile(r"^Error: training\.learning_rate: the cost .* is over .* times the initial .*probably too high")


def assert_clean(result, allowed=(0, 2)):
    if result.exit_code == 1 and DIVERGED.match(result.stderr) and len(result.stderr.strip().splitlines()) == 1:
        return
    assert result.exit_code in allowed, result.output
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        # dnn predict names its model first and sums up last: what is checked here is the error between
        lines = [line for line in result.stderr.strip().splitlines() if not PREDICT_NOTES.match(line)]
        assert lines and lines[0].startswith("Error: ") and len(lines) <= 2, result.stderr


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
            "fit",
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


# --- the shapes of issue 17: deep nesting, huge declared sizes, links, FIFOs, odd names ---------

FEW = settings(SETTINGS, max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 10)))
RUN_NAME = __import__("re").compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def nested_yaml(depth, kind):
    """YAML nested ``depth`` levels deep, in one of the ways YAML nests."""
    if kind == "flow list":
        return "model: " + "[" * depth + "]" * depth
    if kind == "flow map":
        return "model: " + "{a: " * depth + "1" + "}" * depth
    if kind == "block list":
        return "model:\n" + "".join("  " * i + "-\n" for i in range(1, depth)) + "  " * depth + "- 1\n"
    return "".join("  " * i + f"k{i}:\n" for i in range(depth))


@FEW
@given(depth=st.integers(1, 20_000), kind=st.sampled_from(["flow list", "flow map", "block list", "block map"]))
def test_deeply_nested_yaml(tiny_data, depth, kind):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.yaml"
        path.write_text(nested_yaml(depth if kind.startswith("flow") else min(depth, 900), kind))
        assert_clean(invoke("train", "--config", path, "--quiet", "--set", f"output.dir={folder}"))
        result = invoke("train", "--config", Path(folder) / "c.yaml", "--set", f"training.optimizer={'[' * depth}")
        assert_clean(result, allowed=(2,))


huge = st.sampled_from([0, 1, 2, 3, 4, 8, 4096, 10**9, 10**12, 2**40])


@FEW
@given(
    x_shape=st.lists(huge, min_size=1, max_size=4).map(tuple),
    y_shape=st.lists(huge, min_size=0, max_size=2).map(tuple),
    classes_shape=st.one_of(st.none(), st.lists(huge, min_size=1, max_size=2).map(tuple)),
    stored=st.sampled_from(["nothing", "first chunk"]),
)
def test_huge_declared_hdf5_sizes(tiny_data, tiny_run, x_shape, y_shape, classes_shape, stored):
    # chunked datasets declaring up to 2^40 values in a file of kilobytes: refused or read, quickly
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.h5"
        with h5py.File(path, "w") as f:
            for key, shape, dtype in (
                ("train_set_x", x_shape, "uint8"),
                ("train_set_y", y_shape, "int64"),
                ("list_classes", classes_shape, "S2"),
            ):
                if shape is None:
                    continue
                chunks = tuple(max(1, min(n, 64)) for n in shape) or None
                item = f.create_dataset(key, shape=shape, dtype=dtype, chunks=chunks, maxshape=(None,) * len(shape))
                if (
                    stored == "first chunk" and all(shape) and np.prod(shape, dtype=object) < 2**63
                ):  # HDF5 counts in 64 bits
                    item[tuple(slice(0, 1) for _ in shape)] = b"a" if dtype == "S2" else 1
        config = with_data(tiny_data)
        config["data"]["train"] = str(path)
        assert_clean(train_with(Path(folder), config))
        evaluate_on(tiny_run, path)
        assert_clean(invoke("data", "info", path))


LINKS = ["hard", "soft", "soft to nothing", "soft loop", "external", "external to nothing", "group"]


@FEW
@given(x=st.sampled_from(LINKS), y=st.sampled_from(LINKS), classes=st.sampled_from(LINKS + ["absent"]))
def test_links_in_hdf5_files(tiny_data, tiny_run, x, y, classes):
    with tempfile.TemporaryDirectory() as folder:
        other = Path(folder) / "other.h5"
        with h5py.File(tiny_data / "train.h5", "r") as source, h5py.File(other, "w") as f:
            for key in ("train_set_x", "train_set_y", "list_classes"):
                f.create_dataset(key, data=source[key][()])
        path = Path(folder) / "data.h5"
        with h5py.File(path, "w") as f, h5py.File(tiny_data / "train.h5", "r") as source:
            for key, kind in (("train_set_x", x), ("train_set_y", y), ("list_classes", classes)):
                if kind == "hard":
                    f.create_dataset(key, data=source[key][()])
                elif kind == "soft":
                    f.create_dataset(f"stored/{key}", data=source[key][()])
                    f[key] = h5py.SoftLink(f"/stored/{key}")
                elif kind == "soft to nothing":
                    f[key] = h5py.SoftLink("/nowhere")
                elif kind == "soft loop":
                    f[key] = h5py.SoftLink(f"/{key}_back")
                    f[f"{key}_back"] = h5py.SoftLink(f"/{key}")
                elif kind.startswith("external"):
                    f[key] = h5py.ExternalLink(str(other) if kind == "external" else "/no/file.h5", f"/{key}")
                elif kind == "group":
                    f.create_group(key)
        config = with_data(tiny_data)
        config["data"]["train"] = str(path)
        result = train_with(Path(folder), config)
        assert_clean(result)
        first_bad = next((kind for kind in (x, y, classes) if kind not in ("hard", "soft", "absent")), None)
        if first_bad == "external":
            assert result.exit_code == 2 and "dnn reads only data stored in the file" in result.stderr
        evaluate_on(tiny_run, path)
        assert_clean(invoke("data", "info", path))


def watch_fifo(path, seen):
    """Let go of anyone who opens the FIFO ``path`` for reading (so a regression fails instead of hanging)."""
    while not seen["stop"]:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            time.sleep(0.01)
            continue
        seen["opened"] = True
        os.close(fd)


file_names = st.text(
    st.characters(exclude_characters="/\x00", exclude_categories=["Cs"]), min_size=1, max_size=30
).filter(lambda n: n not in (".", "..") and len(n.encode()) < 200)


@FEW
@given(
    where=st.sampled_from(
        ["data.train", "data.test", "--data", "--config", "--checkpoint", "picture", "glob", "folder"]
    ),
    name=file_names,
)
def test_fifos_under_any_name_are_refused_never_opened(tiny_data, tiny_run, where, name):
    import threading

    with tempfile.TemporaryDirectory() as folder:
        fifo = Path(folder) / name
        os.mkfifo(fifo)
        seen = {"stop": False, "opened": False}
        watcher = threading.Thread(target=watch_fifo, args=(fifo, seen), daemon=True)
        watcher.start()
        checkpoint = tiny_run / "checkpoint.npz"
        config = with_data(tiny_data)
        try:
            if where in ("data.train", "data.test"):
                config["data"][where.split(".")[1]] = str(fifo)
                result = train_with(Path(folder), config)
            elif where == "--config":
                result = invoke("train", "--config", fifo, "--quiet")
            elif where == "--data":
                result = invoke("evaluate", "--checkpoint", checkpoint, "--data", fifo, "--json", "-")
            elif where == "--checkpoint":
                result = invoke("predict", tiny_data / "picture.png", "--checkpoint", fifo)
            else:
                argument = {"picture": fifo, "glob": Path(folder) / "*", "folder": folder}[where]
                result = invoke("predict", argument, "--checkpoint", checkpoint)
        finally:
            seen["stop"] = True
            watcher.join()
        assert not seen["opened"], f"{where}: the FIFO was opened"
        if where == "folder":  # skipped, and named in a warning; a hidden file is skipped without a word
            assert result.exit_code == 2 and "Traceback" not in result.output
            said = [line for line in result.stderr.splitlines() if not line.startswith("model: ")]  # predict's model
            expected = "no pictures in this folder" if name.startswith(".") else "1 file skipped, not picture files"
            assert expected in said[0]
        else:
            assert_clean(result, allowed=(2,))


@FEW
@given(name=st.one_of(file_names, st.text(max_size=300), st.sampled_from(["latest", "con", "a" * 101, "a" * 100])))
def test_any_run_name(tiny_data, name):
    config = with_data(tiny_data)
    config["name"] = name
    with tempfile.TemporaryDirectory() as folder:
        result = train_with(Path(folder), config)
        assert_clean(result)
        if result.exit_code == 0:
            run = Path(result.stdout.strip().splitlines()[-1])
            assert run.parent.name == name and RUN_NAME.fullmatch(name) and len(name) <= 100
        else:
            assert "name: must" in result.stderr


def npy_header(shape, dtype):
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()


@FEW
@given(
    name=st.sampled_from(
        ["W1", "b2", "state.v_W1", "state.m_b1", "state.t", "state.fast_C", "state.x", "other", "header"]
    ),
    shape=st.lists(huge, max_size=3).map(tuple),
    dtype=st.sampled_from(["float64", "float32", "<i8", ">f8", "uint8"]),
    data=st.binary(max_size=64),
)
def test_checkpoint_members_declaring_any_size(tiny_data, tiny_run, name, shape, dtype, data):
    import zipfile

    with zipfile.ZipFile(tiny_run / "checkpoint.npz") as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    members[f"{name}.npy"] = npy_header(shape, dtype) + data
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "c.npz"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for member, content in members.items():
                z.writestr(member, content)
        use_checkpoint(tiny_data, path)


@FEW
@given(data_name=file_names, config_name=file_names, picture_name=file_names)
def test_files_under_odd_names_are_read(tiny_data, tiny_run, data_name, config_name, picture_name):
    # any name a file system takes (control characters, spaces, quotes, a leading dash) reads as any other
    import shutil

    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / f"d{data_name}"
        shutil.copy(tiny_data / "train.h5", data)
        config = with_data(tiny_data)
        config["data"]["train"] = str(data)
        path = Path(folder) / f"c{config_name}"
        path.write_text(yaml.safe_dump(config))
        result = invoke("train", "--config", path, "--quiet", "--set", f"output.dir={Path(folder) / 'runs'}")
        assert result.exit_code == 0, result.output
        picture = Path(folder) / f"p{picture_name}.png"
        shutil.copy(tiny_data / "picture.png", picture)
        result = invoke("predict", picture, "--checkpoint", tiny_run / "checkpoint.npz", "--json")
        assert result.exit_code == 0, result.output


# every option of every command that takes a value, given anything: exit 0 (a value it takes), 1 or 2, and an
# error is one line, never click's usage, hint and blank line (the commands find no run, so none trains long)
OPTIONS = [
    (command.name, sub.name, option.opts[0])
    for command in main.commands.values()
    for sub in (command.commands.values() if hasattr(command, "commands") else [command])
    for option in sub.params
    if option.opts[0].startswith("--") and not option.is_flag and option.opts[0] not in ("--port", "--host")
]


@SETTINGS
@given(option=st.sampled_from(OPTIONS), value=st.one_of(st.text(max_size=12), st.sampled_from(["0", "-1", "nan", ""])))
def test_any_option_value_is_taken_or_one_line(option, value):
    command, sub, name = option
    words = [command] if command == sub else [command, sub]
    with tempfile.TemporaryDirectory() as folder:
        here = os.getcwd()
        os.chdir(folder)  # what a command writes (data demo --out 0, say) lands there
        try:
            result = CliRunner().invoke(main, [*words, name, value], catch_exceptions=False, env={"DNN_RUNS": "runs"})
        finally:
            os.chdir(here)
    assert result.exit_code in (0, 1, 2), result.output
    if result.exit_code:
        lines = [line for line in result.stderr.splitlines() if not line.startswith("Warning: ")]
        assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
        assert "Usage:" not in result.output and "unexpected" not in result.stderr


@SETTINGS
@given(
    example=st.integers(0, 7),
    offset=st.integers(0, 60),
    damage=st.binary(min_size=1, max_size=40),
    in_memory=st.booleans(),
)
def test_damaged_chunks_read_at_once_or_a_batch_at_a_time(tiny_data, example, offset, damage, in_memory):
    """A compressed chunk damaged anywhere: trained on (the bytes still decode) or one line, exit 2, however the
    set is read."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.h5"
        path.write_bytes((tiny_data / "train.h5").read_bytes())
        with h5py.File(path, "r") as f:
            chunk = f["train_set_x"].id.get_chunk_info(example)
        with open(path, "r+b") as f:
            f.seek(chunk.byte_offset + offset % chunk.size)
            f.write(damage[: chunk.size - offset % chunk.size])
        config = with_data(tiny_data)
        config["data"].update(train=str(path), in_memory=in_memory)
        config["training"]["batch_size"] = 4
        result = train_with(Path(folder), config)
        assert_clean(result)
        if result.exit_code == 2:
            assert f"{path}: cannot read dataset 'train_set_x'" in result.stderr


@pytest.fixture(scope="module")
def tiny_service(tiny_run):
    """The app of `dnn serve` around ``tiny_run``, spoken to in this process."""
    pytest.importorskip("starlette")
    with warnings.catch_warnings():  # starlette would have httpx2 for its test client; httpx serves
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from dnncli.model.predict import usable_model
    from dnncli.serve.app import create_app

    path = tiny_run / "checkpoint.npz"
    with TestClient(create_app(usable_model(path), path)) as client:
        yield client


@SETTINGS
@given(files=st.lists(st.sampled_from(["good", "text", "cut", "empty"]), min_size=1, max_size=5))
def test_serve_answers_each_picture_on_its_own(tiny_data, tiny_service, files):
    """Any mix of pictures and files that are none: 200 with one record per picture and one problem per other
    file, in order; 422 only when no file is a picture."""
    good = (tiny_data / "picture.png").read_bytes()
    content = {"good": good, "text": b"not a picture", "cut": good[: len(good) // 2], "empty": b""}
    parts = [("pictures", (f"{i}-{kind}.png", content[kind])) for i, kind in enumerate(files)]
    response = tiny_service.post("/predict", files=parts)
    answer = response.json()
    bad = [f"{i}-{kind}.png" for i, kind in enumerate(files) if kind != "good"]
    assert [problem["picture"] for problem in answer["problems"]] == bad
    if "good" in files:
        assert response.status_code == 200
        assert [record["path"] for record in answer["predictions"]] == [
            f"{i}-good.png" for i, kind in enumerate(files) if kind == "good"
        ]
    else:
        assert response.status_code == 422 and "nothing was classified" in answer["error"]


@settings(SETTINGS, max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 10)))
@given(names=st.lists(st.text(min_size=1, max_size=600), min_size=2, max_size=4, unique=True))
def test_any_class_names_draw_without_a_warning(names):
    """Class names of any length and characters, on the confusion matrix, ROC and a sweep's panel: drawn, each
    on one line of at most 32 characters, and nothing said on the terminal."""
    pytest.importorskip("matplotlib")
    from dnncli.report import charts

    k = len(names)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        charts.confusion(np.eye(k, dtype=int) * 3 + 1, names)
        charts.roc({name: ([0, 0.5, 1], [0, 0.7, 1], 0.6) for name in names})
        charts.metric_against(names, list(range(k)), names[0], "test_cost")
    assert all(len(charts.label(name)) <= charts.LABEL_CHARACTERS and "\n" not in charts.label(name) for name in names)
