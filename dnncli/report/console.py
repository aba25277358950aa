"""Where the commands print: consoles for tables on stdout, and the bar shown while pictures are decoded."""

from contextlib import contextmanager

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from ..errors import shown_text

PIPE_WIDTH = 200


class StdoutConsole(Console):
    """A console whose closed pipe is an error for the command line to handle (rich would exit 1 itself)."""

    def render_str(self, text, **kwargs):
        """Every text printed, a table's cells too, with its control characters escaped (``errors.shown_text``):
        a column, a class or a file named with an escape sequence cannot drive the terminal."""
        return super().render_str(shown_text(text), **kwargs)

    def on_broken_pipe(self):
        self.quiet = True
        raise BrokenPipeError


def stdout_console():
    """The console for stdout; its text is never read as rich's markup: a column, a class or a file may be
    called [/x]."""
    return StdoutConsole(highlight=False, markup=False)


def table_console():
    """A console for tables on stdout: the terminal's width, or wide enough in a file or pipe,
    where wrapping a table helps no one."""
    console = stdout_console()
    if not console.is_terminal:
        console.width = max(console.width, PIPE_WIDTH)
    return console


def decoding_bar(console=None, transient=False):
    """A rich bar on stderr while pictures are decoded; nothing when stderr is not a terminal."""
    console = console or Console(stderr=True)
    return Progress(
        TextColumn("decoding [bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,
    )


def decoding(transient=False):
    """``progress(description, total)`` for the data layer: a bar per task, advanced by the number done."""
    bar = decoding_bar(transient=transient)

    @contextmanager
    def progress(description, total):
        with bar:
            task = bar.add_task(escape(description), total=total)  # a folder may be called [/x]
            yield lambda n: bar.advance(task, n)

    return progress
