"""Every run folder under a folder, read from metrics.json and config.yaml (`dnn runs`), newest first.

A run folder that cannot be read shows as broken with the reason; it never stops the listing.
"""

import errno
import socket
import stat
from datetime import datetime, timezone
from pathlib import Path

from ..config.load import read_yaml
from ..errors import UserError
from ..files import default_runs, read_json
from ..model.score import SCORES
from ..resources import no_such_process
from ..values import is_count, is_number
from .layout import CONFIG, METRICS, is_run_number

NUMBER = (int, float)


def read_metrics(folder):
    """A run folder's metrics.json as a dict; a ``UserError`` naming the file when it cannot be."""
    path = Path(folder) / METRICS
    metrics = read_json(path, f"{folder}: no {METRICS} (not a run folder, or a run that never started)")
    if not isinstance(metrics, dict):
        raise UserError(f"{path}: not a metrics file (a JSON {type(metrics).__name__}, not an object)")
    return metrics


def shown_metrics(folder):
    """A run folder's metrics.json checked for what the report and the plots show: each field is missing,
    null or of its kind (a ``UserError`` naming the first that is not). ``dnn runs`` lists any metrics."""
    metrics = read_metrics(folder)
    problem = metrics_problem(metrics)
    if problem:
        raise UserError(f"{Path(folder) / METRICS}: a broken metrics file: {problem}")
    return metrics


def is_scores(value):
    """A split's scores: numbers (or None), and a classifier's ``recall``, a number (or None) for each class."""
    return isinstance(value, dict) and all(
        is_number(v)
        or v is None
        or (k == "recall" and isinstance(v, list) and all(is_number(x) or x is None for x in v))
        for k, v in value.items()
    )


def is_record(value):
    """A logged iteration: its number, scores, and per-layer lists of numbers."""
    if not isinstance(value, dict) or not is_count(value.get("iteration")):
        return False
    return all(
        is_number(v) or v is None or (isinstance(v, list) and all(is_number(x) or x is None for x in v))
        for v in value.values()
    )


METRICS_FIELDS = {
    "name": lambda v: isinstance(v, str),
    "status": lambda v: isinstance(v, str),
    "iterations": is_count,
    "iterations_done": is_count,
    "best_iteration": is_count,
    "fast_path": lambda v: isinstance(v, bool),
    "stopped_early": lambda v: isinstance(v, bool),
    "started": lambda v: isinstance(v, str),
    "resumed": lambda v: isinstance(v, str),
    "updated": lambda v: isinstance(v, str),
    "seconds": is_number,
    "versions": lambda v: isinstance(v, dict),
    "best_validation": is_scores,
    "train": is_scores,
    "validation": is_scores,
    "test": is_scores,
    "costs": lambda v: isinstance(v, list) and all(is_record(r) for r in v),
    "error": lambda v: isinstance(v, str),
    "warnings": lambda v: isinstance(v, list) and all(isinstance(w, str) for w in v),
    "task": lambda v: v in SCORES,
    "layers": lambda v: isinstance(v, list) and all(is_count(n) for n in v),
}


def metrics_problem(metrics):
    for key, valid in METRICS_FIELDS.items():
        if metrics.get(key) is not None and not valid(metrics[key]):
            return f"{key} holds {short_value(metrics[key])}"
    for split in ("train", "validation", "test"):
        scores = metrics.get(split)
        if scores is not None and not (
            is_count(scores.get("examples"))
            and "cost" in scores
            and any(set(names) <= set(scores) for names in SCORES.values())
        ):
            return f"{split} holds no examples, accuracy and cost (or RMSE, MAE, R² and cost, of a regression)"
    return None


