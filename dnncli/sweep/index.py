"""The one index of a sweep, ``sweep.json``: every trial's values, seed, status, rung and metric.

Only the process driving the sweep writes it, atomically through ``files``, so a reader (``dnn runs``) or a
driver killed at any moment sees the previous index or the next.
"""

import os
import socket
from pathlib import Path

from ..errors import UserError
from ..files import read_json, write_json
from ..run.listing import process_gone, short_value
from ..values import is_number, is_whole

INDEX = "sweep.json"
STATUSES = ("pending", "running", "finished", "pruned", "failed")
FORMAT = 1


def is_sweep(folder):
    return (Path(folder) / INDEX).is_file()


def new_index(sweep, trials):
    return {
        "format": FORMAT,
        "name": sweep.name,
        "metric": sweep.metric,
        "minimise": sweep.minimise,
        "method": sweep.method,
        "seed": sweep.seed,
        "parameters": {p.key: p.kind for p in sweep.parameters},
        "rungs": list(sweep.rungs) if sweep.rungs else None,
        "keep": sweep.keep,
        "driver": None,
        "trials": [
            {
                "trial": t.number,
                "folder": t.folder_name,
                "values": t.values,
                "seed": t.seed,
                "status": "pending",
                "rung": -1,  # the last rung it completed
                "iterations_done": 0,
                "metric": None,
                "error": None,
                "attempts": 0,
            }
            for t in trials
        ],
    }


def driver_process():
    return {"pid": os.getpid(), "host": socket.gethostname()}


def write_index(folder, index):
    write_json(Path(folder) / INDEX, index)


def read_index(folder):
    path = Path(folder) / INDEX
    if not Path(folder).is_dir():
        raise UserError(f"{folder}: no such sweep folder")
    index = read_json(path, f"{folder}: not a sweep folder (no {INDEX})")
    if not isinstance(index, dict) or not isinstance(index.get("trials"), list) or index.get("format") != FORMAT:
        raise UserError(f"{path}: not a sweep index of this version of dnn")
    problem = index_problem(index)
    if problem:
        raise UserError(f"{path}: a broken sweep index: {problem}")
    for row in index["trials"]:
        trial = Path(folder) / row["folder"]
        if trial.is_symlink() or (os.path.lexists(trial) and not trial.is_dir()):
            # the driver writes a trial's files there: never through a link, to another run's folder
            raise UserError(f"{trial}: a link or a file, not a folder of the sweep's own, where its trial's files go")
    return index


def index_problem(index):
    """What is wrong in an index that is JSON of the right format, or None: every field the readers and the
    driver use, checked for its type and range, and each trial's folder its own name inside the sweep."""
    from .spec import DISTRIBUTIONS, METRICS

    rungs = index.get("rungs")
    last_rung = len(rungs) - 1 if isinstance(rungs, list) else 0
    sweep_fields = {
        "metric": lambda v: v in METRICS,
        "minimise": lambda v: isinstance(v, bool),
        "rungs": lambda v: v is None or (isinstance(v, list) and v and all(is_whole(r, 1) for r in v)),
        "keep": lambda v: is_number(v) and 0 < v < 1,
        "parameters": lambda v: isinstance(v, dict) and v and all(kind in DISTRIBUTIONS for kind in v.values()),
        "overrides": lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
    }
    trial_fields = {
        "status": lambda v: v in STATUSES,
        "rung": lambda v: is_whole(v, -1, last_rung),
        "values": lambda v: isinstance(v, dict),
        "seed": lambda v: is_whole(v, 0),
        "iterations_done": lambda v: is_whole(v, 0),
        "attempts": lambda v: is_whole(v, 0),
        "metric": lambda v: v is None or is_number(v),
        "error": lambda v: v is None or isinstance(v, str),
    }
    defaults = {"overrides": [], "attempts": 0}  # fields older indexes lack
    seen = set()
    for key, valid in sweep_fields.items():
        if not valid(index.get(key, defaults.get(key))):
            return f"{key} holds {short_value(index.get(key))}"
    for i, row in enumerate(index["trials"]):
        if not isinstance(row, dict) or not is_whole(row.get("trial"), 1):
            return f"trials[{i}] is not a trial"
        if row["trial"] in seen:
            return f"trials[{i}] is trial {row['trial']} again"
        seen.add(row["trial"])
        if row.get("folder") != f"trial-{row['trial']:03d}":
            return f"trials[{i}].folder holds {short_value(row.get('folder'))}, not trial-{row['trial']:03d}, the trial's own"
        for key, valid in trial_fields.items():
            if not valid(row.get(key, defaults.get(key))):
                return f"trials[{i}].{key} holds {short_value(row.get(key))}"
        for key, kind in index["parameters"].items():
            if key not in row["values"] or (kind != "choice" and not is_number(row["values"][key])):
                return f"trials[{i}].values holds no {kind} value of {short_value(key)}"
    return None


def ranked(index):
    """The trials best first: those that reached a later rung first, then by the metric; failed ones last."""
    sign = 1 if index["minimise"] else -1

    def key(row):
        scored = row["metric"] is not None and row["status"] != "failed"
        return (not scored, -row["rung"], sign * row["metric"] if scored else 0, row["trial"])

    return sorted(index["trials"], key=key)


def best_trial(index):
    """The best finished trial's row, or None."""
    finished = [row for row in ranked(index) if row["status"] == "finished" and row["metric"] is not None]
    return finished[0] if finished else None


def counts(index):
    tally = dict.fromkeys(STATUSES, 0)
    for row in index["trials"]:
        tally[row["status"]] = tally.get(row["status"], 0) + 1
    return tally


def as_seen(index):
    """The index as a reader shows it: trials ``running`` under a driver whose process is gone are ``killed``
    (``dnn sweep --resume`` runs them again)."""
    if not process_gone(index.get("driver")):
        return index
    trials = [dict(row, status="killed") if row["status"] == "running" else row for row in index["trials"]]
    return {**index, "trials": trials}
