"""Runs tracked in MLflow, ``output.mlflow`` (an optional extra, ``extras.install_command("mlflow")``; only this
module imports mlflow, and only when a run is tracked).

An MLflow run holds a dnn run's config as parameters (dotted keys, each value as ``--set`` takes it), each logged
record as metrics at the record's iteration, the final scores, and the run's files as artifacts. A sweep is an
MLflow run of its own, with a child run per trial wherever the trial runs. The MLflow run's id is kept in
metrics.json (a sweep's in sweep.json), so a resume continues the same MLflow run.

Tracking never costs a run: the first call the tracking server does not answer or refuses gives one warning,
and the run goes on untracked with its own files. So that a server that is down costs seconds, MLflow's HTTP
retries and timeout are bounded (``BOUNDS``), unless the user has set them.
"""

import functools
import getpass
import importlib.util
import logging
import os
import re
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .. import __version__
from ..config.schema import describe
from ..errors import Interrupted, UserError
from ..extras import missing_extra
from .layout import BEST, CHECKPOINT, CONFIG, METRICS
from .listing import read_metrics
from .reporting import Reporter
from .signals import StartupInterrupted

# MLflow's own, 7 retries with a backoff factor of 2 and 120 s a request, wait minutes for a dead server; these
# give up in seconds: about 3 for a refused connection, 20 for a server that takes it and never answers. A
# large artifact behind a slow store may need a longer timeout: the user's own settings are kept.
BOUNDS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "5",
}
FLUSH_SECONDS = 5.0  # a run's metrics go to the server at most this often, and all of them at the end
BATCH = 1000  # metrics in one request: MLflow's limit
PARAMETERS_BATCH = 100  # parameters in one request: MLflow's limit
STATUSES = {"finished": "FINISHED", "interrupted": "KILLED", "failed": "FAILED"}
RUN_FILES = (CHECKPOINT, BEST, METRICS, CONFIG)  # a finished run's artifacts, those it has
NOT_PARAMETERS = ("output.mlflow",)  # where the run is tracked (a URI may hold a password) is not a parameter


@dataclass(frozen=True)
class Target:
    """Where a run is tracked: the tracking URI and the experiment's name; for a sweep's trial, the sweep's
    MLflow run (``parent``), and the trial's name and folder in the sweep (its worker trains elsewhere)."""

    uri: str
    experiment: str
    parent: str = None
    name: str = None
    folder: str = None


@dataclass(frozen=True)
class Tracked:
    """An MLflow run that dnn logs to."""

    uri: str
    experiment_id: str
    run_id: str

    def saved(self):
        """What metrics.json (or sweep.json) keeps: the URI without a password."""
        return {"tracking_uri": shown_uri(self.uri), "experiment_id": self.experiment_id, "run_id": self.run_id}

    @property
    def url(self):
        """The run's page on a tracking server, or None for a store with no server (a folder, a database)."""
        if urlsplit(self.uri).scheme not in ("http", "https"):
            return None
        return f"{shown_uri(self.uri).rstrip('/')}/#/experiments/{self.experiment_id}/runs/{self.run_id}"


def target_of(config):
    """The ``Target`` of a resolved config (None when it is not tracked); a ``UserError`` when it cannot be.
    The experiment is $MLFLOW_EXPERIMENT_NAME, else the config's name."""
    setting = config["output"]["mlflow"]
    if setting is False:
        return None
    uri = os.environ.get("MLFLOW_TRACKING_URI", "").strip() if setting is True else setting
    if not uri:
        raise UserError(
            "output.mlflow: true tracks at $MLFLOW_TRACKING_URI, which is not set; "
            "set it, or give the URI (output.mlflow: http://HOST:5000)"
        )
    if importlib.util.find_spec("mlflow") is None:
        raise missing_extra("output.mlflow: tracking runs in MLflow", "mlflow", "mlflow")
    return Target(uri, os.environ.get("MLFLOW_EXPERIMENT_NAME") or config["name"])


