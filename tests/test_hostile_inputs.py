"""Hostile and careless inputs through the command line: each is refused with one line and exit 2, read
nothing it should not, and never hangs (issue 17)."""

import io
import json
import os
import re
import shutil
import stat
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import metrics_of, train_quietly, write_config
from dnncli.config.schema import RESERVED_NAMES
from dnncli.data.hdf5 import write_hdf5
from dnncli.errors import UserError
from dnncli.files import write_target
from dnncli.run.layout import LATEST


def error_line(result):
    """The one line a refusal prints, checked to be one line without a traceback."""
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    if lines and lines[0].startswith("model: "):
        lines = lines[1:]  # predict names the checkpoint it uses first
    if lines and re.search(r" pictures? classified", lines[-1]):
        lines = lines[:-1]  # predict's summary, after the line of the picture it names
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.output and not re.search(r"unexpected [A-Z]\w*(Error|Exception)", result.stderr)
    return lines[0]


# --- FIFOs: refused before anything opens them ------------------------------


class FifoGuard:
    """A FIFO, and a thread that notices if anyone opens it for reading (and lets them go, so a test never hangs)."""

    def __init__(self, path):
        self.path = Path(path)
        os.mkfifo(self.path)
        self.opened = False
        self.stop = False
        self.thread = threading.Thread(target=self.watch, daemon=True)
        self.thread.start()

    def watch(self):
        while not self.stop:
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while a reader waits
            except OSError:
                time.sleep(0.02)
                continue
            self.opened = True
            os.close(fd)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join()
        assert not self.opened, f"{self.path} was opened"


@pytest.mark.parametrize("argument", ["data.train", "--data", "--config", "--checkpoint", "picture", "glob"])
def test_a_fifo_is_refused_wherever_a_file_is_expected(in_tmp, demo_data, demo_run, dnn, argument):
    config = write_config(in_tmp / "c.yaml", demo_data)
    checkpoint = demo_run / "checkpoint.npz"
    with FifoGuard(in_tmp / "pipe.png") as fifo:
        commands = {
            "data.train": ("train", "--config", config, "--set", f"data.train={fifo.path}"),
            "--data": ("evaluate", "--checkpoint", checkpoint, "--data", fifo.path, "--json", "-"),
            "--config": ("train", "--config", fifo.path),
            "--checkpoint": (
                "predict",
                demo_data / "samples" / os.listdir(demo_data / "samples")[0],
                "--checkpoint",
                fifo.path,
            ),
            "picture": ("predict", fifo.path, "--checkpoint", checkpoint),
            "glob": ("predict", str(in_tmp / "pipe.*"), "--checkpoint", checkpoint),
        }
        result = dnn(*commands[argument])
    assert f"{fifo.path}: is a FIFO (named pipe), not a regular file" in error_line(result)


@pytest.mark.parametrize("breaks", ["\n", "\r", "\x0b\x0c", "\x1c\x1d\x1e", "\x85", "\u2028\u2029"])
def test_a_file_name_holding_a_line_break_is_named_on_one_line(in_tmp, demo_data, dnn, breaks):
    # every character str.splitlines (or a terminal) ends a line at is written as an escape
    missing = in_tmp / f"a{breaks}b.h5"
    config = write_config(in_tmp / "c.yaml", demo_data, data={"train": str(missing)})
    line = error_line(dnn("train", "--config", config))
    escaped = breaks.encode("unicode_escape").decode("ascii")
    assert line == f"Error: {in_tmp}/a{escaped}b.h5: no such data file"


def test_a_symlink_loop_as_data(in_tmp, demo_data, dnn):
    os.symlink(in_tmp / "b.h5", in_tmp / "a.h5")
    os.symlink(in_tmp / "a.h5", in_tmp / "b.h5")
    config = write_config(in_tmp / "c.yaml", demo_data, data={"train": str(in_tmp / "a.h5")})
    assert "a.h5: a loop of symbolic links, not a data file" in error_line(dnn("train", "--config", config))
    result = dnn("data", "info", in_tmp / "a.h5")
    assert "a loop of symbolic links" in error_line(result)


# --- outputs: a write replaces only a regular file ------------------------------------


def output_commands(demo_run, config, out):
    """Every command that writes a file the user names, writing to ``out``."""
    return {
        "export": ("export", "--run", demo_run, "--out", out),
        "report": ("report", demo_run, "--out", out),
        "plot": ("plot", demo_run, "--out", out),
        "evaluate": ("evaluate", "--run", demo_run, "--json", out),
        "lr-find": ("lr-find", "--config", config, "--steps", "5", "--out", out),
    }


@pytest.mark.parametrize("command", ["export", "report", "plot", "evaluate", "lr-find"])
def test_an_output_onto_a_fifo_is_refused_and_the_fifo_kept(in_tmp, demo_data, demo_run, dnn, command):
    config = write_config(in_tmp / "c.yaml", demo_data)
    with FifoGuard(in_tmp / "pipe.png") as fifo:
        result = dnn(*output_commands(demo_run, config, fifo.path)[command])
    assert f"{fifo.path}: is a FIFO (named pipe), not a regular file" in error_line(result)
    assert stat.S_ISFIFO(os.lstat(fifo.path).st_mode)


