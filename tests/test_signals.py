"""Signals at every point of a run, delivered at known points so no test passes or fails by timing.

From outside, through the real CLI: the process starts with the stop signals blocked (a mask survives exec), the
signal is sent at once and stays pending until ``StopSignals`` unblocks it with its handlers in place, the
earliest moment dnn can hear it; what follows (imports, loading, decoding) then runs with it recorded. Inside
the process: a reporter sends a real signal to its own process from the callback the run makes at a chosen
point (pictures decoding, the loop starting, a step, the end of the save). After the first signal a test waits
for what the run prints (its JSON lines) before sending the next.
"""

import json
import os
import signal
import subprocess
import sys
from contextlib import nullcontext

import pytest

from conftest import metrics_of, train_quietly, write_config
from dnncli.errors import Interrupted
from dnncli.model import checkpoint
from dnncli.run.reporting import Reporter
from dnncli.run.signals import SIGNALS, StopSignals
from dnncli.run.train import resume, start, start_in

TINY = {"layers": [12288, 2, 1]}
LONG = {"learning_rate": 0.001, "iterations": 10**6, "batch_size": 64, "log_every": 5, "checkpoint_every": None}
SHORT = {"learning_rate": 0.01, "iterations": 10, "log_every": 5}
NAMES = ["SIGINT", "SIGTERM", "SIGHUP"]


def blocked_start(cwd, *args):
    """``python -m dnncli ARGS`` started with the stop signals blocked: a signal sent now waits for dnn."""
    return subprocess.Popen(
        [sys.executable, "-m", "dnncli", *map(str, args)],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS),
    )


def finished(process, timeout=120):
    try:
        out, err = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return out, err


def folder_set(root, demo_data):
    from test_folders import write_picture_folder

    photos = write_picture_folder(root / "photos", demo_data, broken=False)
    return {"format": "folder", "train": str(photos / "train"), "test": None}


@pytest.fixture
def own_handlers():
    """Signal handlers as they were before the test: a run stopped by a signal leaves the signals ignored."""
    before = {sig: signal.getsignal(sig) for sig in SIGNALS}
    yield
    for sig, handler in before.items():
        signal.signal(sig, handler)


# --- from outside, through the CLI -------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("data", ["folder", "hdf5"])
def test_a_signal_before_dnn_can_hear_it_stops_the_start_and_leaves_no_folder(in_tmp, demo_data, name, data):
    sections = {"data": folder_set(in_tmp, demo_data)} if data == "folder" else {}
    config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=LONG, **sections)
    process = blocked_start(in_tmp, "train", "--config", config, "--quiet")
    process.send_signal(getattr(signal, name))
    out, err = finished(process)
    assert process.returncode == 130, err
    assert err == f"Interrupted by {name} before training began; no run folder was kept\n"
    assert out == "" and not (in_tmp / "runs").exists()


SIGNALLED_WHILE_LOADING = """
import os, signal, sys
import dnncli.console as console
assert "click" not in sys.modules  # nothing of the command line is loaded before the signals are held
held, sent = console.hold, getattr(signal, sys.argv[1])
def hold_then_signal():
    held()
    os.kill(os.getpid(), sent)  # as the command line loads: held, pending
console.hold = hold_then_signal
sys.argv = ["dnn", *sys.argv[2:]]
console.main()
"""


def signalled_while_loading(cwd, name, *args):
    """The console script (``dnn``) sent ``name`` right after it held the stop signals, before the command line
    loads: (exit code, stdout, stderr)."""
    process = subprocess.Popen(
        [sys.executable, "-c", SIGNALLED_WHILE_LOADING, name, *map(str, args)],
        cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    out, err = finished(process)
    return process.returncode, out, err


@pytest.mark.parametrize("name", NAMES)
def test_the_console_script_holds_a_signal_sent_as_it_loads_until_train_can_hear_it(in_tmp, demo_data, name):
    config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=LONG)
    code, out, err = signalled_while_loading(in_tmp, name, "train", "--config", config, "--quiet")
    assert code == 130, err
    assert err == f"Interrupted by {name} before training began; no run folder was kept\n"
    assert out == "" and not (in_tmp / "runs").exists()


@pytest.mark.parametrize("name, code, said", [("SIGINT", 130, "Interrupted.\n"), ("SIGTERM", -signal.SIGTERM, "")])
def test_every_other_command_releases_a_held_signal_to_act_as_always(in_tmp, name, code, said):
    assert signalled_while_loading(in_tmp, name, "runs") == (code, "", said)


