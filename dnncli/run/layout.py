"""Run folders: ``<output.dir>/<name>/<n>/``, and a pointer to the newest run."""

import os
from pathlib import Path

from ..errors import UserError
from ..files import RUN_FILES, default_runs, write_text

LATEST = "latest"
CHECKPOINT, BEST, METRICS, CONFIG = RUN_FILES


def check_runs_folder(runs):
    """``output.dir`` must be a folder, or a path where one can be made: not a file, nor below one."""
    for path in (Path(runs), *Path(runs).parents):
        if path.is_dir():
            return
        if os.path.lexists(path):
            which = "is" if path == Path(runs) else f"lies below {path}, which is"
            raise UserError(f"output.dir: {runs} {which} not a folder; give a folder for the runs")


def is_run_number(name):
    """A run folder's name: ASCII digits only (``str.isdigit`` takes ``²`` and other digits ``int`` refuses)."""
    return name.isascii() and name.isdigit()


def new_run_folder(runs, name):
    """A fresh numbered folder under ``runs/name``; numbers are never reused."""
    check_runs_folder(runs)
    parent = Path(runs) / name
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"output.dir: {parent} is not a folder; give a folder for the runs") from None
    taken = [int(p.name) for p in parent.iterdir() if is_run_number(p.name)]
    number = max(taken, default=0) + 1
    while True:
        folder = parent / str(number)
        try:
            folder.mkdir()
            return folder
        except FileExistsError:
            number += 1  # another run took it first


def remember_latest(runs, folder):
    write_text(Path(runs) / LATEST, os.path.relpath(folder, runs) + "\n")


def latest_run(runs=None):
    """The newest run under ``runs`` (default: ``files.default_runs()``), as ``runs/latest`` names it."""
    runs = default_runs() if runs is None else Path(runs)
    pointer = runs / LATEST
    try:
        relative = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise UserError(f"no runs yet under {runs}/: train one with `dnn train --config FILE`, or pass --run") from None
    except UnicodeDecodeError:
        raise UserError(f"{pointer}: not a run pointer (not UTF-8 text); pass --run") from None
    except OSError as e:
        raise UserError(f"{pointer}: cannot read ({e.strerror or e})") from None
    if not relative or "\0" in relative or "\n" in relative:
        raise UserError(f"{pointer}: not a run pointer (one line naming a run folder); pass --run")
    folder = runs / relative
    if not folder.is_dir():
        raise UserError(f"{pointer}: names {folder}, which no longer exists; pass --run")
    return folder


def run_checkpoint(folder, name=CHECKPOINT):
    """The checkpoint ``name`` (the last, or ``BEST``) of a run folder, with a clear message when it is not there."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    path = folder / name
    if not path.exists():
        if name == BEST:
            raise UserError(
                f"{folder}: no {BEST} in this run folder (a run keeps its best weights when it holds out a validation set: training.validation_fraction)"
            )
        raise UserError(f"{folder}: no {name} in this run folder")
    return path