def test_a_device_or_a_folder_as_output_is_refused_before_anything_is_written(tmp_path):
    # write_target only looks: /dev/null is never opened
    for path, kind in ((Path(os.devnull), "a device or socket"), (tmp_path, "a folder")):
        with pytest.raises(UserError, match=f"is {kind}, not a regular file"):
            write_target(path)
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(UserError, match="a loop of symbolic links"):
        write_target(tmp_path / "loop")


@pytest.mark.parametrize("command", ["export", "evaluate"])
def test_an_output_onto_a_symlink_writes_through_it(in_tmp, demo_data, demo_run, dnn, command):
    (in_tmp / "real").mkdir()
    link = in_tmp / "out.png"
    os.symlink("real/model.out", link)  # dangling until the first write: open() would create the file too
    for _ in range(2):
        result = dnn(*output_commands(demo_run, None, link)[command])
        assert result.exit_code == 0, result.output
        assert os.readlink(link) == "real/model.out"
        assert (in_tmp / "real" / "model.out").stat().st_size > 0
    assert sorted(os.listdir(in_tmp / "real")) == ["model.out"]  # no temporary file left beside it


@pytest.mark.parametrize("command", ["export", "report", "plot", "evaluate", "lr-find"])
def test_an_empty_output_name_is_refused_up_front(in_tmp, demo_data, demo_run, dnn, command):
    config = write_config(in_tmp / "c.yaml", demo_data)
    line = error_line(dnn(*output_commands(demo_run, config, "")[command]))
    assert line in ("Error: --out: give a file name", "Error: --json: give a file name")
    assert os.listdir(in_tmp) == ["c.yaml"]


def test_an_empty_picture_is_a_usage_error_not_the_current_folder(in_tmp, demo_data, demo_run, dnn):
    shutil.copytree(demo_data / "samples", in_tmp / "samples")
    result = dnn("predict", "", "--checkpoint", demo_run / "checkpoint.npz")
    assert error_line(result) == "Error: PICTURE: give a picture, a folder or a pattern"
    assert result.stdout == ""


# --- checkpoints: every member checked against the header before its data is read --------


def npy_bytes(shape, dtype, data=b""):
    """A .npy member: a header declaring ``shape`` and ``dtype``, and whatever ``data`` follows."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue() + data


def crafted(path, source, replace=(), add=(), header=None):
    """A copy of the checkpoint ``source`` with members replaced or added (name -> raw bytes)."""
    with zipfile.ZipFile(source) as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    if header is not None:
        members["header.npy"] = npy_bytes((len(header),), np.uint8, header)
    members.update(dict(replace))
    members.update(dict(add))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def header_of(checkpoint):
    with np.load(checkpoint, allow_pickle=False) as npz:
        return json.loads(npz["header"].tobytes())


def evaluate_with(dnn, checkpoint, demo_data):
    return dnn("evaluate", "--checkpoint", checkpoint, "--data", demo_data / "test.h5", "--json", "-")


def test_a_member_that_is_not_npy(tmp_path, demo_run, demo_data, dnn):
    path = crafted(tmp_path / "c.npz", demo_run / "checkpoint.npz", add={"notes.txt": b"raw bytes"})
    line = error_line(evaluate_with(dnn, path, demo_data))
    assert "not a dnn checkpoint (member 'notes.txt' is not one .npy array)" in line
    path = crafted(tmp_path / "d.npz", demo_run / "checkpoint.npz", replace={"W1.npy": b"raw bytes, no header"})
    assert "array 'W1' is not a readable .npy array" in error_line(evaluate_with(dnn, path, demo_data))


def test_a_header_nested_200000_deep(tmp_path, demo_run, demo_data, dnn):
    path = crafted(tmp_path / "c.npz", demo_run / "checkpoint.npz", header=b"[" * 200_000 + b"]" * 200_000)
    assert "the header is not valid JSON (nested too deeply)" in error_line(evaluate_with(dnn, path, demo_data))


@pytest.mark.parametrize(
    "name, shape, dtype, message",
    [
        ("W1.npy", (8, 12288 * 62_000), "float64", "array W1 has shape (8, 761856000), layer sizes need (8, 12288)"),
        ("W1.npy", (8, 12288), ">f8", "array W1 is >f8, the header says float64"),
        ("state.v_W1.npy", (3 * 2**27,), "float64", "array state.v_W1 has shape (402653184,)"),
        ("state.fast_C.npy", (8, 2**40), "float64", "array state.fast_C has shape (8, 1099511627776)"),
        ("state.secret.npy", (2**40,), "uint8", "array 'state.secret' is no optimizer state of this network"),
        ("extra.npy", (2**40,), "uint8", "holds an array 'extra', which no checkpoint of this network has"),
    ],
)
def test_declared_sizes_are_checked_before_any_data_is_read(
    tmp_path, demo_run, demo_data, dnn, name, shape, dtype, message
):
    # each member declares gigabytes or terabytes and holds a few bytes: refused from its header alone
    path = crafted(tmp_path / "c.npz", demo_run / "checkpoint.npz", add={name: npy_bytes(shape, dtype, bytes(64))})
    assert path.stat().st_size < 2_000_000
    assert message in error_line(evaluate_with(dnn, path, demo_data))


def test_a_small_file_holding_a_3_gib_optimizer_state(tmp_path, demo_run, demo_data, dnn):
    # zeros deflate 1000 to 1: a 3 GiB array in a few MB, refused before a byte of it is inflated
    with zipfile.ZipFile(demo_run / "checkpoint.npz") as z:
        members = {info.filename: z.read(info) for info in z.infolist()}
    path = tmp_path / "c.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for member, data in members.items():
            z.writestr(member, data)
        with z.open("state.v_W1.npy", "w", force_zip64=True) as f:
            f.write(npy_bytes((3 * 2**27,), "float64"))
            chunk = bytes(2**24)
            for _ in range(3 * 2**30 // 2**24 // 64):  # a 64th of it: the check must not depend on reading it
                f.write(chunk)
    assert path.stat().st_size < 2_000_000
    assert "array state.v_W1 has shape (402653184,), layer sizes need (8, 12288)" in error_line(
        evaluate_with(dnn, path, demo_data)
    )


def test_a_header_whose_layers_this_machine_cannot_hold(tmp_path, demo_run, demo_data, dnn):
    header = header_of(demo_run / "checkpoint.npz")
    header.update(layers=[12288, 10**9, 4, 1], input_shape=[64, 64, 3])
    path = crafted(tmp_path / "c.npz", demo_run / "checkpoint.npz", header=json.dumps(header).encode())
    assert "of weights" in error_line(evaluate_with(dnn, path, demo_data))


def test_an_input_shape_whose_product_overflows_int64(tmp_path, demo_run, demo_data, dnn):
    header = header_of(demo_run / "checkpoint.npz")
    header["input_shape"] = [12288, 2**52 + 1]  # 12288 (2^52 + 1) = 3 * 2^64 + 12288: 12288 in int64
    assert int(np.prod(np.array(header["input_shape"], dtype=np.int64))) == 12288
    path = crafted(tmp_path / "c.npz", demo_run / "checkpoint.npz", header=json.dumps(header).encode())
    assert "header field 'input_shape' must be positive sizes whose product is the input size 12288" in error_line(
        evaluate_with(dnn, path, demo_data)
    )


def run_with_header(tmp_path, demo_run, **fields):
    """A copy of the demo run whose checkpoint's header has ``fields`` changed."""
    folder = tmp_path / "run"
    shutil.copytree(demo_run, folder)
    header = dict(header_of(folder / "checkpoint.npz"), **fields)
    crafted(tmp_path / "c.npz", folder / "checkpoint.npz", header=json.dumps(header).encode())
    os.replace(tmp_path / "c.npz", folder / "checkpoint.npz")
    return folder


