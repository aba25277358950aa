"""One trial's run on a worker, wherever it is: the task in, the trial folder's files out.

A task carries a resolved config, the iterations to reach (a rung) and the files of the trial folder so far
(empty for a trial that has not started). The worker trains in a temporary folder of its own and sends every
file back, so the driver writes the trial folder whether or not the workers share its disk.
"""

import os
import socket
import tempfile
import traceback
from pathlib import Path

from ..errors import Interrupted, RunFailure, UserError
from ..run.layout import CHECKPOINT, CONFIG
from ..run.reporting import Reporter
from ..run.signals import StopSignals
from ..run.train import resume, start_in


class TrialReporter(Reporter):
    """Nothing on screen: a trial's warnings travel back with its result."""

    def __init__(self):
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def make_task(number, config, iterations, files, tracking=False):
    """``tracking``: the trial's ``run.tracking.Target`` in MLflow, under the sweep's run, or False."""
    return {"trial": number, "config": config, "iterations": iterations, "files": files, "tracking": tracking}


def with_length(config, iterations):
    if iterations is None:
        return config
    training = dict(config["training"], iterations=iterations, epochs=None)
    return dict(config, training=training)


def run_task(task):
    """Trains the task's trial to its length; returns its status, its one-line error and its folder's files."""
    limit_blas_threads()
    reporter = TrialReporter()
    status, error = "finished", None
    with tempfile.TemporaryDirectory(prefix="dnn-trial-") as tmp:
        folder = Path(tmp) / "trials" / "trial"  # runs/latest lands in tmp, beside trials/
        folder.mkdir(parents=True)
        files = task["files"]
        for name, data in files.items():
            (folder / name).write_bytes(data)
        try:
            with StopSignals() as stop:
                if CHECKPOINT in files:
                    length = task["iterations"]
                    overrides = [] if length is None else [f"training.iterations={length}", "training.epochs=null"]
                    resume(folder, overrides, None, reporter, stop, tracking=task["tracking"])
                else:
                    start_in(with_length(task["config"], task["iterations"]), folder, reporter, stop, task["tracking"])
        except Interrupted:
            status = "interrupted"
        except (UserError, RunFailure) as e:
            status, error = "failed", e.message
        except Exception as e:  # a trial's own failure must not stop the sweep
            status, error = "failed", f"{type(e).__name__}: {e}"
            traceback.print_exc()
        if CONFIG not in [p.name for p in folder.iterdir()]:
            status = "failed" if status == "finished" else status
        returned = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")}
    return {
        "trial": task["trial"],
        "status": status,
        "error": error,
        "warnings": reporter.warnings,
        "files": returned,
        "worker": {"pid": os.getpid(), "host": socket.gethostname()},
    }


def limit_blas_threads():
    """One BLAS thread per trial: trials run side by side, and one thread sums in one order, so a trial's
    numbers are the same on every worker."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)
