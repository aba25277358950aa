"""Runs and the files they leave, as a user and a teammate meet them (issue 17: runs, files, messages about runs).

Modes, locks, full and read-only disks, stale temporary files, divergence, resuming on
replaced data, the runs listing, the closed pipe, DNN_RUNS, data.classes and completion of --set.
"""

import contextlib
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from conftest import metrics_of, train_quietly, train_run, write_config
from dnncli import resources
from dnncli.data.hdf5 import write_hdf5
from dnncli.errors import os_error_exception
from dnncli.files import fsync_file, write_text
from dnncli.model import checkpoint
from dnncli.run import listing

TINY = {"layers": [12288, 2, 1]}
SHORT = {"learning_rate": 0.01, "iterations": 10, "log_every": 5}
LONG = {"learning_rate": 0.001, "iterations": 10**6, "batch_size": 64, "log_every": 50, "checkpoint_every": None}


def dnn_process(cwd, *args, env=None, **kwargs):
    command = [sys.executable, "-m", "dnncli", *map(str, args)]
    return subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **kwargs
    )


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def running(folder):
    path = Path(folder) / "metrics.json"
    try:
        return json.loads(path.read_text())["status"] == "running"
    except (OSError, ValueError):
        return False


def stop(process):
    if process.poll() is None:
        process.kill()
    process.communicate(timeout=60)


# --- dnn runs ---------------------------------------------------------------------


def test_runs_survives_deep_nesting_and_dates_out_of_range(in_tmp, demo_data, dnn):
    _, good = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    deep, dated, far = (Path("runs/t") / n for n in ("7", "8", "9"))
    for folder in (deep, dated, far):
        shutil.copytree(good, folder)
    (deep / "metrics.json").write_text("[" * 100_000 + "]" * 100_000)
    for folder, started in ((dated, "9999-12-31T23:59:59-23:59"), (far, "0001-01-01T00:00:00+23:59")):
        metrics = metrics_of(good)
        metrics["started"] = started
        (folder / "metrics.json").write_text(json.dumps(metrics))
    result = dnn("runs", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["run"]: row for row in json.loads(result.stdout)}
    assert rows[str(deep)]["status"] == "broken" and "nested too deep" in rows[str(deep)]["problem"]
    assert rows[str(dated)]["status"] == rows[str(far)]["status"] == "finished"
    table = dnn("runs")
    assert table.exit_code == 0 and "nested too deep" in table.stdout


def test_runs_and_train_pass_by_a_folder_named_with_a_digit_int_refuses(in_tmp, demo_data, dnn):
    # "²".isdigit() is true, int("²") fails: such a folder is not a run, and the next run is numbered on
    config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT)
    _, good = train_quietly(dnn, config)
    shutil.copytree(good, Path("runs/t/²"))
    listed = dnn("runs", "--json")
    assert listed.exit_code == 0, listed.output
    assert [row["run"] for row in json.loads(listed.stdout)] == [str(good)]
    _, second = train_quietly(dnn, config)
    assert second == good.parent / "2"


def test_a_run_time_that_is_no_time_shows_as_a_question_mark(in_tmp, demo_data, dnn):
    _, good = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    metrics = metrics_of(good)
    metrics["seconds"] = float("nan")
    (good / "metrics.json").write_text(json.dumps(metrics))
    table = dnn("runs", env={"TTY_COMPATIBLE": "0", "FORCE_COLOR": None})
    assert table.exit_code == 0, table.output
    header, row = [line.split("\t") for line in table.stdout.splitlines()]
    assert dict(zip(header, row, strict=True))["time"] == "?"


@pytest.mark.parametrize("pointer", [b"\xff\xfe t/1\n", b"", b"t/1\x00\n"], ids=["not-utf8", "empty", "nul"])
def test_a_broken_latest_pointer_is_one_line(in_tmp, demo_data, dnn, pointer):
    train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    Path("runs/latest").write_bytes(pointer)
    for command in (("evaluate",), ("predict", demo_data / "samples"), ("summary",)):
        result = dnn(*command)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith("Error: runs/latest: not a run pointer"), result.stderr
    assert dnn("runs").exit_code == 0