def every_model_command(dnn, folder, demo_data, tmp_path):
    """What each command that loads a checkpoint does with the run ``folder``'s."""
    checkpoint = folder / "checkpoint.npz"
    picture = demo_data / "samples" / sorted(os.listdir(demo_data / "samples"))[0]
    return {
        "predict": dnn("predict", picture, "--checkpoint", checkpoint),
        "evaluate": evaluate_with(dnn, checkpoint, demo_data),
        "export": dnn("export", "--checkpoint", checkpoint, "--out", tmp_path / "m.onnx"),
        "report": dnn("report", folder, "--out", tmp_path / "r.html"),
    }


@pytest.mark.parametrize(
    "divide_by, shown",
    [(10**400, "an integer of 401 digits"), (5e-324, "4.94066e-324"), (float("inf"), "inf"), (1e-307, "1e-307")],
)
def test_a_pixel_scaling_no_float_can_take_is_refused_by_every_command_at_load(
    tmp_path, demo_run, demo_data, dnn, divide_by, shown
):
    # 10**400 was an unexpected OverflowError; 5e-324 nan probabilities in predict and an AssertionError in report
    folder = run_with_header(tmp_path, demo_run, scaling={"divide_by": divide_by})
    for command, result in every_model_command(dnn, folder, demo_data, tmp_path).items():
        line = error_line(result)
        assert line.startswith(f"Error: {folder / 'checkpoint.npz'}: divides pixels by {shown}; "), (command, line)
        assert "a float64 model takes a divisor from 1.42e-306 to 4.49e+307" in line, command
        assert "RuntimeWarning" not in result.stderr


def test_a_pixel_scaling_evaluate_cannot_score_is_refused_by_report_too(tmp_path, demo_run, demo_data, dnn):
    folder = run_with_header(tmp_path, demo_run, scaling={"divide_by": 510.0})  # predict takes it; scoring does not
    line = error_line(dnn("report", folder, "--out", tmp_path / "r.html"))
    assert (
        line == f"Error: {folder / 'checkpoint.npz'}: divides pixels by 510.0; data sets are evaluated divided by 255.0"
    )


