"""`dnn train` below the command line: a resolved config in, a run folder out, or a run folder continued.

``start`` and ``resume`` return a ``RunResult``, what happened, for the caller to show. Both install the
signal handlers first, and hold the run folder's lock (``lock.holding``) for as long as they use it.
"""

import dataclasses
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..config.load import changed_keys, dump, parse_yaml
from ..config.load import load as load_config
from ..errors import Interrupted, RunFailure, UserError, os_error_line
from ..files import RUN_FILES, remove_stale_temporaries, write_text
from ..model import checkpoint
from ..model.score import SCORES, task_of
from ..text import decimal_size, plural
from ..values import is_count, is_number
from .job import prepare
from .layout import CHECKPOINT, CONFIG, METRICS, check_runs_folder, new_run_folder
from .lock import holding
from .loop import Run
from .record import Progress
from .signals import NoSignals, StartupInterrupted, signal_name
from .tracking import target_of, tracked_run

LENGTH_KEYS = ("training.iterations", "training.epochs")
RESUMABLE_KEYS = LENGTH_KEYS + ("output.mlflow",)  # the only keys a resume may change: none changes the numbers
# keys added since runs began to be saved: a checkpoint written before them has none, and their defaults apply
ADDED_KEYS = ("training.divergence", "data.classes", "data.channels", "data.fit", "training.calibrate")


@dataclass(frozen=True)
class RunResult:
    """What a finished run did."""

    folder: Path
    final: (
        dict  # split -> {"examples", "cost", and model.score.SCORES' of the task}, or None for a set it does not have
    )
    iterations_done: int
    seconds: float
    fast_path: bool
    stopped_early: bool
    best_iteration: int  # iterations done at the best validation cost (best.npz), or None without a validation set
    best_validation: dict  # the validation scores there, {"cost", "accuracy"} or {"cost", "rmse", "mae", "r2"}
    last_validation: dict  # the last logged validation scores, as ``best_validation``, or None
    mlflow: object = None  # the run's ``tracking.Tracked`` MLflow run, or None when it was not tracked
    warnings: tuple = ()  # what the run found that its scores do not say (metrics.json's warnings)
    calibration: dict = None  # the temperature fitted at the end (the checkpoint's header), or None
    baseline: str = None  # what the baseline beside its scores answers: "'plain'" or "the training mean"
    classes: tuple = ()  # a classifier's classes, in the order of each split's ``recall``


def result_of(run, final):
    p = run.progress
    logged = [r for r in p.history if "validation_cost" in r]
    last = None
    if logged:
        record = logged[-1]
        last = {"cost": record["validation_cost"]}
        last.update({name: record[f"validation_{name}"] for name in SCORES[task_of(run.job.net)]})
    best = None if p.best_iteration is None else {"cost": p.best_cost, **(p.best_scores or {})}
    return RunResult(
        run.folder, final, run.trainer.iteration, p.seconds, run.trainer.fast, p.stopped_early,
        p.best_iteration, best, last, warnings=tuple(run.record.warnings), calibration=run.record.calibration,
        baseline=baseline_of(run),
        classes=() if run.job.regression else tuple(run.job.train.classes),
    )  # fmt: skip


def baseline_of(run):
    """What always answering the baseline answers, as the summary names it."""
    counts = run.record.class_counts
    if counts is None:
        return "the training mean"
    return repr(run.job.train.classes[max(range(len(counts)), key=counts.__getitem__)])


def train_kept(job, reporter, resume_from=None):
    """A prepared job trained with no run folder (the Python estimators'): (``RunResult``, the ``record.Kept``
    holding its checkpoints and metrics). ``resume_from``, a ``checkpoint.Checkpoint`` with its progress in its
    header, is continued. A run that fails raises ``RunFailure`` as ``start`` does, its record's error set."""
    if resume_from is not None:
        progress = saved_progress(resume_from.header.get("progress"), resume_from.path)
        resume_from = dataclasses.replace(resume_from)
        resume_from.progress = progress
    run = Run(job, None, reporter, NoSignals(), resume_from)
    return result_of(run, run.run()), run.record


