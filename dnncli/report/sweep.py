"""How a sweep shows what it is doing: a live view on a terminal, plain lines otherwise (both on stderr).

The driver calls ``start``, ``changed`` (a trial's status changed) and ``finish``.
"""

import sys

from rich.console import Console
from rich.live import Live
from rich.text import Text

from ..errors import warning_text
from ..sweep.index import best_trial, counts, ranked
from ..text import plural
from .progress import write_line
from .tables import sweep_value

REFRESH_PER_SECOND = 4


def values_text(values):
    return ", ".join(f"{key.rsplit('.', 1)[-1]}={sweep_value(value)}" for key, value in values.items())


def tally_text(index):
    tally = counts(index)
    parts = [f"{tally[s]} {s}" for s in ("pending", "running", "finished", "pruned", "failed") if tally[s]]
    best = best_trial(index) or best_so_far(index)
    if best:
        parts.append(f"best {index['metric']} {best['metric']:.6g} ({best['folder']})")
    return ", ".join(parts)


def best_so_far(index):
    """The best metric among trials scored at the latest rung reached, during halving."""
    scored = [row for row in ranked(index) if row["metric"] is not None and row["status"] != "failed"]
    return scored[0] if scored else None


def trial_line(index, row):
    text = f"{row['folder']} {row['status']}"
    if row["status"] == "running":
        text += f"  {values_text(row['values'])}"
    elif row["metric"] is not None and row["status"] in ("finished", "pruned", "pending"):
        text += f"  {index['metric']} {row['metric']:.6g}  iterations {row['iterations_done']}"
    if row["status"] == "failed" and row["error"]:
        text += f"  {row['error']}"
    return text


class PlainSweepReporter:
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def print(self, line):
        if self.stream is not None and not write_line(self.stream, line):
            self.stream = None

    def start(self, index, where, capacity):
        self.print(
            f"sweep {index['name']}: {plural(len(index['trials']), 'trial')}, {capacity} at a time ({where}); {tally_text(index)}"
        )

    def changed(self, index, row):
        self.print(f"{trial_line(index, row)}  [{tally_text(index)}]")

    def warn(self, text):
        write_line(self.stream or sys.stderr, f"Warning: {warning_text(text)}")  # shown even with --progress quiet

    def finish(self, index, status):
        self.print(f"sweep {status}: {tally_text(index)}")


class LiveSweepReporter(PlainSweepReporter):
    """Trial lines scroll above a live line of the counts and the best so far."""

    def __init__(self, console=None):
        self.console = console or Console(stderr=True, highlight=False)

    def start(self, index, where, capacity):
        self.live = Live(
            self.status(index), console=self.console, refresh_per_second=REFRESH_PER_SECOND, transient=True
        )
        self.live.start()
        self.console.print(
            f"sweep {index['name']}: {plural(len(index['trials']), 'trial')}, {capacity} at a time ({where})",
            markup=False,
        )

    def status(self, index):
        tally = counts(index)
        done = tally["finished"] + tally["pruned"] + tally["failed"]
        return Text.assemble(("sweep ", "bold"), f"{done}/{len(index['trials'])}  ", tally_text(index))

    def changed(self, index, row):
        self.console.print(trial_line(index, row), markup=False, highlight=False)
        self.live.update(self.status(index))

    def warn(self, text):
        self.console.print(Text.assemble(("Warning:", "yellow"), " ", warning_text(text)))

    def finish(self, index, status):
        self.live.stop()
        self.console.print(f"sweep {status}: {tally_text(index)}", markup=False)


class QuietSweepReporter(PlainSweepReporter):
    def print(self, line):
        pass


def sweep_reporter(mode):
    if mode == "quiet":
        return QuietSweepReporter()
    if mode == "rich" or (mode == "auto" and sys.stderr.isatty()):
        return LiveSweepReporter()
    return PlainSweepReporter()
