"""`dnn sweep`: the sweep file checked up front, trials drawn from the seed, the same metrics on 1 worker, 2
workers and a Dask cluster, successive halving, failed trials, Ctrl-C and SIGKILL then --resume, the index
and the table."""

import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import arrays, write_config
from dnncli.sweep.spec import read_sweep
from dnncli.sweep.trials import draw_trials

DNN = [sys.executable, "-m", "dnncli"]
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def sweep_file(folder, demo_data, **changes):
    """A small sweep over the demo data: 4 random trials of 40 iterations, validation_cost."""
    base = write_config(
        folder / "base.yaml",
        demo_data,
        training={"learning_rate": 0.01, "iterations": 40, "log_every": 10, "validation_fraction": 0.2},
    )
    spec = {
        "config": base.name,
        "name": "s",
        "metric": "validation_cost",
        "method": "random",
        "trials": 4,
        "seed": 3,
        "parameters": {
            "training.learning_rate": {"log_uniform": [1.0e-3, 1.0e-1]},
            "training.l2": {"uniform": [0.0, 1.0]},
            "model.layers": {"choice": [[12288, 8, 4, 1], [12288, 6, 1]]},
        },
        "dir": str(folder / "sweeps"),
        **changes,
    }
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def last_line(result):
    return Path(result.stdout.strip().splitlines()[-1])


def table_rows(text):
    """The rows of a sweep's table, cell by cell, and the best trial's folder name."""
    lines = text.strip().splitlines()
    return [line.split() for line in lines if line.strip().startswith("trial-")], Path(lines[-1]).name


def index_of(folder):
    return json.loads((Path(folder) / "sweep.json").read_text())


def outcome(folder):
    """What must not depend on how the sweep ran: per trial, values, seed, status, metric, iterations."""
    keys = ("trial", "values", "seed", "status", "metric", "iterations_done", "rung")
    return [{k: row[k] for k in keys} for row in index_of(folder)["trials"]]


def assert_same_trials(a, b):
    assert outcome(a) == outcome(b)
    for row in index_of(a)["trials"]:
        if row["status"] in ("finished", "pruned"):
            first, second = arrays(a / row["folder"] / "checkpoint.npz"), arrays(b / row["folder"] / "checkpoint.npz")
            assert all(np.array_equal(first[k], second[k]) for k in first), row["folder"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo_data):
    """The sweep run straight through on one local worker: its folder."""
    from click.testing import CliRunner

    from dnncli.cli import main

    root = tmp_path_factory.mktemp("reference")
    result = CliRunner().invoke(main, ["sweep", str(sweep_file(root, demo_data)), "--workers", "1"])
    assert result.exit_code == 0, result.output
    return last_line(result).parent


# --- the sweep file ---------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"metrc": "validation_cost"}, "metrc: unknown key (did you mean 'metric'?)"),
        (
            {"parameters": {"training.learning_rat": {"uniform": [0.1, 0.2]}}},
            "training.learning_rat: unknown key (did you mean 'training.learning_rate'?)",
        ),
        (
            {"parameters": {"training.l2": {"unifrom": [0, 1]}}},
            "unknown distribution 'unifrom' (did you mean 'uniform'?)",
        ),
        ({"parameters": {"training.l2": {"uniform": [1, 0]}}}, "uniform needs low <= high"),
        ({"method": "grid"}, "a grid takes choice or int_uniform, not log_uniform"),
        ({"metric": "test_cost", "trials": None}, "trials: missing"),
        ({"metric": "validation_acc"}, "metric: must be one of"),
        ({"halving": {"rungs": [20, 10]}}, "halving.rungs: must grow from rung to rung"),
        ({"config": "nowhere.yaml"}, "nowhere.yaml does not exist"),
        # sizes that would hang or exhaust memory before any trial, and bounds NumPy cannot draw from
        ({"trials": 10**12}, "trials: must be at most 10000, got 1000000000000"),
        (
            {"method": "grid", "parameters": {"seed": {"int_uniform": [0, 10**12]}}},
            "parameters: a grid of 1000000000001 combinations; at most 10000 trials",
        ),
        (
            {"parameters": {"seed": {"int_uniform": [0, 2**70]}}},
            "int_uniform bounds must be at most 4611686018427387904",
        ),
        ({"parameters": {"training.l2": {"uniform": [-1e308, 1e308]}}}, "uniform spans more than a float holds"),
        ({"parameters": {"training.l2": {"choice": list(range(1001))}}}, "choice takes at most 1000 values, got 1001"),
        ({"parameters": {"": {"choice": [0.1]}}}, "parameters: '' is not a config key"),
        (
            {"parameters": {"training.learning_rate": {"choice": ["fast"]}}},
            "no trial makes a valid config; trial-001: ",
        ),
        # keys whose values the trials would record and never use
        ({"parameters": {"name": {"choice": ["a", "b"]}}}, "parameters.name: a trial cannot vary it (every trial"),
        ({"parameters": {"output.dir": {"choice": ["a"]}}}, "parameters.output.dir: a trial cannot vary it (a trial's"),
        (
            {"parameters": {"training.iterations": {"int_uniform": [5, 9]}}, "halving": {"rungs": [10, 20]}},
            "parameters.training.iterations: a trial cannot vary it (halving.rungs set each trial's length)",
        ),
    ],
)
def test_a_bad_sweep_file_is_one_line_before_any_trial(dnn, in_tmp, demo_data, changes, message):
    result = dnn("sweep", sweep_file(in_tmp, demo_data, **changes))
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (in_tmp / "sweeps").exists()