def test_class_names_twice_are_refused_by_every_command_at_load(tmp_path, demo_run, demo_data, dnn):
    folder = run_with_header(tmp_path, demo_run, classes=["cat", "cat"])  # one probability would hide the other
    for command, result in every_model_command(dnn, folder, demo_data, tmp_path).items():
        assert "header field 'classes' must name each class once, got ['cat', 'cat']" in error_line(result), command


def test_weights_whose_output_overflows_are_refused_without_numpys_warnings(tmp_path, demo_run, demo_data, dnn):
    from dnncli.model import checkpoint

    folder = tmp_path / "run"
    shutil.copytree(demo_run, folder)
    saved = checkpoint.load(folder / "checkpoint.npz")
    huge = {name: value * 1e300 if name.startswith("W") else value for name, value in saved.params.items()}
    checkpoint.save(folder / "checkpoint.npz", saved.header, huge)  # finite, but W2 (W1 x) overflows
    results = every_model_command(dnn, folder, demo_data, tmp_path)
    assert results.pop("export").exit_code == 0  # the weights are written as they are
    for command, result in results.items():
        line = error_line(result)  # were nan probabilities and a log loss of NaN, with RuntimeWarnings
        assert line == (
            f"Error: {folder / 'checkpoint.npz'}: its weights overflow float64 on these pictures "
            "(the output layer's pre-activation is inf or nan)"
        ), command
        assert "Warning" not in result.stderr, command


def test_a_model_that_takes_no_pictures_is_refused_once_by_predict(tmp_path, demo_run, demo_data, dnn):
    folder = run_with_header(tmp_path, demo_run, input_shape=[1, 64, 64, 3])  # was one error per picture
    result = dnn("predict", demo_data / "samples", "--checkpoint", folder / "checkpoint.npz")
    assert result.stderr == (
        f"Error: {folder / 'checkpoint.npz'}: a model with input shape (1, 64, 64, 3) does not take pictures "
        "(it needs (h, w) or (h, w, 1, 3 or 4))\n"
    )
    assert result.exit_code == 2 and evaluate_with(dnn, folder / "checkpoint.npz", demo_data).exit_code == 2


@pytest.mark.parametrize("content", [b"", b"hello", b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00]\x94.", bytes(1000)])
def test_a_file_that_is_no_checkpoint_never_shows_numpys_advice(tmp_path, demo_data, dnn, content):
    path = tmp_path / "c.npz"
    path.write_bytes(content)  # the third is a pickle
    line = error_line(evaluate_with(dnn, path, demo_data))
    assert "not a readable dnn checkpoint" in line and "allow_pickle" not in line


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory, demo_data):
    """A run of 10 of 20 iterations, to resume."""
    from conftest import train_run

    root = tmp_path_factory.mktemp("stopped")
    config = write_config(root / "c.yaml", demo_data, training={"iterations": 10, "checkpoint_every": 10})
    return train_run(root, config)


@pytest.mark.parametrize(
    "progress, field",
    [
        ("not a mapping", None),
        ({"history": "x"}, "history"),
        ({"history": [{"iteration": "3", "cost": 1.0}]}, "history"),
        ({"best_cost": "low"}, "best_cost"),
        ({"since_best": -1}, "since_best"),
        ({"stopped_early": "no"}, "stopped_early"),
        ({"seconds": [1]}, "seconds"),
        ({"pending": [None]}, "pending"),
        ({"extra": 1}, None),
    ],
)
def test_resume_refuses_progress_of_the_wrong_types(tmp_path, stopped_run, dnn, progress, field):
    folder = tmp_path / "run"
    shutil.copytree(stopped_run, folder)
    saved = folder / "checkpoint.npz"
    header = header_of(saved)
    header["progress"] = progress
    crafted(tmp_path / "c.npz", saved, header=json.dumps(header).encode())
    os.replace(tmp_path / "c.npz", saved)
    line = error_line(dnn("train", "--resume", folder, "--set", "training.iterations=20"))
    assert f"{saved}: " in line
    assert f"bad {field!r}" in line if field else "no readable training progress" in line


def test_progress_fields_are_those_of_progress():
    from dataclasses import fields

    from dnncli.run.record import Progress
    from dnncli.run.train import PROGRESS_FIELDS

    assert set(PROGRESS_FIELDS) == {f.name for f in fields(Progress)}


# --- HDF5: shapes checked before reading, data only from the file itself -------------


def hdf5_with(path, labels=None, classes=None, m=8, **extra):
    """An HDF5 train file with ``m`` 64x64 RGB pictures; ``labels`` and ``classes`` are callables f(file)."""
    with h5py.File(path, "w") as f:
        f.create_dataset("train_set_x", data=np.zeros((m, 64, 64, 3), np.uint8))
        (labels or (lambda f: f.create_dataset("train_set_y", data=np.arange(m) % 2)))(f)
        if classes:
            classes(f)
    return path


def train_on(dnn, in_tmp, demo_data, data):
    config = write_config(in_tmp / "c.yaml", demo_data, data={"train": str(data), "test": None})
    return dnn("train", "--config", config, "--quiet")