def short_value(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def pick(data, *keys, kind=NUMBER):
    """``data[k1][k2]...`` if every step is there and the value is of ``kind``, else None."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data if isinstance(data, kind) and not isinstance(data, bool) else None


def run_folders(root):
    """Run folders under ``root``: ``<name>/<n>``, or ``<n>`` when ``root`` is one name's folder."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such folder of runs")
    nested = [p for p in root.glob("*/*") if is_run_number(p.name) and may_be_folder(p)]
    direct = [
        p
        for p in root.glob("*")
        if is_run_number(p.name) and may_be_folder(p) and (may_exist(p / METRICS) or may_exist(p / CONFIG))
    ]
    return nested + direct


def may_be_folder(path):
    """Whether ``path`` is a folder, or cannot be looked at (no permission): then it is listed, and shows as
    broken with the reason, rather than stopping the listing or vanishing from it."""
    try:
        return stat.S_ISDIR(path.stat().st_mode)
    except FileNotFoundError:
        return False  # a dangling link, or gone since the folder was read
    except OSError as e:
        return e.errno != errno.ELOOP


def may_exist(path):
    """Whether ``path`` exists, or cannot be looked at (as ``may_be_folder``)."""
    try:
        path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as e:
        return e.errno != errno.ELOOP
    return True


def moment_of(text):
    """A time of metrics.json (ISO 8601, UTC when it names no zone), or None when it is none the table can show."""
    if not isinstance(text, str):
        return None
    try:
        moment = datetime.fromisoformat(text)
        moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        moment.astimezone()  # a date the table cannot show in local time (year 1 at UTC+1, 9999 at UTC-1)
        return moment.astimezone(timezone.utc)
    except (ValueError, OverflowError, OSError):
        return None


def started_at(text, folder):
    """When a run started, from metrics.json, else the folder's modification time."""
    moment = moment_of(text)
    if moment is not None:
        return moment
    try:
        return datetime.fromtimestamp(folder.stat().st_mtime, timezone.utc)
    except (ValueError, OverflowError, OSError):
        return datetime.fromtimestamp(0, timezone.utc)


def run_row(folder):
    """What the table shows of one run; a broken one has status ``broken`` and a ``problem``."""
    row = {"run": str(folder), "status": "broken", "problem": None}
    try:
        metrics = read_metrics(folder)
    except UserError as e:
        metrics, row["problem"] = {}, e.message
    try:
        config = read_yaml(folder / CONFIG)
    except UserError as e:
        config, row["problem"] = {}, row["problem"] or e.message
    costs = metrics.get("costs")
    last = costs[-1] if isinstance(costs, list) and costs else {}
    row.update(
        name=pick(metrics, "name", kind=str) or pick(config, "name", kind=str),
        data=data_of(config),
        task=task_of_run(metrics, data_of(config)),
        started=started_at(metrics.get("started"), folder).isoformat(timespec="seconds"),
        resumed=resumed.isoformat(timespec="seconds") if (resumed := moment_of(metrics.get("resumed"))) else None,
        layers=pick(metrics, "layers", kind=list) or pick(config, "model", "layers", kind=list),
        learning_rate=pick(config, "training", "learning_rate"),
        iterations=pick(metrics, "iterations", kind=int),
        iterations_done=pick(metrics, "iterations_done", kind=int),
        final_cost=pick(last, "cost"),
        train_cost=pick(metrics, "train", "cost"),
        best_iteration=pick(metrics, "best_iteration", kind=int),
        best_validation_cost=pick(metrics, "best_validation", "cost"),
        **{f"{split}_{name}": pick(metrics, split, name) for split, name in LISTED_SCORES},
        seconds=pick(metrics, "seconds"),
        error=pick(metrics, "error", kind=str),
        warnings=[w for w in pick(metrics, "warnings", kind=list) or [] if isinstance(w, str)],
    )
    for name in ("accuracy", "rmse", "r2"):  # the last logged validation score, while there is no final one
        if row[f"validation_{name}"] is None:
            row[f"validation_{name}"] = pick(last, f"validation_{name}")
    if metrics and not row["problem"]:
        row["status"] = pick(metrics, "status", kind=str) or "broken"
        if row["status"] == "broken":
            row["problem"] = f"{folder / METRICS}: no status"
        elif row["status"] == "running" and process_gone(metrics.get("process")):
            row["status"] = "killed"
    return row


# the scores a row has, (split, name): accuracy everywhere for classification; for a regression R² everywhere, and
# RMSE, in the targets' units, of the sets a run is judged on
LISTED_SCORES = (
    ("train", "accuracy"), ("validation", "accuracy"), ("best_validation", "accuracy"), ("test", "accuracy"),
    ("train", "r2"), ("validation", "r2"), ("best_validation", "r2"), ("test", "r2"),
    ("validation", "rmse"), ("test", "rmse"), ("test", "balanced_accuracy"), ("test", "baseline_accuracy"),
    ("test", "baseline_rmse"),
)  # fmt: skip


def data_of(config):
    """What a run learns from, by its config: ``table`` (it names a target column) or ``pictures``; None unknown."""
    data = config.get("data") if isinstance(config, dict) else None
    if not isinstance(data, dict):
        return None
    return "table" if data.get("target") is not None else "pictures"


def task_of_run(metrics, data):
    """``classification`` or ``regression``: as metrics.json says, or for runs from before it said, pictures'
    always classification and a table's by the scores it holds; None when it holds none yet."""
    if metrics.get("task") in SCORES:
        return metrics["task"]
    if data == "pictures":
        return "classification"
    records = metrics.get("costs") if isinstance(metrics.get("costs"), list) else []
    held = [metrics.get(key) for key in ("train", "validation", "test", "best_validation")] + records[-1:]
    for scores in (s for s in held if isinstance(s, dict)):
        for task, names in SCORES.items():
            if any(name in scores or f"validation_{name}" in scores for name in names):
                return task
    return None


def process_gone(process):
    """Whether the process a run's metrics name, on this machine, no longer exists (killed, or power lost); where
    that cannot be told (Windows: ``resources.no_such_process``), a run shows what its metrics say."""
    if not isinstance(process, dict) or process.get("host") != socket.gethostname():
        return False  # another machine's run, or one from before runs named their process: cannot tell
    pid = process.get("pid")
    return isinstance(pid, int) and not isinstance(pid, bool) and no_such_process(pid)


def list_runs(root=None):
    """Every run under ``root`` (default: ``files.default_runs()``) as a row, newest first."""
    rows = [run_row(folder) for folder in run_folders(default_runs() if root is None else root)]
    return sorted(rows, key=newness, reverse=True)


def newness(row):
    """Start time, then the run number: runs started within the same second still sort."""
    folder = Path(row["run"])
    return datetime.fromisoformat(row["started"]), str(folder.parent), int(folder.name)
