"""How training shows what it is doing: a rich bar, plain lines, JSON lines, or nothing.

``auto`` is the rich bar on a terminal and plain lines when output goes to a
file or a pipe (under nohup, in a CI log). The bar and plain lines go to stderr,
one line per logged iteration, and end with the cost curve drawn in text. The
CLI makes the reporter and hands it to the run, which calls it.
JSON lines go to stdout, where scripts read them: one object per logged
iteration with the field names of metrics.json's ``costs`` records.
"""

import json
import math
import os
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text

from ..errors import warning_text
from ..run.reporting import Reporter
from .console import decoding

REFRESH_SECONDS = 0.1
CURVE_WIDTH, CURVE_HEIGHT = 60, 6
BLOCKS = " ▁▂▃▄▅▆▇█"  # eighths of a character cell, empty to full

# how a progress line shows a record's fields; fields not listed show as "name value"
LABELS = {
    "validation_cost": ("val cost", "{:.4f}"),
    "validation_accuracy": ("val acc", "{:.4f}"),
    "validation_rmse": ("val RMSE", "{:.4g}"),
    "validation_mae": ("val MAE", "{:.4g}"),
    "validation_r2": ("val R²", "{:.4f}"),
    "dead_relu": ("dead", "{:.0%}"),
    "gradient_norm": ("|grad|", "{:.1e}"),
}


def show_value(value, style):
    if value is None:
        return "-"
    if isinstance(value, list):
        return " ".join(show_value(v, style) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return style.format(value)
    return str(value)


def record_line(record, total, seconds):
    """One logged iteration as a line: iteration, cost, then every other field of the record."""
    parts = [f"iteration {record['iteration']:>{len(str(total))}}/{total}", f"cost {record['cost']:.6f}"]
    for key, value in record.items():
        if key not in ("iteration", "cost"):
            label, style = LABELS.get(key, (key, "{:.4g}"))
            parts.append(f"{label} {show_value(value, style)}")
    parts.append(f"{seconds:.1f}s")
    return "  ".join(parts)


def columns(values, width):
    """``values`` stretched or thinned to at most ``width`` columns, first and last kept."""
    n = len(values)
    if n >= width:
        return [values[round(c * (n - 1) / (width - 1))] for c in range(width)]
    return [v for v in values for _ in range(width // n)]


def cost_curve(records, width=CURVE_WIDTH, height=CURVE_HEIGHT, view=None):
    """The logged costs as a column chart of block characters, or no lines for fewer than two.

    ``view`` (low, high): the costs shown, a cost beyond drawn at the edge; by default, all of them."""
    points = [(r["iteration"], r["cost"]) for r in records if math.isfinite(r["cost"])]
    if len(points) < 2:
        return []
    costs = columns([c for _, c in points], width)
    low, high = view or (min(costs), max(costs))
    costs = [min(max(c, low), high) for c in costs]
    steps = height * 8
    # every column gets at least one eighth, so the lowest cost still shows
    levels = [1 + round((c - low) / ((high - low) or 1) * (steps - 1)) for c in costs]
    top, bottom = f"{high:.4f}", f"{low:.4f}"
    margin = max(len(top), len(bottom))
    lines = [f"{'cost':>{margin}}"]
    for row in range(height):
        base = (height - 1 - row) * 8
        label = top if row == 0 else bottom if row == height - 1 else ""
        bars = "".join(BLOCKS[min(max(level - base, 0), 8)] for level in levels)
        lines.append(f"{label:>{margin}} {'┤' if label else '│'}{bars}")
    first, last = str(points[0][0]), str(points[-1][0])
    lines.append(f"{'':>{margin}} └{'─' * len(costs)}")
    lines.append(f"{'':>{margin}}  {first}{last:>{len(costs) - len(first)}}  iteration")
    return lines


class QuietReporter(Reporter):
    """Nothing on screen but warnings (``dnn train --quiet``)."""


class LineReporter(QuietReporter):
    """What the rich bar and plain lines share: a line per logged record, the curve at the end."""

    def start(self, total, done, history=()):
        self.total = total
        self.started = time.monotonic()
        self.records = list(history)

    def log(self, record):
        self.records.append(record)
        self.print(record_line(record, self.total, time.monotonic() - self.started))

    def finish(self, status):
        if status in ("finished", "interrupted"):
            for line in cost_curve(self.records):
                self.print(line)


def write_line(stream, line):
    """Writes a line; False when the reader has gone (``dnn train | head``), and the run goes on unseen:
    the stream then points at the null device, so that no later write or flush fails either."""
    try:
        print(line, file=stream, flush=True)
        return True
    except BrokenPipeError:
        try:
            fd = stream.fileno()
        except (OSError, ValueError):
            return False  # not a real file: nothing will flush to the closed pipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
        return False


class PlainReporter(LineReporter):
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def print(self, line):
        if self.stream is not None and not write_line(self.stream, line):
            self.stream = None

    def warn(self, text):
        self.print(f"Warning: {warning_text(text)}")


class JsonlReporter(QuietReporter):
    """One JSON object per logged iteration, with the field names of metrics.json."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def start(self, total, done, history=()):
        self.emit({"event": "start", "iterations": total, "done": done})

    def log(self, record):
        self.emit({"event": "log", **record})

    def warn(self, text):
        self.emit({"event": "warning", "message": text})

    def finish(self, status):
        self.emit({"event": "end", "status": status})

    def emit(self, event):
        if self.stream is not None and not write_line(self.stream, json.dumps(event)):
            self.stream = None
            self.output_closed = True  # the reader went away: the command ends as every command then does

    output_closed = False


class RichReporter(LineReporter):
    """A live bar at the bottom; logged lines, warnings and the curve scroll above it."""

    def __init__(self, console=None):
        self.console = console or Console(stderr=True, highlight=False)
        self.decoding = decoding(transient=True)

    def start(self, total, done, history=()):
        super().start(total, done, history)
        self.progress = Progress(
            TextColumn("[bold]training"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("cost [cyan]{task.fields[cost]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self.task = self.progress.add_task("train", total=total, completed=done, cost="-")
        self.progress.start()
        self.last = 0.0

    def update(self, iteration, cost):
        now = time.monotonic()
        if now - self.last >= REFRESH_SECONDS:
            self.last = now
            self.progress.update(self.task, completed=iteration + 1, cost=f"{cost:.6f}")

    def log(self, record):
        self.progress.update(self.task, completed=record["iteration"] + 1, cost=f"{record['cost']:.6f}")
        super().log(record)

    def print(self, line):
        self.progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

    def warn(self, text):
        self.progress.console.print(Text.assemble(("Warning:", "yellow"), " ", warning_text(text)))

    def finish(self, status):
        self.progress.stop()
        super().finish(status)


REPORTERS = {"rich": RichReporter, "plain": PlainReporter, "jsonl": JsonlReporter, "quiet": QuietReporter}


def reporter(mode):
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "plain"
    return REPORTERS[mode]()