HDF5_CASES = {
    "classes are a group": (None, lambda f: f.create_group("list_classes"), "'list_classes' is a group, not a dataset"),
    "soft-link loop": (
        lambda f: (
            f.__setitem__("train_set_y", h5py.SoftLink("/loop")),
            f.__setitem__("loop", h5py.SoftLink("/train_set_y")),
        ),
        None,
        "cannot open 'train_set_y'",
    ),
    "empty dataspace": (
        lambda f: f.create_dataset("train_set_y", data=h5py.Empty("int64")),
        None,
        "dataset 'train_set_y' is empty (it has no dataspace)",
    ),
    "10^12 labels with no storage": (
        lambda f: f.create_dataset("train_set_y", shape=(10**12,), dtype="int64", chunks=(4096,)),
        None,
        "dataset 'train_set_y' declares 1,000,000,000,000 values but stores none",
    ),
    "10^9 class names with no storage": (
        None,
        lambda f: f.create_dataset("list_classes", shape=(10**9,), dtype="S8", chunks=(4096,)),
        "dataset 'list_classes' declares 1,000,000,000 values but stores none",
    ),
    "3e8 labels, one chunk stored": (
        lambda f: f.create_dataset(
            "train_set_y", shape=(3 * 10**8,), dtype="int64", chunks=(4096,), compression="gzip"
        ).__setitem__(slice(0, 8), np.arange(8) % 2),
        None,
        "dataset 'train_set_y' declares 300,000,000 values but stores only part of them (1 of 73,243 chunks)",
    ),
    "10^6 labels, every chunk stored": (
        lambda f: f.create_dataset("train_set_y", data=np.zeros(10**6, np.int64), chunks=(2**16,), compression="gzip"),
        None,
        "8 pictures but 1000000 labels in 'train_set_y'",
    ),
    "3e8 class names, one chunk stored": (
        None,
        lambda f: f.create_dataset(
            "list_classes", shape=(3 * 10**8,), dtype="S3", chunks=(4096,), compression="gzip"
        ).__setitem__(slice(0, 2), [b"a", b"b"]),
        "dataset 'list_classes' declares 300,000,000 values but stores only part of them (1 of 73,243 chunks)",
    ),
    "10^5 class names, every chunk stored": (
        None,
        lambda f: f.create_dataset("list_classes", data=np.full(10**5, b"ab"), compression="gzip"),
        "'list_classes' must list at most 10,000 class names, found shape (100000,)",
    ),
    "label of 1e20": (
        lambda f: f.create_dataset("train_set_y", data=np.array([0, 1, 0, 1, 0, 1, 0, 1e20])),
        None,
        "labels in 'train_set_y' go up to 100000000000000000000 with no class names",
    ),
    "uint64 maximum label": (
        lambda f: f.create_dataset("train_set_y", data=np.array([0, 1, 0, 1, 0, 1, 0, 2**64 - 1], dtype=np.uint64)),
        lambda f: f.create_dataset("list_classes", data=[b"no", b"yes"]),
        "labels in 'train_set_y' must lie in 0..1 (2 classes), found 0..18446744073709551615",
    ),
}


@pytest.mark.parametrize("case", sorted(HDF5_CASES))
def test_crafted_hdf5_files(in_tmp, demo_data, dnn, case):
    labels, classes, message = HDF5_CASES[case]
    path = hdf5_with(in_tmp / "d.h5", labels, classes)
    started = time.monotonic()
    line = error_line(train_on(dnn, in_tmp, demo_data, path))
    assert message in line and str(path) in line
    assert time.monotonic() - started < 20  # nothing was read in full
    info = dnn("data", "info", path)
    if case not in ("label of 1e20", "uint64 maximum label"):
        assert message in error_line(info)


@pytest.mark.parametrize("pictures", [np.uint8(3), np.zeros(5, np.uint8)], ids=["scalar", "one-dimensional"])
def test_info_refuses_pictures_of_no_shape_as_evaluate_does(in_tmp, demo_run, dnn, pictures):
    path = in_tmp / "d.h5"
    with h5py.File(path, "w") as f:
        f["test_set_x"] = pictures  # was an unexpected IndexError in dnn data info
        f["test_set_y"] = np.zeros(np.ndim(pictures) and 5, np.int64)
    message = f"{path}: 'test_set_x' must be shaped (examples, height, width, channels), found {pictures.shape}"
    assert error_line(dnn("data", "info", path)) == f"Error: {message}"
    assert error_line(dnn("evaluate", "--run", demo_run, "--data", path, "--json", "-")) == f"Error: {message}"


def test_info_tells_a_uint64_maximum_label_as_it_is(in_tmp, dnn):
    path = hdf5_with(in_tmp / "d.h5", HDF5_CASES["uint64 maximum label"][0], HDF5_CASES["uint64 maximum label"][1])
    result = dnn("data", "info", path)
    assert result.exit_code == 0 and "18446744073709551615 1" in result.stdout and "label -1" not in result.stdout


