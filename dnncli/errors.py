"""The error contract: what a user did wrong exits 2, what failed while running exits 1.

Both are click exceptions, so the CLI prints ``Error: <message>`` as one line on
stderr and exits with the code, with no traceback.
"""

import errno

import click

# C0 and C1 control characters, and the two Unicode line and paragraph separators: everything that ends a line
# for str.splitlines or a terminal
CONTROL = (
    {c: f"\\x{c:02x}" for c in (*range(32), *range(127, 160))}
    | {0x2028: "\\u2028", 0x2029: "\\u2029"}
    | {ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"}
)


def one_line(text):
    """``text`` with control characters written as escapes (``\\n``, ``\\x1e``): a file name holding a
    newline cannot split the one line an error is."""
    return text.translate(CONTROL)


LATER_LINE = "\n  "  # how a warning's later lines begin: indented by two spaces


def warning_text(text):
    """A warning's text as it is shown: its later lines (each begun by ``LATER_LINE``) kept, any other line
    break or control character (a file or a column may be named with one) written as an escape, so a warning
    cannot forge lines of its own."""
    return LATER_LINE.join(one_line(line) for line in text.split(LATER_LINE))


SHOWN = {c: escape for c, escape in CONTROL.items() if c != ord("\n")}


def shown_text(text):
    """``text`` as a terminal may be given it: control characters (an escape sequence that recolours or moves
    the cursor, a carriage return) written as escapes; a line break kept, a table cell may hold several lines."""
    return text.translate(SHOWN)


EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: what a shell reports for a tool whose reader went away (`| head -1`)


class UserError(click.ClickException):
    """Bad usage or bad input: a config, a data file, a checkpoint, a picture."""

    exit_code = EXIT_USAGE

    def __init__(self, message):
        super().__init__(one_line(message))


class RunFailure(click.ClickException):
    """Something went wrong while running that the input did not cause directly."""

    exit_code = EXIT_FAILURE

    def __init__(self, message):
        super().__init__(one_line(message))


# what a path a user gave causes: too long, not there, not a folder, no permission, a read-only place, a busy or
# looping name; a full disk (ENOSPC, EDQUOT) or a failing one (EIO) is no one's mistake and stays a RunFailure
USER_PATH_ERRNOS = frozenset(
    getattr(errno, name)
    for name in (
        "ENAMETOOLONG", "ENOENT", "ENOTDIR", "EISDIR", "EACCES", "EPERM", "EROFS", "EBUSY", "ELOOP", "EEXIST", "EINVAL",
    )
    if hasattr(errno, name)
)  # fmt: skip


def os_error_line(error):
    """A file that could not be read or written, and the system's reason: ``runs/x/1/config.yaml: No space left on device``."""
    reason = error.strerror or str(error) or type(error).__name__
    return f"{error.filename}: {reason}" if error.filename else reason


def os_error_exception(error):
    """The click exception an ``OSError`` that escaped a command becomes: a ``UserError`` when it names a path
    and its reason is one the path itself causes, else a ``RunFailure``."""
    if error.filename and error.errno in USER_PATH_ERRNOS:
        return UserError(os_error_line(error))
    return RunFailure(os_error_line(error))


class Interrupted(click.ClickException):
    """A run stopped by a signal, its checkpoint saved; ``folder`` is the run to resume."""

    exit_code = EXIT_INTERRUPTED

    def __init__(self, message, folder):
        super().__init__(message)
        self.folder = folder

    def show(self, file=None):
        click.echo(self.message, err=True)