def test_missing_data_of_the_base_config_is_one_line_before_any_trial(dnn, in_tmp, demo_data):
    path = sweep_file(in_tmp, demo_data)
    result = dnn("sweep", path, "--set", f"data.test={in_tmp / 'gone.h5'}")
    assert result.exit_code == 2
    assert (
        result.stderr.strip() == f"Error: {in_tmp / 'gone.h5'}: no such data file (data.test of {in_tmp / 'base.yaml'})"
    )
    assert not (in_tmp / "sweeps").exists()


def test_a_sweep_where_no_trial_finishes_exits_2(dnn, in_tmp, demo_data):
    parameters = {"training.learning_rate": {"choice": [1.0e6]}}  # every trial diverges at its first update
    result = dnn("sweep", sweep_file(in_tmp, demo_data, trials=2, parameters=parameters), "--workers", "1")
    assert result.exit_code == 2, result.output
    folder = in_tmp / "sweeps" / "s" / "1"
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {folder}: no trial finished; each failed for the reason listed above"
    )
    assert [row["status"] for row in index_of(folder)["trials"]] == ["failed", "failed"]
    assert "probably too high" in result.stdout


def test_a_validation_metric_needs_a_validation_set(dnn, in_tmp, demo_data):
    path = sweep_file(in_tmp, demo_data)
    result = dnn("sweep", path, "--set", "training.validation_fraction=0")
    assert result.exit_code == 2
    assert "validation_cost needs a validation set" in result.stderr


def test_trials_are_drawn_from_the_seed_alone(in_tmp, demo_data):
    path = sweep_file(in_tmp, demo_data, trials=6)
    first, second = draw_trials(read_sweep(path)), draw_trials(read_sweep(path))
    assert first == second
    assert len({t.seed for t in first}) == 6
    assert all(1e-3 <= t.values["training.learning_rate"] <= 1e-1 for t in first)
    other = draw_trials(read_sweep(sweep_file(in_tmp, demo_data, trials=6, seed=4)))
    assert [t.values for t in other] != [t.values for t in first]


def test_a_grid_takes_every_combination(in_tmp, demo_data):
    parameters = {"training.l2": {"choice": [0.0, 0.5, 1.0]}, "training.log_every": {"int_uniform": [9, 10]}}
    trials = draw_trials(read_sweep(sweep_file(in_tmp, demo_data, method="grid", parameters=parameters)))
    assert [tuple(t.values.values()) for t in trials] == [(a, b) for a in (0.0, 0.5, 1.0) for b in (9, 10)]


# --- running it -------------------------------------------------------------------


def test_two_workers_give_the_one_worker_results(dnn, in_tmp, demo_data, reference):
    result = dnn("sweep", sweep_file(in_tmp, demo_data), "--workers", "2", "--set", "training.log_every=10")
    assert result.exit_code == 0, result.output
    folder = last_line(result).parent
    assert_same_trials(reference, folder)
    index = index_of(folder)
    assert {row["status"] for row in index["trials"]} == {"finished"}
    best = min(index["trials"], key=lambda row: row["metric"])
    assert last_line(result) == folder / best["folder"]
    trial = folder / best["folder"]  # an ordinary run folder
    assert {"config.yaml", "checkpoint.npz", "best.npz", "metrics.json"} <= {p.name for p in trial.iterdir()}
    evaluated = dnn("evaluate", "--run", trial)
    assert evaluated.exit_code == 0, evaluated.output


