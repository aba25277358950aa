"""A run is never lost: interrupts, resume, kills, divergence, a full disk, foreign checkpoints."""

import json
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import STATEFUL, arrays, assert_same_run, write_config
from dnncli.errors import UserError
from dnncli.model import checkpoint

FAST = {"learning_rate": 0.01, "iterations": 60, "optimizer": "momentum", "l2": 0.2, "log_every": 5}


def dnn_process(cwd, *args):
    command = [sys.executable, "-m", "dnncli", *map(str, args)]
    return subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def last_line(text):
    return Path(text.strip().splitlines()[-1])


@pytest.mark.parametrize("training", [STATEFUL, FAST], ids=["adam-minibatch-dropout", "fast-path-momentum"])
def test_interrupted_and_resumed_equals_uninterrupted(in_tmp, demo_data, dnn, training):
    config = write_config(in_tmp / "c.yaml", demo_data, training=training)
    whole = last_line(dnn("train", "--config", config, "--quiet").stdout)
    # stop after 23 iterations with SIGINT in a real process, then resume
    slow = write_config(in_tmp / "slow.yaml", demo_data, training={**training, "iterations": 100000})
    process = dnn_process(in_tmp, "train", "--config", slow, "--progress", "jsonl")
    for line in process.stdout:
        event = json.loads(line)
        if event.get("iteration", 0) >= 20:
            process.send_signal(signal.SIGINT)
            break
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "Interrupted by SIGINT" in err and "dnn train --resume" in err
    folder = last_line(out)
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "interrupted"
    stopped_at = metrics["iterations_done"]
    assert checkpoint.load(folder / "checkpoint.npz").iteration == stopped_at >= 21
    resumed = dnn("train", "--resume", folder, "--set", "training.iterations=60", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((folder / "metrics.json").read_text())["status"] == "finished"
    assert_same_run(whole, folder)


def test_resume_a_shorter_run_to_a_longer_length(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training=STATEFUL)
    whole = last_line(dnn("train", "--config", config, "--quiet").stdout)
    short = last_line(dnn("train", "--config", config, "--set", "training.iterations=30", "--quiet").stdout)
    result = dnn("train", "--resume", short, "--set", "training.iterations=60", "--quiet")
    assert result.exit_code == 0, result.output
    for name, value in arrays(whole / "checkpoint.npz").items():
        assert np.array_equal(value, arrays(short / "checkpoint.npz")[name]), name
    assert "iterations: 60" in (short / "config.yaml").read_text()


def test_resume_refuses_a_changed_config(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    folder = last_line(dnn("train", "--config", config, "--quiet").stdout)
    result = dnn("train", "--resume", folder, "--set", "training.learning_rate=0.5", "--set", "seed=3")
    assert result.exit_code == 2
    assert "differs from the run's own in seed, training.learning_rate" in result.stderr
    shorter = dnn("train", "--resume", folder, "--set", "training.iterations=10")
    assert shorter.exit_code == 2 and "already at iteration 30" in shorter.stderr


def test_resume_without_a_usable_checkpoint(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    folder = last_line(dnn("train", "--config", config, "--quiet").stdout)
    before = (folder / "metrics.json").read_text()
    (folder / "checkpoint.npz").write_bytes(b"PK\x03\x04 torn")
    result = dnn("train", "--resume", folder)
    assert result.exit_code == 2 and "not a readable dnn checkpoint" in result.stderr
    (folder / "checkpoint.npz").unlink()
    result = dnn("train", "--resume", folder)
    assert result.exit_code == 2 and "no checkpoint.npz to resume from" in result.stderr
    assert (folder / "metrics.json").read_text() == before
    assert (
        dnn("train", "--resume", in_tmp / "nowhere").stderr.strip()
        == f"Error: {in_tmp / 'nowhere'}: no such run folder"
    )


def wait_for(path, timeout=60):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def test_sigkill_at_random_moments_never_leaves_a_torn_file(in_tmp, demo_data):
    # a checkpoint every iteration, so the kills land in the middle of writes too
    training = {"learning_rate": 0.001, "iterations": 100000, "batch_size": 64, "checkpoint_every": 1, "log_every": 1}
    config = write_config(in_tmp / "c.yaml", demo_data, training=training)
    rng = random.Random(7)
    for attempt in range(1, 9):
        folder = in_tmp / "runs" / "t" / str(attempt)
        process = dnn_process(in_tmp, "train", "--config", config, "--quiet")
        wait_for(folder / "checkpoint.npz")
        time.sleep(rng.uniform(0, 0.5))
        process.kill()
        process.wait()
        saved = checkpoint.load(folder / "checkpoint.npz")
        assert saved.iteration >= 1 and np.all(np.isfinite(saved.params["W1"]))
        metrics = json.loads((folder / "metrics.json").read_text())
        assert metrics["status"] == "running"
        assert (in_tmp / "runs" / "latest").read_text().strip() == f"t/{attempt}"


def test_runs_tells_a_killed_run_from_a_running_one(in_tmp, demo_data, dnn):
    training = {"learning_rate": 0.001, "iterations": 100000, "batch_size": 64, "checkpoint_every": 1}
    config = write_config(in_tmp / "c.yaml", demo_data, training=training)
    process = dnn_process(in_tmp, "train", "--config", config, "--quiet")
    wait_for(in_tmp / "runs" / "t" / "1" / "metrics.json")

    def status():
        result = dnn("runs", "--json")
        assert result.exit_code == 0, result.output
        (row,) = json.loads(result.stdout)
        return row["status"]

    assert status() == "running"
    process.kill()
    process.wait()
    assert json.loads((in_tmp / "runs" / "t" / "1" / "metrics.json").read_text())["status"] == "running"
    assert status() == "killed"


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(in_tmp, demo_data, dnn):
    training = {"learning_rate": 1e100, "iterations": 50, "checkpoint_every": 1}
    model = {"layers": [12288, 4, 1], "activation": "leaky_relu"}
    config = write_config(in_tmp / "c.yaml", demo_data, model=model, training=training)
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 1, result.output
    assert "Warning" not in result.stderr and "RuntimeWarning" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: training.learning_rate: ") and "try 1e+99" in line
    iteration = int(line.split("at iteration ")[1].split(";")[0])
    folder = in_tmp / "runs" / "t" / "1"
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["status"] == "failed" and f"at iteration {iteration}" in metrics["error"]
    if iteration > 0:
        saved = checkpoint.load(folder / "checkpoint.npz")
        assert saved.iteration == iteration
        assert all(np.all(np.isfinite(p)) for p in saved.params.values())


def limit_file_size(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_failing_write_keeps_the_previous_checkpoint(in_tmp, demo_data):
    training = {"learning_rate": 0.01, "iterations": 5, "log_every": 1, "checkpoint_every": 5}
    config = write_config(in_tmp / "c.yaml", demo_data, model={"layers": [12288, 2, 1]}, training=training)
    first = subprocess.run([sys.executable, "-m", "dnncli", "train", "--config", config, "--quiet"], cwd=in_tmp)
    assert first.returncode == 0
    size = (in_tmp / "runs" / "t" / "1" / "checkpoint.npz").stat().st_size
    # the checkpoint grows with the cost history: the one at iteration 5 fits, the one at 10 does not
    longer = [sys.executable, "-m", "dnncli", "train", "--config", config, "--quiet", "--set", "training.iterations=50"]
    run = subprocess.run(longer, cwd=in_tmp, capture_output=True, text=True, preexec_fn=limit_file_size(size + 100))
    assert run.returncode == 1, run.stderr
    assert "checkpoint.npz: cannot save (File too large); the previous one, if any, is kept" in run.stderr
    assert "Traceback" not in run.stderr
    folder = in_tmp / "runs" / "t" / "2"
    assert checkpoint.load(folder / "checkpoint.npz").iteration == 5
    assert json.loads((folder / "metrics.json").read_text())["status"] == "failed"
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def save_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def good_checkpoint(tmp_path):
    from dnncli.engine import Network, initialize

    net = Network((12, 3, 1), ("relu",))
    header = checkpoint.make_header(net, ["no", "yes"], (2, 2, 3), 255.0, "float64", 4)
    params = initialize(net.layers, "he", 0)
    return header, params


def header_array(header):
    return np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)


@pytest.mark.parametrize(
    "change,message",
    [
        (
            lambda h, p: p.update(W1=np.array([object()] * 36, dtype=object).reshape(3, 12)),
            "Object arrays cannot be loaded",
        ),
        (lambda h, p: p.update(W2=np.zeros((1, 4))), "array W2 has shape (1, 4), layer sizes need (1, 3)"),
        (lambda h, p: p.pop("b2"), "array b2 is missing"),
        (lambda h, p: p.update(W1=p["W1"].astype(np.float32)), "array W1 is float32, the header says float64"),
        (lambda h, p: p.update(W1=np.full((3, 12), np.nan)), "array W1 holds nan or inf"),
        (lambda h, p: h.update(version=99), "checkpoint format version 99"),
        (lambda h, p: h.update(format="pytorch"), "not a dnn checkpoint"),
        (lambda h, p: h.update(layers=[12, -3, 1]), "header field 'layers'"),
        (lambda h, p: h.update(activations=["gelu"]), "header field 'activations'"),
        (lambda h, p: h.update(input_shape=[64, 64, 3]), "header field 'input_shape'"),
        (lambda h, p: h.update(classes=["only"]), "header field 'classes'"),
        (lambda h, p: h.update(scaling={"divide_by": "__import__('os')"}), "header field 'scaling'"),
        (lambda h, p: p.update(extra=np.zeros(2)), "holds an array 'extra', which no checkpoint of this network has"),
    ],
)
def test_crafted_checkpoints_are_refused(tmp_path, change, message):
    header, params = good_checkpoint(tmp_path)
    change(header, params)
    path = tmp_path / "c.npz"
    save_npz(path, header=header_array(header), **params)
    with pytest.raises(UserError) as error:
        checkpoint.load(path)
    assert message in error.value.message and str(path) in error.value.message


def test_not_a_checkpoint_at_all(tmp_path):
    for content in (b"", b"hello", b"PK\x03\x04" + bytes(40)):
        path = tmp_path / "c.npz"
        path.write_bytes(content)
        with pytest.raises(UserError, match="not a readable dnn checkpoint"):
            checkpoint.load(path)
    save_npz(tmp_path / "plain.npz", W1=np.zeros(3))
    with pytest.raises(UserError, match="no header"):
        checkpoint.load(tmp_path / "plain.npz")


def test_sigterm_saves_and_exits_130(in_tmp, demo_data):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"iterations": 10**6, "log_every": 50})
    process = dnn_process(in_tmp, "train", "--config", config, "--progress", "jsonl")
    for line in process.stdout:
        if json.loads(line).get("iteration", 0) >= 100:
            process.send_signal(signal.SIGTERM)
            break
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Interrupted by SIGTERM" in err
    folder = last_line(out)
    assert checkpoint.load(folder / "checkpoint.npz").iteration > 100
    assert json.loads((folder / "metrics.json").read_text())["status"] == "interrupted"


def test_debug_shows_the_traceback(in_tmp, dnn):
    plain = dnn("train", "--config", in_tmp / "missing.yaml")
    assert plain.exit_code == 2 and "Traceback" not in plain.stderr
    debug = dnn("--debug", "train", "--config", in_tmp / "missing.yaml")
    assert debug.exit_code == 2 and "Traceback" in debug.stderr and "missing.yaml: no such config file" in debug.stderr
    env = dnn("train", "--config", in_tmp / "missing.yaml", env={"DNN_DEBUG": "1"})
    assert "Traceback" in env.stderr