def test_the_cost_of_a_mini_batch_run_is_the_summary_s(in_tmp, demo_data, dnn):
    training = {**SHORT, "batch_size": 64, "l2": 0.5}
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=training))
    metrics = metrics_of(folder)
    (row,) = json.loads(dnn("runs", "--json").stdout)
    assert row["train_cost"] == metrics["train"]["cost"] != row["final_cost"]
    table = dnn("runs").stdout
    assert "last cost" in table and "train cost" in table
    assert f"{metrics['train']['cost']:.6f}" in table and f"{row['final_cost']:.6f}" in table


def strict_json(text):
    """``json.loads`` that refuses NaN and Infinity, which are not JSON (Python writes them unless told not to)."""
    return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))


def test_runs_json_writes_a_number_that_is_not_finite_as_null(in_tmp, demo_data, dnn):
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    metrics = metrics_of(folder)
    metrics["train"]["cost"] = float("nan")  # a diverged run, or a hand-edited file: Python reads NaN
    metrics["costs"][-1]["cost"] = float("inf")
    (folder / "metrics.json").write_text(json.dumps(metrics))
    result = dnn("runs", "--json")
    assert result.exit_code == 0, result.output
    (row,) = strict_json(result.stdout)
    assert row["train_cost"] is None and row["final_cost"] is None


def test_json_text_maps_every_number_that_is_not_finite_and_keeps_the_rest():
    from dnncli.text import json_text

    value = {"a": [float("nan"), 1.5, {"b": float("-inf")}], "c": (float("inf"), 2), "d": "NaN", "e": True, "f": None}
    assert strict_json(json_text(value)) == {
        "a": [None, 1.5, {"b": None}],
        "c": [None, 2],
        "d": "NaN",
        "e": True,
        "f": None,
    }


def test_the_listing_leaves_a_run_it_cannot_probe_as_its_metrics_say(in_tmp, demo_data, dnn, monkeypatch):
    # where os.kill(pid, 0) would kill (Windows), process_gone must not call it
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        metrics = metrics_of(folder)
        metrics.update(status="running", process={"pid": 2**22 + 12345, "host": listing.socket.gethostname()})
        (folder / "metrics.json").write_text(json.dumps(metrics))
        assert listing.run_row(folder)["status"] == "killed"  # no such pid, asked with signal 0
        monkeypatch.setattr(resources, "CAN_ASK_FOR_PROCESSES", False)
        metrics["process"]["pid"] = sleeper.pid
        (folder / "metrics.json").write_text(json.dumps(metrics))
        assert listing.run_row(folder)["status"] == "running"
        assert sleeper.poll() is None
    finally:
        sleeper.kill()
        sleeper.wait()


def test_an_unreadable_entry_shows_as_broken_and_the_listing_goes_on(in_tmp, demo_data, dnn, monkeypatch):
    _, good = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    folded, dangling, locked = (Path("runs/t") / n for n in ("7", "8", "9"))
    for folder in (folded, dangling, locked):
        shutil.copytree(good, folder)
    (folded / "metrics.json").unlink()
    (folded / "metrics.json").mkdir()
    (dangling / "metrics.json").unlink()
    os.symlink("gone.json", dangling / "metrics.json")
    real_stat = Path.stat

    def refusing(path, **kwargs):  # what a folder without permission does, for root too
        if os.path.abspath(path).startswith(os.path.abspath(locked)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, **kwargs)

    monkeypatch.setattr(Path, "stat", refusing)
    assert locked in listing.run_folders("runs")
    result = dnn("runs", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["run"]: row for row in json.loads(result.stdout)}
    assert rows.keys() == {str(good), str(folded), str(dangling), str(locked)}
    assert rows[str(good)]["status"] == "finished"
    assert rows[str(folded)]["status"] == "broken" and "metrics.json" in rows[str(folded)]["problem"]
    assert rows[str(dangling)]["status"] == "broken" and "no metrics.json" in rows[str(dangling)]["problem"]


def test_a_folder_without_permission_in_the_runs_is_listed_as_broken(tmp_path):
    # root reads anything, so as root the listing runs as nobody
    place = Path(tempfile.mkdtemp(prefix="dnn-list-"))
    try:
        place.chmod(0o755)
        (place / "runs" / "t" / "1").mkdir(parents=True)
        (place / "runs" / "t" / "1" / "metrics.json").write_text("{}")
        (place / "runs" / "t" / "1").chmod(0)
        (place / "runs" / "locked").mkdir(mode=0)
        (place / "runs" / "locked").chmod(0)
        user = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
        command = [sys.executable, "-m", "dnncli", "runs", "--json"]
        try:
            done = subprocess.run(command, cwd=place, capture_output=True, text=True, **user)
        except PermissionError as e:
            pytest.skip(f"nobody cannot run this Python: {e}")
        if user and done.returncode and "Permission denied" not in done.stderr:
            pytest.skip(f"nobody cannot run dnn from here: {done.stderr.strip()[-300:]}")
        assert done.returncode == 0, done.stderr
        (row,) = json.loads(done.stdout)
        assert row["run"] == "runs/t/1" and row["status"] == "broken" and "Permission denied" in row["problem"]
    finally:
        for folder in (place / "runs" / "t" / "1", place / "runs" / "locked"):
            folder.chmod(0o755)
        shutil.rmtree(place, ignore_errors=True)