def test_the_table_and_the_json_of_a_sweep_folder(dnn, reference, tmp_path):
    table = dnn("runs", reference)
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    index = index_of(reference)
    ranked = sorted(index["trials"], key=lambda row: row["metric"])
    rows = [line for line in lines if line.strip().startswith("trial-")]
    assert [line.split()[0] for line in rows] == [row["folder"] for row in ranked]
    assert "learning_rate" in table.stdout and "layers" in table.stdout
    assert Path(lines[-1]) == reference / ranked[0]["folder"]
    listed = json.loads(dnn("runs", reference, "--json").stdout)
    assert [row["trial"] for row in listed["trials"]] == [row["trial"] for row in ranked]
    assert listed["best"] == str(reference / ranked[0]["folder"])
    picture = dnn("plot", reference, "--out", tmp_path / "sweep.png")
    assert picture.exit_code == 0, picture.output
    assert (tmp_path / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_of_a_sweep_folder(dnn, reference, tmp_path):
    from test_report import assert_self_contained, picture_sources, section_ids

    out = tmp_path / "sweep.html"
    result = dnn("report", reference, "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == str(out)
    page = out.read_text()
    assert section_ids(page) == ["sweep"]
    assert_self_contained(page)
    index = index_of(reference)
    ranked = sorted(index["trials"], key=lambda row: row["metric"])
    shown = re.findall(r'<td><a href="sweep-trials/(trial-\d+)\.html">(trial-\d+)</a></td>', page)
    assert shown == [(row["folder"], row["folder"]) for row in ranked]  # best first, each linked to its report
    best = re.findall(r'<tr class="best"><td>(\d+)<span class="badge">best</span></td><td><a [^>]*>([^<]*)</a>', page)
    assert best == [(str(ranked[0]["trial"]), ranked[0]["folder"])]  # one row marked: the best trial's
    # a learning curve of every trial (the cost, and the validation cost the metric needs), then the metric
    # against each parameter
    assert len(picture_sources(page)) == 2 + len(index["parameters"])
    assert sorted(p.name for p in (tmp_path / "sweep-trials").iterdir()) == sorted(
        f"{r['folder']}.html" for r in ranked
    )
    trial = (tmp_path / "sweep-trials" / f"{ranked[0]['folder']}.html").read_text()
    assert '<nav><a href="../sweep.html">the sweep</a>' in trial and str(reference / ranked[0]["folder"]) in trial
    assert_self_contained(trial)


def test_a_trial_that_fails_is_recorded_and_the_sweep_goes_on(dnn, in_tmp, demo_data):
    parameters = {
        "model.layers": {"choice": [[12288, 6, 1], [100, 6, 1], [12288, 6, 3]]},
        "training.optimizer": {"choice": ["gd", "adam"]},  # the fast path cannot serve Adam
    }
    path = sweep_file(in_tmp, demo_data, method="grid", parameters=parameters)
    result = dnn("sweep", path, "--workers", "2", "--set", "training.fast_path=on")
    assert result.exit_code == 0, result.output
    index = index_of(last_line(result).parent)
    trials = {(tuple(r["values"]["model.layers"]), r["values"]["training.optimizer"]): r for r in index["trials"]}
    assert trials[((12288, 6, 1), "gd")]["status"] == "finished"
    assert trials[((12288, 6, 1), "adam")]["status"] == "failed"
    assert "training.fast_path: 'on' cannot be served" in trials[((12288, 6, 1), "adam")]["error"]
    assert "12288" in trials[((100, 6, 1), "gd")]["error"]  # does not fit the data
    assert "the last size must equal the number of classes, 2, got 3" in trials[((12288, 6, 3), "gd")]["error"]
    assert len([line for line in result.stdout.splitlines() if line.startswith("* trial-")]) == 5
    assert last_line(result).name == trials[((12288, 6, 1), "gd")]["folder"]


def test_halving_prunes_and_a_continued_trial_is_the_trial_run_straight(dnn, in_tmp, demo_data):
    path = sweep_file(in_tmp, demo_data, halving={"rungs": [10, 40], "keep": 0.5})
    result = dnn("sweep", path, "--workers", "2")
    assert result.exit_code == 0, result.output
    folder = last_line(result).parent
    index = index_of(folder)
    statuses = sorted(row["status"] for row in index["trials"])
    assert statuses == ["finished", "finished", "pruned", "pruned"]
    pruned = [row for row in index["trials"] if row["status"] == "pruned"]
    finished = [row for row in index["trials"] if row["status"] == "finished"]
    assert all(row["iterations_done"] == 10 for row in pruned)
    assert all(row["iterations_done"] == 40 for row in finished)
    best = last_line(result)
    # with one BLAS thread, as every trial: one thread sums in one order
    straight = subprocess.run(
        [*DNN, "train", "--config", best / "config.yaml", "--quiet", "--set", f"output.dir={in_tmp / 'runs'}"],
        capture_output=True,
        text=True,
        env={**os.environ, **ONE_THREAD},
    )
    assert straight.returncode == 0, straight.stderr
    continued, once = arrays(best / "checkpoint.npz"), arrays(last_line(straight) / "checkpoint.npz")
    assert continued.keys() == once.keys()
    assert all(np.array_equal(continued[k], once[k]) for k in once)  # bit for bit


# --- faults -------------------------------------------------------------------------


def start_driver(*args):
    return subprocess.Popen(
        [*DNN, "sweep", *map(str, args), "--progress", "plain"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **ONE_THREAD},
    )


def wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def sweep_folder(root):
    folders = list((root / "sweeps" / "s").glob("*/sweep.json"))
    return folders[0].parent if folders else None


def running_after_one(root):
    """Whether one trial finished and the next is running."""
    folder = sweep_folder(root)
    statuses = [row["status"] for row in index_of(folder)["trials"]] if folder else []
    return "finished" in statuses and "running" in statuses


def finished_count(root):
    folder = sweep_folder(root)  # the index is written atomically: it is there whole or not at all
    return sum(row["status"] == "finished" for row in index_of(folder)["trials"]) if folder else 0


def children(pid):
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_then_resumed_ends_as_the_sweep_never_interrupted(dnn, in_tmp, demo_data, reference, how):
    driver = start_driver(sweep_file(in_tmp, demo_data), "--workers", "1")
    try:
        wait_for(lambda: running_after_one(in_tmp))
        driver.send_signal(how)
        out, err = driver.communicate(timeout=60)
    finally:
        driver.kill()
    folder = sweep_folder(in_tmp)
    kept = outcome(folder)
    if how == signal.SIGINT:
        assert driver.returncode == 130, err
        assert "--resume" in err
        assert Path(out.strip().splitlines()[-1]) == folder
        assert "running" not in {row["status"] for row in kept}
    else:
        assert driver.returncode == -signal.SIGKILL
        assert "killed" in [row[-1] for row in table_rows(dnn("runs", folder).stdout)[0]]
    assert 1 <= sum(row["status"] == "finished" for row in kept) < 4
    result = dnn("sweep", "--resume", folder, "--workers", "1")
    assert result.exit_code == 0, result.output
    assert_same_trials(reference, folder)
    assert table_rows(dnn("runs", folder).stdout) == table_rows(dnn("runs", reference).stdout)


def test_a_trial_whose_worker_dies_is_run_again(in_tmp, demo_data, reference):
    driver = start_driver(sweep_file(in_tmp, demo_data), "--workers", "1")
    try:
        wait_for(lambda: finished_count(in_tmp) >= 1)
        worker = wait_for(lambda: children(driver.pid))[0]
        os.kill(worker, signal.SIGKILL)
        out, err = driver.communicate(timeout=120)
    finally:
        driver.kill()
    assert driver.returncode == 0, err
    folder = sweep_folder(in_tmp)
    assert_same_trials(reference, folder)
    assert sum(row["attempts"] for row in index_of(folder)["trials"]) == 5


# --- a Dask cluster -------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def dask_processes(tmp_path, workers):
    """A Dask scheduler on 127.0.0.1 and ``workers`` workers of one thread: (address, [scheduler, *workers])."""
    pytest.importorskip("distributed")
    dask = Path(sys.executable).parent / "dask"
    if not dask.exists():
        pytest.skip("needs the dask command of the cluster extra")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, **ONE_THREAD}
    common = {"cwd": tmp_path, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **common)
    ]
    try:
        for _ in range(workers):
            processes.append(
                subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard", "--no-nanny"],
                    **common,
                )
            )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address, processes
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def dask_cluster(tmp_path):
    with dask_processes(tmp_path, 2) as (address, _):
        yield address


