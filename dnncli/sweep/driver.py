"""Driving a sweep: its folder made, its trials sent to the workers rung by rung, the index kept.

The driver is the one process that writes the sweep folder: the index and, from what the workers send
back, every trial folder. Ctrl-C (or SIGTERM) stops the sweep and keeps what finished; ``resume`` runs
only what is unfinished and continues interrupted trials from their checkpoints.
"""

import json
import os
import socket
from concurrent.futures import FIRST_COMPLETED, CancelledError, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..config.load import dump
from ..config.load import load as load_config
from ..config.schema import ConfigError
from ..errors import Interrupted, UserError
from ..files import atomic_file, write_text
from ..model.score import SCORES
from ..run.layout import CHECKPOINT, CONFIG, METRICS, new_run_folder
from ..run.listing import process_gone
from ..run.signals import StopSignals, signal_name
from ..run.tracking import sweep_tracker, target_of
from ..text import plural
from .halving import prune
from .index import INDEX, best_trial, driver_process, new_index, read_index, write_index
from .spec import SWEEP_FILE, metric_problem, metric_task, trial_config
from .task import make_task
from .trials import draw_trials

WAIT_SECONDS = 0.25
STOP_SECONDS = 60  # how long trials asked to stop have to send back their checkpoints


@dataclass(frozen=True)
class SweepResult:
    folder: Path
    index: dict
    mlflow: object = None  # the sweep's ``run.tracking.Tracked`` MLflow run, or None when it was not tracked


def create(sweep):
    """The sweep folder, ``<dir>/<name>/<n>/``: the sweep file's copy, the index, a folder per trial with its
    config. A trial whose values make no valid config is failed here, with the reason."""
    trials = draw_trials(sweep)
    configs = []
    for trial in trials:
        try:
            configs.append(trial_config(sweep, trial.values, trial.seed))
        except ConfigError as e:
            configs.append(e)
    if all(isinstance(config, ConfigError) for config in configs):
        raise ConfigError(f"{sweep.path}: no trial makes a valid config; {trials[0].folder_name}: {configs[0].message}")
    target_of(next(c for c in configs if not isinstance(c, ConfigError)))  # tracking that cannot be: before the folder
    folder = new_run_folder(sweep.dir, sweep.name)
    write_text(folder / SWEEP_FILE, sweep.path.read_text(encoding="utf-8"))
    index = new_index(sweep, trials)
    index["overrides"] = list(sweep.overrides)
    for trial, row, config in zip(trials, index["trials"], configs, strict=True):
        if isinstance(config, ConfigError):
            row["status"], row["error"] = "failed", config.message
            continue
        (folder / trial.folder_name).mkdir()
        write_text(folder / trial.folder_name / CONFIG, dump(config))
    write_index(folder, index)
    return folder


def metric_of(metrics, name):
    split, kind = name.rsplit("_", 1)
    scores = metrics.get(split)
    return scores.get(kind) if isinstance(scores, dict) else None


def missing_metric(metric, metrics):
    """Why a finished trial has no ``metric``: a score its task's runs do not have, or one it was not scored on."""
    task = metrics.get("task")
    if task in SCORES and metric_task(metric) not in (None, task):
        return f"{metric} {metric_problem(metric, task)}"
    return f"no {metric} in the trial's scores"


