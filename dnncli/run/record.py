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
from ..model.score import task_of
from .layout import BEST, CHECKPOINT, METRICS, remember_latest
from .listing import moment_of, read_metrics
from .posthoc import calibrate_checkpoint, temperature_of


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint so a resumed run picks it up."""

    history: list = field(default_factory=list)
    best_cost: float = None
    best_scores: dict = None  # the validation scores beside the best cost: accuracy, or RMSE, MAE and R²
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


class Record:
    """What a run keeps of itself as it goes, and its clock: checkpoints (the model with its header) and the
    metrics. ``Recorder`` keeps them in a run folder's files, ``Kept`` in memory."""

    def __init__(self, job, trainer, progress):
        self.job = job
        self.trainer = trainer
        self.progress = progress
        self.started, self.resumed = now(), None
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

    @property
    def arrays(self):
        """The arrays beside the weights that its checkpoints carry: the familiarity's."""
        return familiarity_arrays(self.familiarity)

    def record(self, status, final=None, error=None):
        """What metrics.json holds."""
        job, p = self.job, self.progress
        metrics = {
            "name": job.config["name"],
            "status": status,
            "seed": job.config["seed"],
            "iterations": job.iterations,
            "iterations_done": self.trainer.iteration,
            "task": task_of(job.net),
            "layers": list(job.net.layers),  # as built: a table's "auto" sizes resolved
            "fast_path": self.trainer.fast,
            "costs": p.history,
            "stopped_early": p.stopped_early,
            "best_iteration": p.best_iteration,
            "best_validation": None if p.best_iteration is None else {"cost": p.best_cost, **(p.best_scores or {})},
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


class Recorder(Record):
    """A run's checkpoints and metrics in the files of its run folder."""

    def __init__(self, job, folder, trainer, progress, resuming=False):
        super().__init__(job, trainer, progress)
        self.folder = folder
        if resuming:  # the run began earlier: its first start stays, and this one is when it was resumed
            self.started, self.resumed = first_start(folder) or self.started, self.started

    def kept_note(self, name=None):
        """What a failed run leaves to use: the file ``name``, or the last good checkpoint."""
        return f" ({self.folder / name if name else 'the last good checkpoint, if any,'} is kept)"

    def checkpoint(self, name, iteration, params, state=None):
        """Saves a checkpoint; a disk that refuses it ends the run as failed, the previous file kept."""
        path = self.folder / name
        try:
            checkpoint.save(path, self.header(iteration), params, state, self.arrays)
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

    def calibrate_best(self, validation):
        """Fits best.npz's own temperature on ``validation`` and stores it there (where the run kept one)."""
        if (self.folder / BEST).exists():
            calibrate_checkpoint(self.folder / BEST, validation)


class Kept(Record):
    """A run's checkpoints and metrics kept in memory, for a run with no folder (the Python estimators'): each
    checkpoint a ``checkpoint.Checkpoint`` of copies, its header as the file's would be, under its file's name."""

    def __init__(self, job, trainer, progress):
        super().__init__(job, trainer, progress)
        self.checkpoints = {}  # CHECKPOINT, BEST -> checkpoint.Checkpoint
        self.metrics_json = None  # what metrics.json would hold
        self.error = None

    def kept_note(self, name=None):
        return ""

    def checkpoint(self, name, iteration, params, state=None):
        header = json.loads(json.dumps(self.header(iteration)))  # as the file holds it, not the live progress
        copies = {key: np.array(value) for key, value in params.items()}
        state = {key: np.array(value) for key, value in (state or {}).items()}
        self.checkpoints[name] = checkpoint.Checkpoint(
            self.job.net, copies, state, header, None, self.job.encoder, self.arrays
        )

    def save(self, status, params, state, final=None, error=None):
        self.progress.seconds = self.seconds()
        self.checkpoint(CHECKPOINT, self.trainer.iteration, params, state)
        self.metrics_json = self.record(status, final, error)

    def failed(self, message):
        self.error = message

    def calibrate_best(self, validation):
        best = self.checkpoints.get(BEST)
        if best is not None:
            best.header[CALIBRATION] = temperature_of(best.net, best.params, validation, self.job.dtype)