def shown_uri(uri):
    """``uri`` without the user name and password it may hold."""
    parts = urlsplit(uri)
    if "@" not in parts.netloc:
        return uri
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def reason(error):
    """Why a call to MLflow failed, in a few words: the socket's error, the HTTP status, or the first line."""
    text = str(error)
    for pattern, said in (
        (r"\[Errno -?\d+\] ([^'\"()\]]+)", "{}"),
        (r"error code (\d{3})", "it answered HTTP {}"),
        (r"(?i)read timed out", "no answer in time"),
    ):
        found = re.search(pattern, text)
        if found:
            return said.format(*found.groups()).strip()
    first = (text.strip().splitlines() or [type(error).__name__])[0]
    return first if len(first) <= 200 else first[:197] + "..."


def parameters(config, prefix=""):
    """A config as MLflow parameters: its dotted keys, each value as ``--set`` takes it."""
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from parameters(value, f"{name}.")
        elif name not in NOT_PARAMETERS:
            yield name, value if isinstance(value, str) else describe(value)


def record_metrics(record):
    """A logged record as (name, value) metrics: numbers as they are, a per-layer list as ``name/layer_l``."""
    for key, value in record.items():
        if key == "iteration":
            continue
        if isinstance(value, list):
            yield from ((f"{key}/layer_{l}", v) for l, v in enumerate(value, 1) if v is not None)
        elif value is not None:
            yield key, value


def final_metrics(result):
    """A finished run's scores, ``train_accuracy`` (or ``train_rmse``, ``train_mae``, ``train_r2``), ...,
    ``test_cost`` (the validation scores' last logged values are the final weights' already); the iterations done
    (a parameter keeps the length first asked for); and the best validation cost, its other scores and its
    iteration, counted as best.npz counts it."""
    metrics = {
        f"{split}_{kind}": value
        for split, scores in result.final.items()
        if scores is not None and split != "validation"
        for kind, value in scores.items()
        if kind != "examples" and not isinstance(value, list)  # a metric is a number: each class's recall is not
    }
    metrics["iterations_done"] = result.iterations_done
    if result.best_iteration is not None:
        metrics.update({f"best_validation_{kind}": value for kind, value in result.best_validation.items()})
        metrics["best_iteration"] = result.best_iteration
    return metrics


def guarded(method):
    """A ``Tracker`` method that does nothing once tracking is off, and turns any failure into one warning."""

    @functools.wraps(method)
    def guard(self, *args, **kwargs):
        if self.off:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as e:  # whatever MLflow raises, the run goes on
            self.off = True
            self.warn(f"MLflow at {shown_uri(self.target.uri)}: {reason(e)}; training goes on without it")
            return None

    return guard


def quieted():
    """What MLflow would write on dnn's own outputs, kept off them: its links on stdout, its log below errors."""
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"
    for name, value in BOUNDS.items():
        os.environ.setdefault(name, value)
    logging.getLogger("mlflow").setLevel(logging.ERROR)