# --- files ------------------------------------------------------------------------


@contextlib.contextmanager
def umask(mask):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_files_get_the_mode_open_gives(in_tmp, demo_data, dnn, mask):
    config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT)
    with umask(mask):
        _, folder = train_quietly(dnn, config)
        dnn("evaluate", "--run", folder)
        open(in_tmp / "plain", "w").close()
    expected = stat.S_IMODE((in_tmp / "plain").stat().st_mode)
    assert expected == 0o666 & ~mask
    written = [folder / name for name in ("config.yaml", "metrics.json", "checkpoint.npz", "evaluation-test.json")]
    for path in [*written, Path("runs/latest")]:
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_fsync_needs_no_write_permission(tmp_path):
    path = tmp_path / "read-only"
    write_text(path, "x")
    path.chmod(0o444)
    fsync_file(path)  # POSIX flushes a read-only descriptor; Windows gets a read-write one
    assert path.read_text() == "x"


@contextlib.contextmanager
def small_disk(path, size):
    """A real file system of ``size`` (a tmpfs) at ``path``; skips where it cannot be mounted."""
    path.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a small file system needs root and mount")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(disk):
    """Writes a file until the disk is full."""
    with open(disk / "filler", "wb", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 4096)


def test_a_full_disk_at_the_last_save_leaves_failed_with_the_reason(in_tmp, demo_data):
    with small_disk(in_tmp / "disk", "4m") as disk:
        config = write_config(in_tmp / "c.yaml", demo_data, model={"layers": [12288, 16, 1]}, training=LONG)
        process = dnn_process(in_tmp, "train", "--config", config, "--quiet", "--set", f"output.dir={disk / 'runs'}")
        folder = disk / "runs" / "t" / "1"
        try:
            wait_for(lambda: running(folder))
            fill(disk)
            process.send_signal(signal.SIGTERM)
            out, err = process.communicate(timeout=60)
        finally:
            stop(process)
        assert process.returncode == 1, err
        assert err.strip().splitlines()[-1] == (
            f"Error: {folder / 'checkpoint.npz'}: cannot save (No space left on device); the previous one, if any, is kept"
        )
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["status"] == "failed" and "No space left on device" in metrics["error"]
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_full_disk_at_the_start_says_which_file_and_leaves_no_folder(in_tmp, demo_data, dnn):
    with small_disk(in_tmp / "disk", "1m") as disk:
        config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT)
        fill(disk)
        result = dnn("train", "--config", config, "--quiet", "--set", f"output.dir={disk / 'runs'}")
        assert result.exit_code == 1
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"Error: {disk / 'runs'}") and line.endswith(": No space left on device")
        assert "unexpected" not in line
        assert not (disk / "runs" / "t" / "1").exists()


def test_a_read_only_file_system_says_which_file(in_tmp, demo_data, dnn):
    with small_disk(in_tmp / "disk", "1m") as disk:
        (disk / "runs").mkdir()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT)
        result = dnn("train", "--config", config, "--quiet", "--set", f"output.dir={disk / 'runs'}")
        assert result.exit_code == 1
        assert result.stderr == f"Error: {disk / 'runs' / 't'}: Read-only file system\n"
        starter = dnn("init-config", disk / "dnn.yaml")
        assert starter.exit_code == 2 and "Read-only file system" in starter.stderr


