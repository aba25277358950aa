"""The files a run leaves and the clock it keeps: checkpoint.npz and best.npz (with the header), metrics.json.

Every file goes through ``files``' atomic writes, so a run killed at any moment leaves the previous file or
the new one, never a torn one.
"""

import json
import os
import platform
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

import h5py
import numpy as np

from .. import __version__
from ..config.load import dump
from ..data.dataset import PIXEL_SCALE
from ..errors import RunFailure, UserError
from ..files import overwrite_json, write_json
from ..model import checkpoint
from ..model.honesty import CALIBRATION, CLASS_COUNTS, FAMILIARITY, familiarity_arrays
from .layout import CHECKPOINT, METRICS, remember_latest
from .listing import moment_of, read_metrics


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint so a resumed run picks it up."""

    history: list = field(default_factory=list)
    best_cost: float = None
    best_accuracy: float = None
    best_iteration: int = None  # iterations done when the validation cost was best (best.npz's header)
    since_best: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    pending: list = field(default_factory=list)  # mini-batch costs since the last log, averaged at the next


def versions():
    return {
        "dnncli": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }


def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def first_start(folder):
    """When the run in ``folder`` first started, as its metrics.json says, or None when it says nothing usable."""
    try:
        started = read_metrics(folder).get("started")
    except UserError:
        return None
    return started if moment_of(started) is not None else None


class Recorder:
    """Writes a run folder's checkpoints and metrics for a ``Job`` trained by ``trainer``, and keeps the run's
    clock across resumes."""

    def __init__(self, job, folder, trainer, progress, resuming=False):
        self.job = job
        self.folder = folder
        self.trainer = trainer
        self.progress = progress
        self.started, self.resumed = now(), None
        if resuming:  # the run began earlier: its first start stays, and this one is when it was resumed
            self.started, self.resumed = first_start(folder) or self.started, self.started
        self.tracked = None  # the MLflow run the run is tracked in (``tracking.Tracked.saved()``), kept for a resume
        self.warnings = []  # what the start and end of training found that the scores do not say (model.collapse)
        # what its checkpoints carry to doubt their answers by (model.honesty): set by the run
        self.familiarity, self.class_counts, self.calibration = None, None, None
        self.start_clock()

    def start_clock(self):
        self.clock, self.base_seconds = time.monotonic(), self.progress.seconds

    def seconds(self):
        return self.base_seconds + time.monotonic() - self.clock

    def header(self, iteration):
        job = self.job
        # what turns an input into the network's: a picture's fit, or a table's encoding
        made_by = {"fit": job.train.fit} if job.encoder is None else {"table": job.encoder.header()}
        return checkpoint.make_header(
            job.net,
            job.train.classes,
            job.train.input_shape,
            PIXEL_SCALE if job.encoder is None else 1,
            job.config["dtype"],
            iteration,
            progress=self.progress.__dict__,
            config=dump(job.config),
            data=job.data,
            created=now(),
            dnncli=__version__,
            **made_by,
            **self.honesty(),
        )

    def honesty(self):
        """The header's fields that ``model.honesty`` describes, those the run has."""
        fields = {FAMILIARITY: self.familiarity and self.familiarity.header}
        fields.update({CLASS_COUNTS: self.class_counts, CALIBRATION: self.calibration})
        return {key: value for key, value in fields.items() if value is not None}

    def checkpoint(self, name, iteration, params, state=None):
        """Saves a checkpoint; a disk that refuses it ends the run as failed, the previous file kept."""
        path = self.folder / name
        try:
            checkpoint.save(path, self.header(iteration), params, state, familiarity_arrays(self.familiarity))
        except OSError as e:
            message = f"{path}: cannot save ({e.strerror or e}); the previous one, if any, is kept"
            self.failed(message)
            raise RunFailure(message) from None

    def save(self, status, params, state, final=None, error=None):
        """Checkpoint first, then metrics: the checkpoint is what a resume trusts."""
        self.progress.seconds = self.seconds()
        self.checkpoint(CHECKPOINT, self.trainer.iteration, params, state)
        try:
            remember_latest(self.folder.parent.parent, self.folder)
            self.metrics(status, final, error)
        except OSError as e:
            message = f"{e.filename}: cannot write ({e.strerror or e}); {self.folder / CHECKPOINT} is saved"
            self.failed(message)
            raise RunFailure(message) from None

    def failed(self, message):
        """metrics.json says ``failed`` and why; on a disk with no room for a new copy, the metrics already
        there (those of the last checkpoint) are marked failed in place, at about their own size."""
        try:
            write_json(self.folder / METRICS, self.record("failed", error=message))
            return
        except OSError:
            pass
        try:
            on_disk = json.loads((self.folder / METRICS).read_text(encoding="utf-8"))
            if isinstance(on_disk, dict):
                on_disk.update(status="failed", error=message, updated=now())
                overwrite_json(self.folder / METRICS, on_disk)
        except (OSError, ValueError):
            pass  # nothing more can be written here; the message still reaches the user

    def metrics(self, status, final=None, error=None):
        write_json(self.folder / METRICS, self.record(status, final, error))

    def record(self, status, final=None, error=None):
        """What metrics.json holds."""
        job, p = self.job, self.progress
        metrics = {
            "name": job.config["name"],
            "status": status,
            "seed": job.config["seed"],
            "iterations": job.iterations,
            "iterations_done": self.trainer.iteration,
            "fast_path": self.trainer.fast,
            "costs": p.history,
            "stopped_early": p.stopped_early,
            "best_iteration": p.best_iteration,
            "best_validation": None if p.best_iteration is None else {"cost": p.best_cost, "accuracy": p.best_accuracy},
            "started": self.started,
            **({"resumed": self.resumed} if self.resumed else {}),
            "updated": now(),
            "seconds": round(p.seconds, 3),
            "versions": versions(),
            "process": {"pid": os.getpid(), "host": socket.gethostname()},
        }
        if final:
            metrics.update(final)
        if error:
            metrics["error"] = error
        if self.tracked:
            metrics["mlflow"] = self.tracked
        if self.warnings:
            metrics["warnings"] = self.warnings
        if self.class_counts is not None:
            metrics["class_counts"] = dict(zip(job.train.classes, self.class_counts, strict=True))
        if self.calibration is not None:
            metrics["calibration"] = self.calibration
        return metrics