@pytest.mark.parametrize("how", ["external link", "virtual dataset", "external storage"])
def test_data_stored_outside_the_file_is_refused(in_tmp, demo_data, dnn, how):
    secret = in_tmp / "secret.h5"
    with h5py.File(secret, "w") as f:
        f.create_dataset("y", data=np.arange(8) % 2)
    raw = in_tmp / "raw.bin"
    raw.write_bytes((np.arange(8) % 2).astype("<i8").tobytes())

    def labels(f):
        if how == "external link":
            f["train_set_y"] = h5py.ExternalLink(str(secret), "/y")
        elif how == "virtual dataset":
            layout = h5py.VirtualLayout(shape=(8,), dtype="int64")
            layout[:] = h5py.VirtualSource(str(secret), "y", shape=(8,))
            f.create_virtual_dataset("train_set_y", layout)
        else:
            f.create_dataset("train_set_y", shape=(8,), dtype="<i8", external=[(str(raw), 0, 64)])

    path = hdf5_with(in_tmp / "d.h5", labels)
    line = error_line(train_on(dnn, in_tmp, demo_data, path))
    assert "'train_set_y'" in line and "dnn reads only data stored in the file" in line
    assert not (in_tmp / "runs").exists()


# --- YAML ----------------------------------------------------------------------


def test_yaml_nested_5000_deep(in_tmp, dnn):
    (in_tmp / "c.yaml").write_text("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nested more than 50 levels deep" in error_line(dnn("train", "--config", in_tmp / "c.yaml"))
    (in_tmp / "d.yaml").write_text("".join("  " * i + f"k{i}:\n" for i in range(500)))
    assert "nested more than 50 levels deep" in error_line(dnn("train", "--config", in_tmp / "d.yaml"))


def test_duplicate_keys_are_refused_naming_the_key_and_its_lines(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    text = config.read_text()
    config.write_text(text + "seed: 7\n")
    first = next(i for i, line in enumerate(text.splitlines(), 1) if line.startswith("seed:"))
    last = len(text.splitlines()) + 1
    assert f"key 'seed' given twice (lines {first} and {last}); keep one" in error_line(
        dnn("train", "--config", config)
    )
    config.write_text("training:\n  l2: 0\n  l2: 1\n")
    assert "key 'l2' given twice (lines 2 and 3)" in error_line(dnn("train", "--config", config))
    line = error_line(
        dnn(
            "train",
            "--config",
            write_config(in_tmp / "d.yaml", demo_data),
            "--set",
            "training.optimizer={name: adam, name: gd}",
        )
    )
    assert "--set training.optimizer: cannot read value" in line


@pytest.mark.parametrize(
    "override, message",
    [
        ("seed=4294967296", "seed: must be at most 4294967295"),
        ("training.optimizer={name: adam, beta1: 1.0e300}", "training.optimizer: adam's beta1 must be less than 1"),
        ("training.optimizer={name: momentum, beta: 1.5}", "momentum's beta must be less than 1"),
        ("training.optimizer={name: adam, epsilon: 0}", "adam's epsilon must be greater than 0"),
        ("training.schedule={name: step, factor: 1.0e300}", "step's factor must be at most 1"),
        (
            "training.schedule={name: inverse_time, decay_rate: 1.0e300}",
            "inverse_time's decay_rate must be at most 1000000.0",
        ),
        ("training.schedule={name: step, every: 0}", "step's every must be at least 1"),
    ],
)
def test_numbers_the_engine_cannot_use(in_tmp, demo_data, dnn, override, message):
    config = write_config(in_tmp / "c.yaml", demo_data)
    line = error_line(dnn("train", "--config", config, "--set", override))
    assert message in line and line.startswith("Error: --set: ")


def test_a_bad_value_from_the_file_is_blamed_on_the_file(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, seed=2**32)
    assert error_line(dnn("train", "--config", config)).startswith(f"Error: {config}: seed: must be at most")


@pytest.mark.parametrize("source", ["/dev/zero", "big"])
def test_a_config_that_never_ends(in_tmp, dnn, source):
    if source == "big":
        source = in_tmp / "big.yaml"
        source.write_text("# padding\n" * 200_000)
    line = error_line(dnn("train", "--config", source))
    assert (
        "is a device or socket, not a regular file" in line
        if source == "/dev/zero"
        else "larger than 1,000,000 bytes" in line
    )


def test_a_bad_set_value_is_blamed_on_set(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    line = error_line(dnn("train", "--config", config, "--set", "training.learning_rate=abc"))
    assert line == "Error: --set: training.learning_rate: must be a number, got 'abc'"


def test_set_null_unsets_an_optional_key(in_tmp, demo_data, dnn):
    from dnncli.config.load import load

    config = write_config(in_tmp / "c.yaml", demo_data, training={"iterations": 2})
    for null in ("null", "Null", "~"):
        assert load(config, [f"data.test={null}"])["data"]["test"] is None
    assert "data.test" in error_line(dnn("train", "--config", config, "--set", "data.test="))  # an empty path
    # through the command line, with the largest seed and a portable name of every kind of character
    result, folder = train_quietly(
        dnn, config, "--set", "data.test=~", "--set", "seed=4294967295", "--set", "name=Cat-adam_2.v1"
    )
    assert result.exit_code == 0, result.output
    assert folder.parent.name == "Cat-adam_2.v1"
    assert yaml.safe_load((folder / "config.yaml").read_text())["data"]["test"] is None
    assert metrics_of(folder)["test"] is None


# --- run names and output.dir ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "latest",
        "LATEST",
        "x" * 300,
        "a\x00b",
        "two\nlines",
        "bell\x07",
        "tab\tname",
        "a:b",
        "a*b",
        "a?b",
        'a"b',
        "a<b",
        "a|b",
        "con",
        "NUL.txt",
        "com1",
        "trailing.",
        ".hidden",
        "-flag",
        "../up",
        "a/b",
        "a\\b",
        "café",
    ],
)
def test_run_names_outside_the_portable_set_are_refused(in_tmp, demo_data, dnn, name):
    config = write_config(in_tmp / "c.yaml", demo_data)
    line = error_line(dnn("train", "--config", config, "--set", f"name={json.dumps(name)}"))
    assert line.startswith("Error: --set: name: must")
    assert not (in_tmp / "runs").exists()


def test_reserved_names_hold_latest():
    assert LATEST in RESERVED_NAMES


def test_the_longest_run_name_is_a_name():
    from dnncli.config.schema import MAX_RUN_NAME, run_name

    assert run_name("A" * MAX_RUN_NAME) == "A" * MAX_RUN_NAME
    with pytest.raises(ValueError, match="at most 100 characters"):
        run_name("A" * (MAX_RUN_NAME + 1))


@pytest.mark.parametrize("where", ["a file", "below a file", "/dev/null"])
def test_output_dir_that_is_not_a_folder(in_tmp, demo_data, dnn, where):
    (in_tmp / "file").write_text("x")
    out = {"a file": in_tmp / "file", "below a file": in_tmp / "file" / "runs", "/dev/null": "/dev/null"}[where]
    config = write_config(in_tmp / "c.yaml", demo_data)
    line = error_line(dnn("train", "--config", config, "--set", f"output.dir={out}"))
    assert line.startswith(f"Error: output.dir: {out} ") and "not a folder" in line


# --- pictures -------------------------------------------------------------------


def strip_png(path, width, height):
    """A grey PNG of width x height written directly (Pillow takes seconds to encode millions of rows)."""
    rows = zlib.compress(bytes(height * (width + 1)), 9)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))
    return path