def interrupted_at_start(signum, folder=None):
    where = f"; {folder} is kept" if folder else "; no run folder was kept"
    return Interrupted(f"Interrupted by {signal_name(signum)} before training began{where}", folder)


def start(config, reporter, stop):
    """A new run of a resolved config, in a new numbered folder under its output.dir.

    ``stop`` is the ``StopSignals`` the caller installed first of all, before its imports: a signal from then on
    is acted on (see ``started``), never lost."""
    check_runs_folder(config["output"]["dir"])  # before the data is read
    return started(config, reporter, stop)


def start_in(config, folder, reporter, stop, tracking=None):
    """A new run of a resolved config in ``folder``, an empty folder the caller made (a sweep's trial).

    ``tracking``: where the run is tracked in MLflow (a ``tracking.Target``), False for nowhere, or None for
    where its config says."""
    return started(config, reporter, stop, Path(folder), tracking)


def started(config, reporter, stop, given=None, tracking=None):
    """The run of ``config`` in the folder ``given``, else in a new run folder made once the data is ready;
    a run that never started leaves no folder it made.

    A signal before the loop stops the run at the next of its checks: on entry, as pictures decode, after the
    data is loaded, and before metrics.json says a run is there; from then on the loop saves and stops.
    """
    target = target_of(config) if tracking is None else tracking or None  # before the data is read
    folder = given
    try:
        stop.check()
        job = prepare(config, warn=reporter.warn, progress=stop.checking(reporter.decoding), check=stop.check)
        stop.check()
        folder = folder or new_run_folder(config["output"]["dir"], config["name"])
        with holding(folder):
            write_text(folder / CONFIG, dump(job.config))
            with tracked_run(target, folder, job.config, reporter.warn) as tracker:
                run = Run(job, folder, tracker.reporting(reporter), stop)
                run.record.tracked = tracker.kept
                stop.check()
                run.record.metrics("running")
                return tracker.finished(result_of(run, run.run()))
    except BaseException as e:
        if given is None and folder is not None and not (folder / METRICS).exists():
            shutil.rmtree(folder, ignore_errors=True)  # a run that never started leaves no folder
        if isinstance(e, StartupInterrupted):
            raise interrupted_at_start(e.signum, given) from None
        if isinstance(e, OSError):
            raise run_files_failure(e) from None
        raise


def run_files_failure(error):
    """A run folder's own files that could not be made or written (a full or read-only disk, a folder without
    permission) fail the run, exit 1: unlike a path given on the command line, no one named them one by one."""
    return RunFailure(os_error_line(error))


def is_log_record(value):
    return isinstance(value, dict) and is_count(value.get("iteration")) and is_number(value.get("cost"))


PROGRESS_FIELDS = {  # Progress field -> whether a saved value is of its type
    "history": lambda v: isinstance(v, list) and all(is_log_record(r) for r in v),
    "best_cost": lambda v: v is None or is_number(v),
    "best_scores": lambda v: v is None or (isinstance(v, dict) and all(is_number(s) for s in v.values())),
    "best_iteration": lambda v: v is None or is_count(v),
    "since_best": is_count,
    "stopped_early": lambda v: isinstance(v, bool),
    "seconds": lambda v: is_number(v) and v >= 0,
    "pending": lambda v: isinstance(v, list) and all(is_number(c) for c in v),
}


# fields of older checkpoints' progress: before best_scores, the validation accuracy at the best cost was kept alone
FORMER_PROGRESS_FIELDS = {"best_accuracy": lambda v: v is None or is_number(v)}


def saved_progress(raw, path):
    """The ``Progress`` in a checkpoint's header, each field checked for its type (an older checkpoint's too)."""
    fields = {**PROGRESS_FIELDS, **FORMER_PROGRESS_FIELDS}
    if not isinstance(raw, dict) or not raw.keys() <= fields.keys():
        raise UserError(f"{path}: has no readable training progress to resume from")
    for key, fits in fields.items():
        if key in raw and not fits(raw[key]):
            raise UserError(f"{path}: the training progress it saved has a bad {key!r}; it cannot be resumed")
    raw = dict(raw)
    accuracy = raw.pop("best_accuracy", None)
    if accuracy is not None and raw.get("best_scores") is None:
        raw["best_scores"] = {"accuracy": accuracy}
    return Progress(**raw)