@pytest.mark.parametrize("name", NAMES)
def test_a_signal_at_the_start_of_a_resume_leaves_the_run_as_it_was(in_tmp, demo_data, dnn, name):
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    before = {p.name: p.read_bytes() for p in folder.glob("[!.]*")}
    process = blocked_start(in_tmp, "train", "--resume", folder, "--set", "training.iterations=1000000", "--quiet")
    process.send_signal(getattr(signal, name))
    out, err = finished(process)
    assert process.returncode == 130, err
    assert err == f"Interrupted by {name} before training began; {folder} is kept\n"
    assert out == f"{folder}\n"
    assert {p.name: p.read_bytes() for p in folder.glob("[!.]*")} == before
    resumed = dnn("train", "--resume", folder, "--set", "training.iterations=12", "--quiet")
    assert resumed.exit_code == 0, resumed.output


def signalled_in_training(in_tmp, demo_data, name, again=False):
    """A run trained in a process, sent ``name`` after iteration 10 and (``again``) a second SIGINT when it says
    it ended, after its save; its exit code, its stderr and its folder."""
    config = write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=LONG)
    process = blocked_start(in_tmp, "train", "--config", config, "--progress", "jsonl")
    sent = False
    for line in process.stdout:
        event = json.loads(line)
        if event.get("iteration", 0) >= 10 and not sent:
            process.send_signal(getattr(signal, name))
            sent = True
        if event.get("event") == "end":
            assert event["status"] == "interrupted"
            if again:
                process.send_signal(signal.SIGINT)
            break
    _, err = finished(process)
    return process.returncode, err, in_tmp / "runs" / "t" / "1"  # stdout was read in part above


@pytest.mark.parametrize("name", NAMES)
def test_a_signal_while_training_saves_and_says_so(in_tmp, demo_data, name):
    code, err, folder = signalled_in_training(in_tmp, demo_data, name)
    assert code == 130, err
    assert err.startswith(f"Interrupted by {name} at iteration "), err
    assert metrics_of(folder)["status"] == "interrupted"
    assert checkpoint.load(folder / "checkpoint.npz").iteration == metrics_of(folder)["iterations_done"] > 10


def test_a_second_sigint_once_the_save_is_done_still_exits_130(in_tmp, demo_data):
    # the end event comes after the save: the second Ctrl-C lands on the way out, where it once gave -2
    code, err, folder = signalled_in_training(in_tmp, demo_data, "SIGINT", again=True)
    assert code == 130, err
    assert err.startswith("Interrupted by SIGINT at iteration ") and "Traceback" not in err
    assert checkpoint.load(folder / "checkpoint.npz").iteration == metrics_of(folder)["iterations_done"]


# --- inside the process, at chosen points ------------------------------------------------------------------


class Signalling(Reporter):
    """A reporter that sends signals to its own process the first time the run reaches a point: ``decoding``
    (the first block of pictures), ``start`` (the loop starts: the folder made, metrics.json written),
    ``update`` (a step taken) or ``finish`` (the save done, the run about to raise)."""

    def __init__(self, **signals):
        self.signals = signals  # point -> the signals to send there

    def send(self, point):
        for sig in self.signals.pop(point, ()):
            os.kill(os.getpid(), sig)

    def decoding(self, description, total):
        return nullcontext(lambda n: self.send("decoding"))

    def start(self, total, done, history=()):
        self.send("start")

    def update(self, iteration, cost):
        self.send("update")

    def warn(self, text):
        pass

    def finish(self, status):
        self.send("finish")


def run_config(in_tmp, demo_data, **sections):
    from dnncli.config.load import load

    sections.setdefault("training", LONG)
    return load(write_config(in_tmp / "c.yaml", demo_data, model=TINY, **sections), [f"output.dir={in_tmp / 'runs'}"])


def test_a_signal_while_pictures_decode_stops_before_any_folder(in_tmp, demo_data, own_handlers):
    config = run_config(in_tmp, demo_data, data=folder_set(in_tmp, demo_data))
    with pytest.raises(Interrupted) as stopped, StopSignals() as stop:
        start(config, Signalling(decoding=[signal.SIGTERM]), stop)
    assert stopped.value.message == "Interrupted by SIGTERM before training began; no run folder was kept"
    assert stopped.value.folder is None and not (in_tmp / "runs" / "t").exists()