@pytest.fixture
def strips(tmp_path):
    """Two strips under Pillow's pixel limit that resizing to 64 x 64 cannot afford, and a good picture."""
    folder = tmp_path / "strips"
    folder.mkdir()
    strip_png(folder / "tall.png", 1, 3_000_000)
    strip_png(folder / "wide.png", 20_000_000, 1)
    Image.fromarray(np.full((70, 50, 3), 200, np.uint8)).save(folder / "good.png")
    return folder


def test_a_strip_that_cannot_be_resized_is_refused_and_the_rest_classified(strips, demo_run, dnn):
    result = dnn("predict", strips, "--checkpoint", demo_run / "checkpoint.npz", "--json")
    assert result.exit_code == 2 and "Traceback" not in result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records if "error" not in r] == [str(strips / "good.png")]
    assert sorted(r["path"] for r in records if "error" in r) == [str(strips / "tall.png"), str(strips / "wide.png")]
    for name, size in (("tall.png", "1 x 3000000"), ("wide.png", "20000000 x 1")):
        assert f"{strips / name}: a {size} picture is too far from 64 x 64 to resize" in result.stderr


def test_a_strip_in_a_folder_set_is_skipped_with_a_warning(in_tmp, demo_data, strips, dnn):
    root = in_tmp / "set"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((64, 64, 3), 60 * i, np.uint8)).save(root / name / f"{i}.png")
    os.replace(strips / "tall.png", root / "a" / "tall.png")
    config = write_config(
        in_tmp / "c.yaml",
        demo_data,
        data={"format": "folder", "train": str(root), "test": None},
        model={"layers": [12288, 4, 1]},
        training={"iterations": 2},
    )
    result, folder = train_quietly(dnn, config)
    assert result.exit_code == 0, result.output
    assert (
        "skipped 1 picture that cannot be read" in result.stderr and "tall.png: a 1 x 3000000 picture" in result.stderr
    )


def test_a_folder_set_too_large_for_memory_is_refused_before_decoding(in_tmp, demo_data, dnn):
    root = in_tmp / "set"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / name / "0.png")
    config = write_config(
        in_tmp / "c.yaml", demo_data, data={"format": "folder", "train": str(root), "test": None, "size": 300_000}
    )
    line = error_line(dnn("train", "--config", config))
    assert "pictures of 300000 x 300000 x 3 are more than" in line and "(data.size, --size)" in line
    line = error_line(dnn("data", "import", root, "--out", in_tmp / "x.h5", "--size", "300000"))
    assert "pictures of 300000 x 300000 x 3 are more than" in line
    # 30000: the two may fit in memory, but no picture may be resized to 30000 x 30000
    line = error_line(dnn("train", "--config", config, "--set", "data.size=30000"))
    assert "pictures of 30000 x 30000 x 3 are more than a picture may be resized to" in line