def resume(folder, overrides, config_path, reporter, stop, tracking=None):
    """Continue a run folder to its configured length (which ``overrides`` may raise); ``stop`` as for ``start``,
    ``tracking`` as for ``start_in``. A run tracked in MLflow before continues its MLflow run."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    own_path = folder / CONFIG
    if not own_path.exists():
        raise UserError(f"{folder}: not a run folder (no {CONFIG})")
    try:
        with holding(folder):
            return resume_held(folder, overrides, config_path, reporter, stop, tracking)
    except StartupInterrupted as e:
        raise interrupted_at_start(e.signum, folder) from None
    except OSError as e:
        raise run_files_failure(e) from None


def resume_held(folder, overrides, config_path, reporter, stop, tracking):
    """``resume`` once the folder is this process's alone: what a killed writer left can go.

    A signal before the loop stops it at one of ``stop``'s checks, the folder as it was (see ``started``)."""
    stop.check()
    remove_stale_temporaries(folder, RUN_FILES)
    own_path = folder / CONFIG
    own = load_config(own_path)
    wanted = load_config(config_path or own_path, overrides)
    if wanted["data"]["in_memory"] == "auto" and isinstance(own["data"]["in_memory"], bool):
        # a table's run records how auto read it (job.table_read_as): the resume reads it so again
        wanted["data"]["in_memory"] = own["data"]["in_memory"]
    changed = [k for k in changed_keys(own, wanted) if k not in RESUMABLE_KEYS]
    if changed:
        raise UserError(
            f"{folder}: the config differs from the run's own in {', '.join(changed)}; only training.iterations, training.epochs or output.mlflow may change on resume"
        )
    target = target_of(wanted) if tracking is None else tracking or None
    checkpoint_path = folder / CHECKPOINT
    if not checkpoint_path.exists():
        raise UserError(f"{folder}: no {CHECKPOINT} to resume from (the run saved none); start a new run instead")
    saved = checkpoint.load(checkpoint_path)
    saved_config = saved.header.get("config")
    if not isinstance(saved_config, str) or [
        k for k in changed_keys(parse_yaml(saved_config, checkpoint_path), own) if k not in RESUMABLE_KEYS + ADDED_KEYS
    ]:
        raise UserError(f"{checkpoint_path}: was not written by this run's config")
    saved.progress = saved_progress(saved.header.get("progress"), checkpoint_path)
    stop.check()
    job = prepare(wanted, warn=reporter.warn, progress=stop.checking(reporter.decoding), check=stop.check)
    check_same_data(saved.header.get("data"), job.data, checkpoint_path)
    if saved.iteration > job.iterations:
        raise UserError(f"{folder}: already at iteration {saved.iteration}, beyond the {job.iterations} asked for")
    stop.check()
    if wanted != own:
        write_text(own_path, dump(wanted))
    with tracked_run(target, folder, wanted, reporter.warn) as tracker:
        run = Run(job, folder, tracker.reporting(reporter), stop, resume_from=saved)
        run.record.tracked = tracker.kept
        return tracker.finished(result_of(run, run.run()))


def described(data):
    size = f", {decimal_size(data['size'])}" if isinstance(data.get("size"), int) else ""
    examples = data.get("examples")
    examples = plural(examples, "example") if is_count(examples) else f"{examples} examples"
    return f"{examples}{size}, fingerprint {data.get('fingerprint')}"


def check_same_data(recorded, current, checkpoint_path):
    """A resume trains on the set the run began on, or not at all (checkpoints from before dnn recorded it pass)."""
    if not isinstance(recorded, dict):
        return
    if (recorded.get("examples"), recorded.get("fingerprint")) != (current["examples"], current["fingerprint"]):
        raise UserError(
            f"{current['path']}: not the training set this run began on ({checkpoint_path} records "
            f"{described(recorded)}; the file now has {described(current)}); put the original back, or start a new run"
        )