def test_a_folder_without_write_permission_says_which_file(demo_data):
    # root writes anywhere, so as root the run goes as nobody, in a folder everyone can read
    place = Path(tempfile.mkdtemp(prefix="dnn-perm-"))
    try:
        place.chmod(0o755)
        for name in ("train.h5", "test.h5"):
            shutil.copy(demo_data / name, place / name)
        config = write_config(place / "c.yaml", place, model=TINY, training=SHORT)
        (place / "runs").mkdir(mode=0o555)
        (place / "runs").chmod(0o555)
        user = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
        command = [sys.executable, "-m", "dnncli", "train", "--config", config, "--quiet"]
        try:
            done = subprocess.run(command, cwd=place, capture_output=True, text=True, **user)
        except PermissionError as e:
            pytest.skip(f"nobody cannot run this Python: {e}")
        if user and "runs/t" not in done.stderr:
            pytest.skip(f"nobody cannot run dnn from here: {done.stderr.strip()[-300:]}")
        assert done.returncode == 1, done.stderr
        assert done.stderr == "Error: runs/t: Permission denied\n"
    finally:
        shutil.rmtree(place, ignore_errors=True)


def test_resume_removes_stale_temporary_files_and_listings_ignore_them(in_tmp, demo_data, dnn):
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    stale = [folder / ".checkpoint.npz.3f2a9c1d.tmp", folder / ".metrics.json.0badcafe.tmp"]
    for path in stale:
        path.write_bytes(b"\0" * 1000)
    mine = folder / "notes.tmp"
    mine.write_text("not dnn's")
    (row,) = json.loads(dnn("runs", "--json").stdout)
    assert row["status"] == "finished" and row["problem"] is None
    result = dnn("train", "--resume", folder, "--set", "training.iterations=12", "--quiet")
    assert result.exit_code == 0, result.output
    assert not any(path.exists() for path in stale) and mine.exists()
    assert checkpoint.load(folder / "checkpoint.npz").iteration == 12


# --- one process per run folder ---------------------------------------------------


def test_a_second_process_on_a_running_folder_is_refused_naming_the_first(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training={**LONG, "checkpoint_every": 20})
    process = dnn_process(in_tmp, "train", "--config", config, "--quiet")
    folder = in_tmp / "runs" / "t" / "1"
    try:
        wait_for(lambda: (folder / "checkpoint.npz").exists())
        before = (folder / "config.yaml").read_bytes()
        result = dnn("train", "--resume", folder, "--set", "training.iterations=2000000", "--quiet")
        assert result.exit_code == 2
        assert result.stderr == (
            f"Error: {folder}: in use by process {process.pid} on {listing.socket.gethostname()} (dnn train); "
            "wait for it to end, or stop it first\n"
        )
        assert (folder / "config.yaml").read_bytes() == before
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)
        assert process.returncode == 130
    finally:
        stop(process)
    longer = f"training.iterations={metrics_of(folder)['iterations_done'] + 2}"
    resumed = dnn("train", "--resume", folder, "--set", longer, "--quiet")
    assert resumed.exit_code == 0, resumed.output  # the lock went with its process


# --- divergence -------------------------------------------------------------------


def test_a_cost_far_above_its_start_stops_the_run(in_tmp, demo_data, dnn):
    # leaky ReLU at 0.5: the cost goes from 0.699 to about 27,000 and stays finite, so no nan check sees it
    training = {"learning_rate": 0.5, "iterations": 40, "log_every": 1, "checkpoint_every": 1}
    model = {"layers": [12288, 4, 1], "activation": "leaky_relu"}
    config = write_config(in_tmp / "c.yaml", demo_data, model=model, training=training)
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 1, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: training.learning_rate: the cost ") and "(training.divergence)" in line
    assert "try 0.05" in line and "the last good checkpoint, if any, is kept" in line
    iteration = int(line.split("at iteration ")[1].split(";")[0])
    folder = in_tmp / "runs" / "t" / "1"
    metrics = metrics_of(folder)
    assert metrics["status"] == "failed" and f"at iteration {iteration}" in metrics["error"]
    assert metrics["costs"][0]["cost"] < 1 and np.isfinite(metrics["costs"][-1]["cost"])
    assert checkpoint.load(folder / "checkpoint.npz").iteration == iteration
    unlimited = dnn("train", "--config", config, "--quiet", "--set", "training.divergence=null")
    # not stopped, it trains to the end, where an output the same for every example fails it as having learned nothing
    assert unlimited.exit_code == 1 and "Error: the model learned nothing" in unlimited.stderr, unlimited.output
    assert metrics_of(in_tmp / "runs" / "t" / "2")["iterations_done"] == 40
    assert dnn("check", "--config", config, "--set", "training.divergence=1").exit_code == 2


# --- resume on other data ---------------------------------------------------------