def test_a_dask_cluster_gives_the_local_results(dnn, in_tmp, demo_data, reference, dask_cluster):
    result = dnn("sweep", sweep_file(in_tmp, demo_data), "--address", dask_cluster, "--progress", "plain")
    assert result.exit_code == 0, result.output
    assert "(dask)" in result.stderr
    assert_same_trials(reference, last_line(result).parent)


@pytest.mark.parametrize(
    "killed, problem", [(1, "the scheduler has had no workers for 2 s"), (0, "lost the scheduler (no answer for 2 s)")]
)
def test_a_cluster_that_cannot_go_on_ends_the_sweep_within_the_timeout_and_keeps_the_trials(
    in_tmp, demo_data, killed, problem
):
    path = sweep_file(in_tmp, demo_data, trials=2)
    config = yaml.safe_load((in_tmp / "base.yaml").read_text())
    config["training"].update(iterations=10**7, log_every=10**6)  # trials that never end by themselves
    (in_tmp / "base.yaml").write_text(yaml.safe_dump(config))
    with dask_processes(in_tmp, 1) as (address, processes):
        driver = subprocess.Popen(
            [*DNN, "sweep", str(path), "--address", address, "--timeout", "2", "--progress", "plain"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            index = in_tmp / "sweeps" / "s" / "1" / "sweep.json"
            wait_for(lambda: index.exists() and "running" in index.read_text())
            processes[killed].kill()
            _, err = driver.communicate(timeout=120)
        finally:
            if driver.poll() is None:
                driver.kill()
    assert driver.returncode == 2, err
    assert err.splitlines()[-1] == (
        f"Error: --address {address}: {problem}; the unfinished trials are kept: `dnn sweep --resume {index.parent}`"
    )
    assert {row["status"] for row in json.loads(index.read_text())["trials"]} == {"pending"}


@pytest.mark.parametrize(
    "address, message",
    [
        ("scheduler", "not a scheduler address (missing port number in address 'scheduler'); give tcp://HOST:PORT"),
        ("tcp://127.0.0.1:99999", "the port must be 1 to 65535, got 99999"),
    ],
)
def test_a_malformed_scheduler_address_is_one_line_at_once_and_makes_no_sweep(in_tmp, demo_data, address, message):
    # in a process of its own: a Dask client left half made by such an address hung the exit for 40 s
    path = sweep_file(in_tmp, demo_data)
    result = subprocess.run(
        [*DNN, "sweep", str(path), "--address", address], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stderr == f"Error: --address {address}: {message}\n"
    assert not (in_tmp / "sweeps").exists()


class FakeScheduler:
    """A listener on 127.0.0.1 that is no Dask scheduler: ``silent`` accepts and never speaks, ``http`` answers
    what it is sent as a web server does, ``bytes`` sends random bytes at once; stopped by ``close``."""

    def __init__(self, kind):
        self.kind, self.connections = kind, []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"tcp://127.0.0.1:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed
            self.connections.append(connection)
            if self.kind == "bytes":
                connection.sendall(random.Random(1).randbytes(4096))
            elif self.kind == "http":
                threading.Thread(target=self.answer, args=(connection,), daemon=True).start()

    def answer(self, connection):
        with contextlib.suppress(OSError):
            if connection.recv(65536):
                connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    def close(self):
        self.listener.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.parametrize(
    "kind, answer",
    [
        ("silent", "said nothing in 0.6 s"),
        ("http", "answered 'HTTP/1.1 400 Bad Request' (a web server, such as a Dask dashboard, not its scheduler)"),
        ("bytes", "answered 80 bytes that are no Dask scheduler's greeting (f5 b1 65 22"),
    ],
)
def test_an_address_where_no_scheduler_answers_is_one_line_within_the_timeout(in_tmp, demo_data, kind, answer):
    pytest.importorskip("distributed")
    path = sweep_file(in_tmp, demo_data)
    server = FakeScheduler(kind)
    try:
        result = subprocess.run(
            [*DNN, "sweep", str(path), "--address", server.address, "--timeout", "0.6"],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.close()
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"Error: --address {server.address}: {answer}"), line
    assert line.endswith("; give the address of a Dask scheduler (tcp://HOST:8786)")
    assert not (in_tmp / "sweeps").exists()


def test_a_closed_port_and_timeout_without_address(in_tmp, demo_data, dnn):
    pytest.importorskip("distributed")
    path = sweep_file(in_tmp, demo_data)
    port = free_port()
    result = dnn("sweep", path, "--address", f"tcp://127.0.0.1:{port}", "--timeout", "0.5")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: --address tcp://127.0.0.1:{port}: cannot connect (Connection refused)")
    result = dnn("sweep", path, "--timeout", "5")
    assert result.exit_code == 2 and "--timeout bounds the waits on a Dask cluster" in result.stderr
    assert not (in_tmp / "sweeps").exists()


def test_a_sweep_another_live_process_drives_is_refused(dnn, reference, tmp_path):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(reference, folder)
    index = index_of(folder)
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        index["driver"] = {"pid": other.pid, "host": socket.gethostname()}
        index["trials"][0]["status"] = "running"
        (folder / "sweep.json").write_text(json.dumps(index))
        result = dnn("sweep", "--resume", folder)
        assert result.exit_code == 2
        assert f"is being run by process {other.pid}" in result.stderr
        assert "running" in [row[-1] for row in table_rows(dnn("runs", folder).stdout)[0]]
    finally:
        other.kill()
        other.wait()
    assert "killed" in [row[-1] for row in table_rows(dnn("runs", folder).stdout)[0]]


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("folder", "../../elsewhere", "trials[0].folder holds '../../elsewhere', not trial-001, the trial's own"),
        ("rung", 5, "trials[0].rung holds 5"),
        ("status", "done", "trials[0].status holds 'done'"),
    ],
)
def test_a_sweep_index_edited_by_hand_is_one_line_and_reads_nothing_outside(
    dnn, reference, tmp_path, field, value, problem
):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(reference, folder)
    index = index_of(folder)
    index["trials"][0][field] = value
    (folder / "sweep.json").write_text(json.dumps(index))
    for command in (["runs", folder], ["sweep", "--resume", folder], ["report", folder, "--out", tmp_path / "r.html"]):
        result = dnn(*command)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == f"Error: {folder / 'sweep.json'}: a broken sweep index: {problem}"


def test_a_sweep_file_or_a_folder_to_resume(dnn, in_tmp):
    result = dnn("sweep")
    assert result.exit_code == 2
    assert "give a SWEEP_FILE for a new sweep, or --resume SWEEP_DIR" in result.stderr


# --- an index edited by hand (issue 26) ---------------------------------------------------------------------


def broken_copy(reference, tmp_path, change):
    import shutil

    folder = tmp_path / "copy"
    shutil.copytree(reference, folder)
    index = index_of(folder)
    change(index, folder)
    (folder / "sweep.json").write_text(json.dumps(index))
    return folder


def pending_again(index, folder):
    index["trials"][0].update(status="pending", rung=-1, metric=None)
    index["trials"].append(dict(index["trials"][0]))


def linked_away(index, folder):
    import shutil

    index["trials"][0].update(status="pending", rung=-1, metric=None)
    shutil.rmtree(folder / "trial-001")
    (folder / "trial-001").symlink_to(folder / "trial-002")  # a resume would write trial 1 over trial 2


@pytest.mark.parametrize(
    "change, problem",
    [
        (pending_again, "sweep.json: a broken sweep index: trials[4] is trial 1 again"),
        (linked_away, "trial-001: a link or a file, not a folder of the sweep's own, where its trial's files go"),
    ],
)
def test_an_index_edited_by_hand_is_refused_the_same_by_every_command(dnn, reference, tmp_path, change, problem):
    folder = broken_copy(reference, tmp_path, change)
    before = {p.name: p.read_bytes() for p in (reference / "trial-002").iterdir()}
    for args in (["sweep", "--resume", folder], ["report", folder, "--out", tmp_path / "r.html"], ["plot", folder]):
        result = dnn(*args)
        assert result.exit_code == 2, result.output
        assert result.stderr == f"Error: {folder / problem}\n"
    assert {p.name: p.read_bytes() for p in (folder / "trial-002").iterdir()} == before
