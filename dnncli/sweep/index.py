"""The one index of a sweep, ``sweep.json``: every trial's values, seed, status, rung and metric.

Only the process driving the sweep writes it, atomically through ``files``, so a reader (``dnn runs``) or a
driver killed at any moment sees the previous index or the next.
"""

import os
import socket
from pathlib import Path

from ..errors import UserError
from ..files import read_json, write_json
from ..run.listing import process_gone

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
    return index


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