@pytest.mark.parametrize("fast_path", ["on", "off"])
def test_resume_refuses_a_replaced_training_set(in_tmp, demo_data, dnn, fast_path):
    data = in_tmp / "data"
    shutil.copytree(demo_data, data)
    training = {**SHORT, "fast_path": fast_path}
    config = write_config(in_tmp / "c.yaml", data, model=TINY, training=training)
    _, folder = train_quietly(dnn, config)
    recorded = checkpoint.load(folder / "checkpoint.npz").header["data"]
    assert recorded["path"] == str(data / "train.h5") and recorded["examples"] == 300
    assert recorded["size"] == (data / "train.h5").stat().st_size and len(recorded["fingerprint"]) == 16
    with h5py.File(data / "train.h5", "a") as f:  # same size and shape, one label changed
        labels, pictures = f["train_set_y"][()], f["train_set_x"][()]
        labels[7] = 1 - labels[7]
        f["train_set_y"][...] = labels
    more = ("--set", "training.iterations=20", "--quiet")
    result = dnn("train", "--resume", folder, *more)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {data / 'train.h5'}: not the training set this run began on")
    assert "300 examples" in result.stderr and "put the original back, or start a new run" in result.stderr
    write_hdf5(data / "train.h5", "train", pictures[:250], labels[:250], ["plain", "shape"])  # fewer examples
    result = dnn("train", "--resume", folder, *more)
    assert result.exit_code == 2 and "now has 250 examples" in result.stderr, result.output
    shutil.copy(demo_data / "train.h5", data / "train.h5")
    assert dnn("train", "--resume", folder, *more).exit_code == 0


# --- messages ---------------------------------------------------------------------


def test_predict_names_its_model_and_warns_for_an_unfinished_run(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT)
    _, folder = train_quietly(dnn, config)
    picture = demo_data / "samples" / "shape-2.png"
    result = dnn("predict", picture)
    assert result.exit_code == 0
    assert result.stderr == f"model: {folder / 'checkpoint.npz'} (iteration 10)\n"
    metrics = metrics_of(folder)
    metrics.update(status="interrupted", iterations_done=4)
    (folder / "metrics.json").write_text(json.dumps(metrics))
    result = dnn("predict", picture, "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)["path"] == str(picture)
    assert result.stderr.splitlines()[1] == (
        f"Warning: {folder} is a run that has not finished (interrupted at iteration 4 of 10): its model is not fully trained"
    )


def test_predict_gives_each_failure_a_json_record_and_ends_with_a_summary(in_tmp, demo_data, dnn):
    train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    (in_tmp / "notes.png").write_text("not a picture")
    good = demo_data / "samples" / "plain-1.jpg"
    result = dnn("predict", "notes.png", good, "missing.jpg", "--json")
    assert result.exit_code == 2
    records = {r["path"]: r for r in map(json.loads, result.stdout.splitlines())}
    assert sorted(records) == sorted(["notes.png", str(good), "missing.jpg"])
    assert records["notes.png"]["error"].startswith("not a picture")
    assert records["missing.jpg"] == {"path": "missing.jpg", "error": "no such file"}
    assert "class" in records[str(good)] and "error" not in records[str(good)]
    assert result.stderr.splitlines()[-1] == "1 of 3 pictures classified, 2 problems above"


PRINTING = [
    ("check", "--config", "{config}"),
    ("config", "show", "--config", "{config}"),
    ("init-config", "{tmp}/new.yaml"),
    ("summary", "--config", "{config}"),
    ("gradcheck", "--config", "{config}", "--examples", "1", "--entries", "2"),
    ("train", "--config", "{config}", "--quiet"),
    ("train", "--config", "{config}", "--progress", "jsonl"),
    ("evaluate", "--run", "{run}"),
    ("evaluate", "--run", "{run}", "--json", "-"),
    ("predict", "{data}/samples", "--run", "{run}"),
    ("runs",),
    ("data", "info", "{data}/train.h5"),
    ("data", "demo", "--out", "{tmp}/demo"),
    ("--help",),
]


@pytest.fixture(scope="module")
def pipe_setup(tmp_path_factory, demo_data):
    root = tmp_path_factory.mktemp("pipe")
    config = write_config(root / "c.yaml", demo_data, model=TINY, training=SHORT)
    return {"config": config, "run": train_run(root, config), "data": demo_data, "tmp": root}


@pytest.mark.parametrize("command", PRINTING, ids=lambda c: " ".join(c[:2]))
def test_a_closed_pipe_ends_every_command_quietly_with_141(pipe_setup, command):
    args = [part.format(**pipe_setup) for part in command]
    read, write = os.pipe()
    os.close(read)  # the reader is gone before the first line: `dnn ... | head -0`
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dnncli", *args],
            cwd=pipe_setup["tmp"],
            stdout=write,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
    finally:
        os.close(write)
    assert done.returncode == 141, done.stderr
    assert "Error" not in done.stderr and "Traceback" not in done.stderr and "Exception" not in done.stderr


# --- conveniences -----------------------------------------------------------------


def test_dnn_runs_is_where_every_command_finds_runs(in_tmp, demo_data, dnn):
    shared = in_tmp / "shared-runs"
    env = {"DNN_RUNS": str(shared)}
    config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT)
    shown = dnn("config", "show", "--config", config, env=env)
    assert f"dir: {shared}" in shown.stdout
    trained = dnn("train", "--config", config, "--quiet", env=env)
    assert trained.exit_code == 0 and trained.stdout.strip() == str(shared / "t" / "1")
    assert not Path("runs").exists()
    listed = dnn("runs", "--json", env=env)
    assert [row["run"] for row in json.loads(listed.stdout)] == [str(shared / "t" / "1")]
    assert dnn("evaluate", "--json", "-", env=env).exit_code == 0
    assert dnn("predict", demo_data / "samples", env=env).exit_code == 0
    assert dnn("summary", env=env).exit_code == 0
    assert dnn("evaluate").exit_code == 2  # without it, runs/ here, which has none
    named = dnn("train", "--config", config, "--quiet", "--set", "output.dir=mine", env=env)
    assert named.stdout.strip() == "mine/t/1"  # a config that names its folder keeps it
    assert dnn("init-config", env=env).exit_code == 0
    assert dnn("config", "show", "--config", "dnn.yaml", env=env).stdout.count(f"dir: {shared}") == 1