class Tracker:
    """One MLflow run seen from dnn. ``Tracker(None)`` tracks nothing; a tracker whose server fails turns off."""

    def __init__(self, target, warn, previous=None):
        self.target, self.warn = target, warn
        self.previous = previous  # the saved() of the MLflow run this folder was tracked in before
        self.off = target is None
        self.client = self.tracked = None
        self.pending, self.sent_at, self.logged_up_to = [], None, -1

    @property
    def kept(self):
        """What the run's metrics.json keeps: this MLflow run, else the one it was tracked in before."""
        return self.tracked.saved() if self.tracked else self.previous

    @property
    def mlflow_run(self):
        """The ``Tracked`` MLflow run, unless tracking is off (never on, or failed)."""
        return None if self.off else self.tracked

    @guarded
    def open(self, name, folder, params, source):
        """Starts the MLflow run, or continues the previous one when it is at the same URI and still there."""
        self.connect()
        run = self.continued()
        if run is None:
            run = self.client.create_run(self.experiment_id(), run_name=name, tags=self.tags(folder, source))
            logged = {}
        else:
            self.client.update_run(run.info.run_id, "RUNNING")
            logged = run.data.params
            history = self.client.get_metric_history(run.info.run_id, "cost")
            self.logged_up_to = max((m.step for m in history), default=-1)
        self.tracked = Tracked(self.target.uri, run.info.experiment_id, run.info.run_id)
        from mlflow.entities import Param

        fresh = [Param(key, value) for key, value in params if key not in logged]
        for start in range(0, len(fresh), PARAMETERS_BATCH):
            self.client.log_batch(self.tracked.run_id, params=fresh[start : start + PARAMETERS_BATCH])

    def connect(self):
        quieted()
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(self.target.uri)

    def continued(self):
        """The previous MLflow run, when it is at this URI and not deleted; None to start a new one."""
        previous = self.previous
        if not isinstance(previous, dict) or previous.get("tracking_uri") != shown_uri(self.target.uri):
            return None
        from mlflow.exceptions import MlflowException

        try:
            run = self.client.get_run(str(previous.get("run_id")))
        except MlflowException as e:
            if e.error_code == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise
        return run if run.info.lifecycle_stage == "active" else None

    def experiment_id(self):
        from mlflow.exceptions import MlflowException

        name = self.target.experiment
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            return experiment.experiment_id
        try:
            return self.client.create_experiment(name)
        except MlflowException as e:  # another trial made it first
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                raise e from None
            return experiment.experiment_id

    def tags(self, folder, source):
        from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_SOURCE_NAME, MLFLOW_USER

        tags = {MLFLOW_SOURCE_NAME: source, "dnn.folder": str(folder), "dnn.version": __version__}
        if self.target.parent:
            tags[MLFLOW_PARENT_RUN_ID] = self.target.parent
        try:
            tags[MLFLOW_USER] = getpass.getuser()
        except (KeyError, OSError):
            pass  # no user name in this environment
        return tags

    def log(self, record):
        """A logged record's metrics, unless its MLflow run has them (a resume from an earlier checkpoint)."""
        if record["iteration"] > self.logged_up_to:
            self.queue(record_metrics(record), record["iteration"])

    def queue(self, metrics, step):
        """(name, value) metrics at ``step``, sent now or with the next ones (at most every ``FLUSH_SECONDS``)."""
        if self.mlflow_run is None:
            return
        stamp = int(time.time() * 1000)
        self.pending += [(key, float(value), stamp, step) for key, value in metrics]
        if self.sent_at is None or time.monotonic() - self.sent_at >= FLUSH_SECONDS:
            self.flush()

    @guarded
    def flush(self):
        from mlflow.entities import Metric

        self.sent_at = time.monotonic()
        pending, self.pending = self.pending, []
        for start in range(0, len(pending), BATCH):
            metrics = [Metric(*item) for item in pending[start : start + BATCH]]
            self.client.log_batch(self.tracked.run_id, metrics=metrics)

    @guarded
    def log_files(self, paths):
        for path in paths:
            if Path(path).is_file():
                self.client.log_artifact(self.tracked.run_id, str(path))

    @guarded
    def reopen(self, tracked):
        """Back to an MLflow run this process tracked, ended, and has more for (a finished run's page)."""
        self.connect()
        self.tracked = tracked

    @guarded
    def close(self, status, tags=None):
        for key, value in (tags or {}).items():
            self.client.set_tag(self.tracked.run_id, key, value)
        self.client.set_terminated(self.tracked.run_id, STATUSES[status])

    def end(self, status, final=None, files=(), step=0, tags=None):
        """The MLflow run ended as ``status``: what is left of its metrics, ``final`` at ``step``, its files."""
        if self.mlflow_run is None:
            return
        if final:
            self.queue(final.items(), step)
        self.flush()
        self.log_files(files)
        self.close(status, tags)

    def finished(self, result):
        """A finished run's scores and files; ``result`` with the MLflow run it is in (``result.mlflow``)."""
        files = [result.folder / name for name in RUN_FILES]
        self.end("finished", final_metrics(result), files, max(result.iterations_done - 1, 0))
        return replace(result, mlflow=self.mlflow_run)

    def reporting(self, shown):
        """The reporter a run calls: ``shown``, the user's, with every logged record sent to MLflow too."""
        return TrackingReporter(shown, self) if self.mlflow_run else shown

    def child(self, name, folder):
        """The ``Target`` of a trial of this sweep, or False when the sweep is not tracked."""
        if self.mlflow_run is None:
            return False
        return replace(self.target, parent=self.tracked.run_id, name=name, folder=str(folder))


