"""How training shows what it is doing: a rich bar, plain lines, JSON lines, or nothing.

``auto`` is the rich bar on a terminal and plain lines when output goes to a
file or a pipe. Plain lines and the bar go to stderr; JSON lines go to stdout,
where scripts read them.
"""

import json
import sys
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

MODES = ("auto", "rich", "plain", "jsonl", "quiet")
REFRESH_SECONDS = 0.1


class QuietReporter:
    def start(self, total, done):
        pass

    def update(self, iteration, cost):
        pass

    def log(self, record):
        pass

    def warn(self, text):
        print(f"Warning: {text}", file=sys.stderr, flush=True)

    def finish(self, status):
        pass


class PlainReporter(QuietReporter):
    def __init__(self, stream=None):
        self.stream = stream or sys.stderr

    def start(self, total, done):
        self.total = total
        self.started = time.monotonic()
        self.done = done

    def log(self, record):
        elapsed = time.monotonic() - self.started
        extra = "".join(f"  {k} {v:.4f}" for k, v in record.items() if k.startswith("validation_") and v is not None)
        print(
            f"iteration {record['iteration']:>{len(str(self.total))}}/{self.total}  cost {record['cost']:.6f}{extra}  {elapsed:.1f}s",
            file=self.stream,
            flush=True,
        )


class JsonlReporter(QuietReporter):
    """One JSON object per logged iteration, with the field names of metrics.json."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def start(self, total, done):
        self.emit({"event": "start", "iterations": total, "done": done})

    def log(self, record):
        self.emit({"event": "log", **record})

    def warn(self, text):
        self.emit({"event": "warning", "message": text})

    def finish(self, status):
        self.emit({"event": "end", "status": status})

    def emit(self, event):
        print(json.dumps(event), file=self.stream, flush=True)


class RichReporter(QuietReporter):
    def __init__(self, console=None):
        self.console = console or Console(stderr=True)

    def start(self, total, done):
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

    def warn(self, text):
        self.progress.console.print(f"[yellow]Warning:[/] {text}")

    def finish(self, status):
        self.progress.stop()


def reporter(mode):
    if mode == "auto":
        mode = "rich" if sys.stderr.isatty() else "plain"
    return {"rich": RichReporter, "plain": PlainReporter, "jsonl": JsonlReporter, "quiet": QuietReporter}[mode]()