def test_data_classes_orders_a_folder_set(in_tmp, demo_data, dnn):
    from test_folders import write_picture_folder

    photos = write_picture_folder(in_tmp / "photos", demo_data, broken=False)
    data = {"format": "folder", "train": str(photos / "train"), "test": str(photos / "test")}
    config = write_config(in_tmp / "c.yaml", demo_data, data=data, model=TINY, training=SHORT)
    _, sorted_run = train_quietly(dnn, config)
    _, ordered = train_quietly(dnn, config, "--set", "data.classes=[shape, plain]")
    assert checkpoint.load(sorted_run / "checkpoint.npz").classes == ["plain", "shape"]
    assert checkpoint.load(ordered / "checkpoint.npz").classes == ["shape", "plain"]
    report = json.loads(dnn("evaluate", "--run", ordered, "--data", photos / "test", "--json", "-").stdout)
    assert report["classes"] == ["shape", "plain"]
    assert report["counts"] == {"shape": 50, "plain": 50}
    assert report["accuracy"] == metrics_of(ordered)["test"]["accuracy"]  # the labels mean what training meant
    for value, message in (
        ("[shape, circle]", "no folder for circle; plain not named"),
        ("[shape, shape]", "must name each class once"),
    ):
        result = dnn("train", "--config", config, "--set", f"data.classes={value}")
        assert result.exit_code == 2 and message in result.stderr, result.stderr
    hdf5 = write_config(in_tmp / "h.yaml", demo_data, model=TINY, training=SHORT, data={"classes": ["shape", "plain"]})
    result = dnn("check", "--config", hdf5)
    assert result.exit_code == 2 and "data.classes: orders the class folders of a folder set" in result.stderr


def test_completion_offers_config_keys_after_set(dnn):
    def complete(words):
        env = {"_DNN_COMPLETE": "bash_complete", "COMP_WORDS": words, "COMP_CWORD": str(len(words.split()) - 1)}
        return dnn(env=env, prog_name="dnn").stdout.splitlines()

    assert complete("dnn train --set training.lea") == ["plain,training.learning_rate="]
    offered = complete("dnn check --config c.yaml --set data.")
    assert "plain,data.train=" in offered and "plain,data.classes=" in offered
    assert complete("dnn train --set training.learning_rate=0") in ([], [""])  # a value: nothing to offer