class TrackingReporter(Reporter):
    """A reporter beside the user's: each logged record goes to MLflow, and everything to the user's reporter."""

    def __init__(self, shown, tracker):
        self.shown, self.tracker = shown, tracker
        self.decoding = shown.decoding

    def start(self, total, done, history=()):
        for record in history:  # a resumed run's records that its MLflow run has not had
            self.tracker.log(record)
        self.shown.start(total, done, history)

    def update(self, iteration, cost):
        self.shown.update(iteration, cost)

    def log(self, record):
        self.tracker.log(record)
        self.shown.log(record)

    def warn(self, text):
        self.shown.warn(text)

    def finish(self, status):
        self.shown.finish(status)


def previous_run(saved):
    """The MLflow run a metrics.json (or sweep.json) names, or None."""
    return saved.get("mlflow") if isinstance(saved, dict) and isinstance(saved.get("mlflow"), dict) else None


def folder_metrics(folder):
    """A run folder's metrics.json, or None (a new run has none; a broken one names no MLflow run)."""
    try:
        return read_metrics(folder)
    except UserError:
        return None


@contextmanager
def tracked_run(target, folder, config, warn):
    """A ``Tracker`` of the run in ``folder`` for the ``with`` block (a no-op one when ``target`` is None).

    A block that raises ends the MLflow run killed (interrupted) or failed, with the run's metrics.json."""
    folder = Path(folder)
    tracker = Tracker(target, warn, previous_run(folder_metrics(folder)))
    if target is not None:
        name = target.name or f"{folder.parent.name}/{folder.name}"
        source = "dnn sweep" if target.parent else "dnn train"
        tracker.open(name, target.folder or folder.resolve(), parameters(config), source)
    try:
        yield tracker
    except BaseException as e:
        stopped = isinstance(e, (Interrupted, StartupInterrupted, KeyboardInterrupt))
        status = "interrupted" if stopped else "failed"
        tracker.end(status, files=[folder / METRICS] if status == "failed" else ())
        raise


def sweep_parameters(index):
    """A sweep's settings as MLflow parameters: the metric, the method, ... and each swept key's distribution."""
    settings = {key: index.get(key) for key in ("metric", "method", "seed", "rungs", "keep", "parameters")}
    return parameters({**settings, "trials": len(index["trials"])})


def sweep_tracker(target, folder, index, warn):
    """The ``Tracker`` of a sweep (its trials' runs are its children): started, or continued from the MLflow run
    its index names."""
    folder = Path(folder)
    tracker = Tracker(target, warn, previous_run(index))
    if target is not None:
        tracker.open(f"{folder.parent.name}/{folder.name}", folder.resolve(), sweep_parameters(index), "dnn sweep")
    return tracker


def log_page(tracked, make_page, warn):
    """The page ``make_page()`` gives (bytes), as report.html of the ``tracked`` MLflow run; a page that cannot
    be made (without matplotlib, say) or sent is one warning."""
    try:
        page = make_page()
    except UserError as e:
        warn(f"MLflow: no report.html for the run: {e.message}")
        return
    tracker = Tracker(Target(tracked.uri, None), warn)
    tracker.reopen(tracked)
    with tempfile.TemporaryDirectory(prefix="dnn-page-") as tmp:
        path = Path(tmp) / "report.html"
        path.write_bytes(page)
        tracker.log_files([path])