def test_tiff_and_netpbm_pictures_are_read(tmp_path, demo_run, dnn):
    picture = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for name in ("p.tif", "p.tiff", "p.ppm", "p.png"):
        Image.fromarray(picture).save(tmp_path / name)
    result = dnn("predict", tmp_path, "--checkpoint", demo_run / "checkpoint.npz", "--json")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 4 and len({r["probability"] for r in records}) == 1  # lossless: the same pixels


def test_an_empty_file_is_said_to_be_empty(tmp_path, demo_run, dnn):
    (tmp_path / "empty.png").write_bytes(b"")
    line = error_line(dnn("predict", tmp_path / "empty.png", "--checkpoint", demo_run / "checkpoint.npz"))
    assert "empty.png: not a picture (an empty file)" in line


def test_a_folder_names_the_files_it_skips(tmp_path, demo_run, dnn):
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "notes.txt").write_text("not a picture")
    (tmp_path / "scan.pdf").write_bytes(b"%PDF")
    os.mkfifo(tmp_path / "pipe.png")
    result = dnn("predict", tmp_path, "--checkpoint", demo_run / "checkpoint.npz")
    assert result.exit_code == 0, result.output
    warning = f"Warning: {tmp_path}: 3 files skipped, not picture files"
    assert warning in result.stderr
    for name in ("notes.txt", "scan.pdf", "pipe.png"):
        assert str(tmp_path / name) in result.stderr


def test_folder_set_warnings_name_files_and_info_counts_what_training_uses(in_tmp, demo_data, dnn):
    root = in_tmp / "set"
    for name in ("a", "b"):
        (root / name).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(np.full((64, 64, 3), 60 * i, np.uint8)).save(root / name / f"{i}.png")
    (root / "a" / "notes.txt").write_text("x")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(root / "loose.png")
    info = dnn("data", "info", root)
    assert info.exit_code == 0
    assert "set/a: 1 file skipped, not picture files" in info.stderr or f"{root / 'a'}: 1 file skipped" in info.stderr
    assert "notes.txt" in info.stderr and "loose.png" in info.stderr
    assert "a 3, b 3" in info.stdout
    config = write_config(
        in_tmp / "c.yaml",
        demo_data,
        data={"format": "folder", "train": str(root), "test": None},
        model={"layers": [12288, 4, 1]},
        training={"iterations": 2},
    )
    result, folder = train_quietly(dnn, config)
    assert result.exit_code == 0 and "notes.txt" in result.stderr and "loose.png" in result.stderr
    assert metrics_of(folder)["train"]["examples"] == 6


def test_an_hdf5_train_file_written_by_dnn_still_loads(in_tmp, demo_data, dnn):
    # the checks above keep every file dnn writes readable
    path = in_tmp / "d.h5"
    write_hdf5(path, "train", np.zeros((4, 64, 64, 3), np.uint8), [0, 1, 0, 1], ["no", "yes"])
    config = write_config(
        in_tmp / "c.yaml", demo_data, data={"train": str(path), "test": None}, training={"iterations": 2}
    )
    result, folder = train_quietly(dnn, config)
    assert result.exit_code == 0, result.output


def test_a_folder_set_that_memory_cannot_hold_is_refused_before_decoding(tmp_path):
    from dnncli.data.folder_sets import check_decoding_memory
    from dnncli.errors import UserError

    check_decoding_memory(tmp_path, 1000, (64, 64, 3))
    with pytest.raises(UserError, match="1000000 pictures of 4096 x 4096 x 3 need .* use a smaller size"):
        check_decoding_memory(tmp_path, 10**6, (4096, 4096, 3))  # 50 TB


# --- numbers and names on the command line ---------------------------------------------------


@pytest.mark.parametrize(
    "command, message",
    [
        (
            ["predict", "{picture}", "--run", "{run}", "--threshold", "nan"],
            "Invalid value for '--threshold': 'nan' is not a finite number.",
        ),
        (
            ["serve", "--run", "{run}", "--max-upload-mb", "nan"],
            "Invalid value for '--max-upload-mb': 'nan' is not a finite number.",
        ),
        (
            ["serve", "--run", "{run}", "--max-upload-mb", "inf"],
            "Invalid value for '--max-upload-mb': inf is not in the range",
        ),
        (
            ["lr-find", "--config", "{config}", "--end", "nan"],
            "Invalid value for '--end': 'nan' is not a finite number.",
        ),
        (
            ["gradcheck", "--config", "{config}", "--threshold", "inf"],
            "Invalid value for '--threshold': 'inf' is not a finite number.",
        ),
        (
            ["serve", "--run", "{run}", "--host", "..invalid", "--port", "1"],
            "--host ..invalid --port 1: cannot listen there",
        ),
    ],
)
def test_numbers_and_hosts_that_are_none_are_refused(in_tmp, demo_data, demo_run, dnn, command, message):
    # click's FloatRange compares, and NaN passes every comparison: --threshold nan called every picture the first class
    config = write_config(in_tmp / "c.yaml", demo_data)
    picture = next((demo_data / "samples").iterdir())
    args = [a.format(picture=picture, run=demo_run, config=config) for a in command]
    result = dnn(*args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1].startswith(f"Error: {message}"), result.stderr
    assert "Traceback" not in result.output