def test_a_run_from_before_the_new_keys_still_resumes(in_tmp, demo_data, dnn):
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    saved = checkpoint.load(folder / "checkpoint.npz")
    header = dict(saved.header)
    del header["data"]  # no data identity recorded yet
    for line in ("  divergence: 100.0\n", "  classes: null\n"):
        assert line in header["config"]
        header["config"] = header["config"].replace(line, "")
        (folder / "config.yaml").write_text((folder / "config.yaml").read_text().replace(line, ""))
    checkpoint.save(folder / "checkpoint.npz", header, saved.params, saved.state, saved.arrays)
    result = dnn("train", "--resume", folder, "--set", "training.iterations=12", "--quiet")
    assert result.exit_code == 0, result.output


# --- paths a user gives that the system refuses ------------------------------------

TOO_LONG = "x" * 300  # one component over the 255 characters a file name may have


@pytest.mark.parametrize(
    "command",
    [
        ("evaluate", "--run", TOO_LONG),
        ("evaluate", "--run", "{run}", "--data", TOO_LONG),
        ("predict", TOO_LONG, "--run", "{run}"),
        ("report", TOO_LONG),
        ("report", "{run}", "--out", TOO_LONG),
        ("plot", TOO_LONG),
        ("runs", TOO_LONG),
        ("summary", "--run", TOO_LONG),
        ("export", "--run", "{run}", "--out", TOO_LONG),
        ("data", "info", TOO_LONG),
        ("serve", "--run", TOO_LONG),
    ],
    ids=lambda c: " ".join(p for p in c if p not in (TOO_LONG, "{run}")),
)
def test_a_file_name_too_long_is_a_user_error_naming_it(pipe_setup, dnn, command):
    result = dnn(*(part.format(**pipe_setup) for part in command))
    assert result.exit_code == 2, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: ") and TOO_LONG in line and line.endswith(": File name too long"), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc, where no file can be made")
def test_an_output_where_no_file_can_be_made_is_a_user_error(pipe_setup, dnn):
    result = dnn("export", "--run", pipe_setup["run"], "--out", "/proc/m.onnx")
    assert result.exit_code == 2, result.output
    assert result.stderr == "Error: /proc/m.onnx: No such file or directory\n"


@pytest.mark.parametrize(
    "command",
    [  # each with an input that would fail later, so the output's line shows it was checked first
        ("lr-find", "--config", "{tmp}/no-config.yaml", "--out", "{out}.json"),
        ("report", "{tmp}/empty", "--out", "{out}.html"),
        ("plot", "{tmp}/empty", "--out", "{out}.png"),
        ("export", "--checkpoint", "{tmp}/no.npz", "--out", "{out}.onnx"),
        ("evaluate", "--checkpoint", "{tmp}/no.npz", "--json", "{out}.json"),
        ("data", "import", "{tmp}/empty", "--out", "{out}.h5"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_an_output_in_a_missing_folder_fails_before_any_work(pipe_setup, dnn, command):
    (pipe_setup["tmp"] / "empty").mkdir(exist_ok=True)
    out = pipe_setup["tmp"] / "missing" / "x"
    result = dnn(*(part.format(out=out, **pipe_setup) for part in command))
    assert result.exit_code == 2, result.output
    suffix = command[-1].removeprefix("{out}")
    assert result.stderr == f"Error: {out}{suffix}: the folder {out.parent} does not exist\n"


def test_the_demo_set_is_not_written_into_a_folder_named_like_its_files(in_tmp, dnn):
    Path("demo/test.h5").mkdir(parents=True)
    result = dnn("data", "demo", "--out", "demo")
    assert result.exit_code == 2 and "demo/test.h5: is a folder, not a regular file" in result.stderr
    assert not Path("demo/train.h5").exists()  # refused before anything was written


@pytest.mark.parametrize(
    "number, filename, exit_code",
    [
        (errno.ENAMETOOLONG, "a", 2),
        (errno.EACCES, "a", 2),
        (errno.EROFS, "a", 2),
        (errno.EBUSY, ".", 2),
        (errno.EACCES, None, 1),  # no path: nothing the user named
        (errno.ENOSPC, "a", 1),  # a full disk is no one's mistake
        (errno.EIO, "a", 1),
    ],
)
def test_an_os_error_is_the_user_s_when_it_names_a_path_it_comes_from(number, filename, exit_code):
    error = os_error_exception(OSError(number, os.strerror(number), filename))
    assert error.exit_code == exit_code
    assert error.message == (f"{filename}: " if filename else "") + os.strerror(number)