class Driver:
    def __init__(self, folder, reporter):
        self.folder = Path(folder)
        self.index = read_index(folder)
        self.workers = None
        self.reporter = reporter
        self.stop = None
        self.stopped = False
        self.check_not_driven()
        self.tracker = None

    def tracking_target(self):
        """Where the trials' configs say the sweep is tracked in MLflow (the experiment: the sweep's name, theirs)."""
        for row in self.index["trials"]:
            path = self.folder / row["folder"] / CONFIG
            if path.exists():
                return target_of(load_config(path))
        return None

    def check_not_driven(self):
        """Two drivers of one sweep would both write it: refuse while the last one still runs on this machine."""
        driver = self.index.get("driver")
        running = any(row["status"] == "running" for row in self.index["trials"])
        if running and isinstance(driver, dict) and driver.get("host") == socket.gethostname():
            if driver.get("pid") != os.getpid() and not process_gone(driver):
                raise UserError(f"{self.folder}: is being run by process {driver['pid']}; stop it first")

    def save(self):
        write_index(self.folder, self.index)

    def run(self, workers):
        """Runs every unfinished trial on ``workers`` (``LocalWorkers`` or ``DaskWorkers``), which it closes."""
        self.workers = workers
        index = self.index
        index["driver"] = driver_process()
        rungs = index["rungs"] or [None]
        try:
            self.tracker = sweep_tracker(self.tracking_target(), self.folder, index, self.reporter.warn)
            if self.tracker.kept:
                index["mlflow"] = self.tracker.kept
            self.save()
            self.reporter.start(index, self.workers.where, self.workers.capacity)
            with StopSignals() as self.stop, self.kept_on_error():
                for rung, length in enumerate(rungs):
                    todo = [
                        row for row in index["trials"] if row["status"] in ("pending", "running") and row["rung"] < rung
                    ]
                    self.run_rung(todo, rung, length, last=rung == len(rungs) - 1)
                    if self.stopped:
                        break
                    if rung < len(rungs) - 1:
                        for row in prune(index, rung):
                            self.reporter.changed(index, row)
                        self.save()
        finally:
            self.workers.close()
        self.end_tracking()
        self.reporter.finish(index, "interrupted" if self.stopped else "finished")
        if self.stopped:
            finished = sum(row["status"] == "finished" for row in index["trials"])
            raise Interrupted(
                f"Interrupted by {signal_name(self.stop.requested)}: kept {plural(finished, 'finished trial')}; "
                f"continue with `dnn sweep --resume {self.folder}`",
                self.folder,
            )
        return SweepResult(self.folder, index, self.tracker.mlflow_run)

    def end_tracking(self):
        """The sweep's MLflow run ends with the best trial's metric, the index and the sweep file."""
        best, metric = best_trial(self.index), self.index["metric"]
        self.tracker.end(
            "interrupted" if self.stopped else "finished",
            {f"best_{metric}": best["metric"]} if best else None,
            [self.folder / INDEX, self.folder / SWEEP_FILE],
            tags={"dnn.best_trial": best["folder"]} if best else None,
        )

    @contextmanager
    def kept_on_error(self):
        """Workers that cannot go on (a cluster lost) end the sweep with the unfinished trials kept for a resume."""
        try:
            yield
        except UserError as e:
            for row in self.index["trials"]:
                if row["status"] == "running":
                    row["status"] = "pending"
            self.save()
            self.reporter.finish(self.index, "interrupted")
            raise UserError(
                f"{e.message}; the unfinished trials are kept: `dnn sweep --resume {self.folder}`"
            ) from None

    def task(self, row, length):
        folder = self.folder / row["folder"]
        tracking = self.tracker.child(row["folder"], folder.resolve())
        if (folder / CHECKPOINT).exists():
            files = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
            return make_task(row["trial"], None, length, files, tracking)
        return make_task(row["trial"], load_config(folder / CONFIG), length, {}, tracking)

    def run_rung(self, todo, rung, length, last):
        queue, active = list(todo), {}
        while queue or active:
            while queue and len(active) < self.workers.capacity and not self.stopped:
                row = queue.pop(0)
                active[self.workers.submit(self.task(row, length))] = row
                row["status"] = "running"
                self.save()
                self.reporter.changed(self.index, row)
            if self.stop.requested and not self.stopped:
                self.stopped = True
                self.workers.interrupt()
                queue = []
                done, _ = wait(active, timeout=STOP_SECONDS)
            else:
                done, _ = wait(active, timeout=WAIT_SECONDS, return_when=FIRST_COMPLETED)
                self.workers.check()
            if self.stopped and not done:
                done = list(active)  # trials that did not answer in time start again on resume
            for future in done:
                row = active.pop(future)
                self.record(row, future, rung, last)
                self.save()
                self.reporter.changed(self.index, row)

    def record(self, row, future, rung, last):
        try:
            result = future.result(timeout=0)
        except (CancelledError, TimeoutError):
            row["status"] = "pending"
            return
        except Exception as e:  # a worker that died, or a task the cluster gave up on
            row["status"], row["error"] = "failed", f"{type(e).__name__}: {e}"
            return
        row["attempts"] += result.get("attempts", 1)
        self.write_trial(row["folder"], result["files"])
        metrics = json.loads(result["files"][METRICS]) if METRICS in result["files"] else {}
        row["iterations_done"] = metrics.get("iterations_done", row["iterations_done"])
        if result["status"] == "interrupted":
            row["status"] = "pending"
        elif result["status"] == "failed":
            row["status"], row["error"] = "failed", result["error"]
        else:
            row["metric"] = metric_of(metrics, self.index["metric"])
            row["rung"] = rung
            row["status"] = "finished" if last else "pending"
            if row["metric"] is None:
                row["status"], row["error"] = "failed", missing_metric(self.index["metric"], metrics)

    def write_trial(self, name, files):
        """The worker's files in the trial folder: checkpoints first, metrics.json last, each atomically."""
        folder = self.folder / name
        folder.mkdir(exist_ok=True)
        for file_name in sorted(files, key=lambda n: (n == METRICS, n)):
            with atomic_file(folder / file_name) as f:
                f.write(files[file_name])