def test_a_signal_before_a_trial_starts_keeps_the_folder_its_caller_made(in_tmp, demo_data, own_handlers):
    trial = in_tmp / "trial"
    trial.mkdir()
    with pytest.raises(Interrupted) as stopped, StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        start_in(run_config(in_tmp, demo_data), trial, Reporter(), stop)
    assert stopped.value.message == f"Interrupted by SIGTERM before training began; {trial} is kept"
    assert trial.is_dir() and not any(trial.iterdir())


@pytest.mark.parametrize("at", ["start", "update"])
def test_a_signal_once_the_run_is_there_saves_after_the_step(in_tmp, demo_data, own_handlers, at):
    with pytest.raises(Interrupted) as stopped, StopSignals() as stop:
        start(run_config(in_tmp, demo_data), Signalling(**{at: [signal.SIGHUP]}), stop)
    folder = in_tmp / "runs" / "t" / "1"
    assert stopped.value.folder == folder
    assert stopped.value.message.startswith("Interrupted by SIGHUP at iteration 1: saved")
    assert metrics_of(folder)["status"] == "interrupted"
    assert checkpoint.load(folder / "checkpoint.npz").iteration == 1


def test_a_second_sigint_during_a_step_insists_and_keeps_no_half_file(in_tmp, demo_data, own_handlers):
    with pytest.raises(KeyboardInterrupt), StopSignals() as stop:
        start(run_config(in_tmp, demo_data), Signalling(update=[signal.SIGINT, signal.SIGINT]), stop)
    folder = in_tmp / "runs" / "t" / "1"
    assert metrics_of(folder)["status"] == "running"  # the process ends now: `dnn runs` says killed
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_once_the_first_is_acted_on_is_only_recorded(own_handlers, second):
    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        stop.act()  # what the loop does before its save
        os.kill(os.getpid(), second)  # nothing raised: the save goes on
        assert stop.requested == signal.SIGINT
    with pytest.raises(KeyboardInterrupt), StopSignals():
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGINT)  # not yet acted on: a second Ctrl-C insists


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_while_the_checkpoint_is_written_lets_the_save_finish(
    in_tmp, demo_data, own_handlers, monkeypatch, second
):
    saves = []
    real_save = checkpoint.save

    def save_signalled(*args, **kwargs):  # the signal lands inside the interrupted run's save, every time
        saves.append(args[0])
        os.kill(os.getpid(), second)
        return real_save(*args, **kwargs)

    monkeypatch.setattr(checkpoint, "save", save_signalled)
    with pytest.raises(Interrupted) as stopped, StopSignals() as stop:
        start(run_config(in_tmp, demo_data), Signalling(update=[signal.SIGINT]), stop)
    folder = in_tmp / "runs" / "t" / "1"
    assert stopped.value.message.startswith("Interrupted by SIGINT at iteration 1: saved")
    assert saves == [folder / "checkpoint.npz"] and metrics_of(folder)["status"] == "interrupted"
    assert checkpoint.load(folder / "checkpoint.npz").iteration == 1  # written whole, the second signal notwithstanding
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_signal_at_the_end_of_the_save_is_ignored_on_the_way_out(in_tmp, demo_data, own_handlers):
    reporter = Signalling(update=[signal.SIGTERM], finish=[signal.SIGINT, signal.SIGTERM])
    with pytest.raises(Interrupted) as stopped, StopSignals() as stop:
        start(run_config(in_tmp, demo_data), reporter, stop)
    assert stopped.value.message.startswith("Interrupted by SIGTERM at iteration 1: saved")
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # until the process exits


def test_a_run_that_ends_without_a_signal_puts_the_handlers_back(in_tmp, demo_data, own_handlers):
    before = {sig: signal.getsignal(sig) for sig in SIGNALS}
    with StopSignals() as stop:
        start(run_config(in_tmp, demo_data, training=SHORT), Reporter(), stop)
    assert {sig: signal.getsignal(sig) for sig in SIGNALS} == before


def test_a_signal_at_the_start_of_a_resume_in_process(in_tmp, demo_data, dnn, own_handlers):
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, model=TINY, training=SHORT))
    with pytest.raises(Interrupted) as stopped, StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        resume(folder, ["training.iterations=20"], None, Reporter(), stop)
    assert stopped.value.message == f"Interrupted by SIGTERM before training began; {folder} is kept"
    assert checkpoint.load(folder / "checkpoint.npz").iteration == 10
    assert "iterations: 10\n" in (folder / "config.yaml").read_text()
