"""One way to write every file a run leaves: atomically; and where runs go when nothing says.

The bytes go to a temporary file in the same folder, are flushed and fsynced,
and the file is renamed over the target, so a reader (or a process killed at
any moment) sees the old file or the new one, never a torn one. The file gets
the mode a plain ``open()`` would give it (0666 less the umask), so a teammate
or a web server can read the runs when the umask lets them.

A write that fails raises ``OSError`` naming the target (not the temporary file),
with the system's reason: a full disk, a read-only file system, no permission.
A target that is no regular file (a FIFO, a device, a folder) is refused before
anything is written, and a symbolic link is written through (``write_target``).

And one way to check a path a user gives before it is opened (``regular_file``), which notes it among the
command's inputs (``INPUTS``): a file a command writes for its user (``output=True``: ``--out``, ``--json
FILE``) is refused when it would replace one of them, or a run's own file, however its path is spelled
(``output_target``; ``check_output`` checks an output before a command's work).
"""

import errno
import json
import os
import secrets
import stat
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError
from .text import short_path

RUNS_VARIABLE = "DNN_RUNS"
TEMPORARY_SUFFIX = ".tmp"
# a run folder's own files (``run.layout`` names each): what resumes, evaluates and lists a run
RUN_FILES = ("checkpoint.npz", "best.npz", "metrics.json", "config.yaml")
# the files the command at work has read, by identity (device, inode) -> (what, path): cleared as each begins
INPUTS = {}


def default_runs():
    """The folder of runs when a config or a command names none: ``$DNN_RUNS``, else ``runs`` here."""
    return Path(os.environ.get(RUNS_VARIABLE) or "runs")


def temporary_name(path):
    return path.parent / f".{path.name}.{secrets.token_hex(4)}{TEMPORARY_SUFFIX}"


def is_temporary_of(name, target):
    """Whether a file ``name`` is a temporary file ``atomic_path`` made for ``target``."""
    return name.startswith(f".{target}.") and name.endswith(TEMPORARY_SUFFIX)


def create_beside(path):
    """A new empty temporary file beside ``path``, created as ``open()`` creates files (0666 less the umask)."""
    for _ in range(100):
        tmp = temporary_name(path)
        try:
            fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{path}: no free temporary name beside it")


@contextmanager
def atomic_path(path, output=False):
    """A temporary path beside ``path`` to write to; on success it replaces ``path`` (see ``write_target``).

    ``output``: a file the command writes for its user, refused first when it would replace one of the command's
    inputs or a run's own file (``output_target``)."""
    named = Path(path)
    path = output_target(named) if output else write_target(named)
    try:
        tmp = create_beside(path)
    except OSError as e:
        raise naming(e, named) from None
    try:
        yield tmp
        if output:
            output_target(named)  # again: the files read while this one was written are inputs too
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise naming(e, named) from None
        raise
    sync_folder(path.parent)


def output_target(path):
    """The file a write of a command's output to ``path`` replaces (``write_target``), refused when it is a file
    the command read or a run's own file.

    The file is compared by identity (device and inode), so no spelling gets past: relative, with ``..``, a
    symbolic link, or a hard link; a run's file by its real folder, which holds the run's other files.
    """
    target = write_target(path)
    real = Path(os.path.realpath(target))
    if real.name in RUN_FILES and any((real.parent / name).exists() for name in RUN_FILES if name != real.name):
        raise UserError(
            f"{path}: is the {real.name} of the run {short_path(real.parent)}; writing would replace it: give another name"
        )
    try:
        found = os.stat(real)
    except OSError:
        return target
    if (found.st_dev, found.st_ino) in INPUTS:
        what, where = INPUTS[found.st_dev, found.st_ino]
        named = "" if str(where) == str(path) else f" {where}"
        raise UserError(f"{path}: is the {what}{named} this command reads; writing would replace it: give another name")
    return target


def note_input(path, found, what):
    """``path``, whose ``os.stat`` is ``found``, is one of the command's inputs."""
    INPUTS[found.st_dev, found.st_ino] = (what, path)


def write_target(path):
    """The file a write to ``path`` replaces, checked before anything is written.

    A symbolic link is written through, to the file it points to, as a plain ``open()`` would: the link stays a
    link (renaming over it would silently cut it from the file it shares), and the temporary file goes beside
    the real file, on its file system. A FIFO, a device, a socket or a folder there is a ``UserError`` naming
    ``path``: the rename would replace it with a regular file (as root, even /dev/null).
    """
    path = Path(path)
    try:
        link = stat.S_ISLNK(os.lstat(path).st_mode)
    except FileNotFoundError:
        return path
    except OSError as e:
        raise naming(e, path) from None
    target = Path(os.path.realpath(path)) if link else path
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return target  # a link to a file not made yet: open() would create it
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UserError(f"{path}: a loop of symbolic links, not a file to write") from None
        raise naming(e, path) from None
    if not stat.S_ISREG(mode):
        raise UserError(f"{path}: is {kind_of(mode)}, not a regular file; give a file name to write")
    return target


def check_output(path):
    """``path``, a file a command is to write, checked before the command does its work (a test set evaluated,
    a report drawn): its folder exists and may be written in, and ``output_target`` takes it (the write checks
    again, once the command has read its inputs)."""
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"{path}: the folder {folder} {'is not a folder' if folder.exists() else 'does not exist'}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"{path}: cannot write in the folder {folder} (permission denied or read-only)")
    output_target(path)
    return path


def naming(error, path):
    """``error`` again, naming ``path``: the file the user asked for, not the temporary one."""
    return type(error)(error.errno, error.strerror or str(error), str(path))


def fsync_file(path):
    # Windows refuses to flush a file opened only for reading; POSIX flushes any descriptor, and a file the
    # umask made read-only could not be opened for writing
    fd = os.open(path, os.O_RDWR if os.name == "nt" else os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path, mode="wb", output=False):
    """An open temporary file beside ``path``; on success it replaces ``path`` (``output`` as for ``atomic_path``)."""
    with atomic_path(path, output) as tmp, open(tmp, mode) as f:
        yield f


def sync_folder(folder):
    """Make a rename in ``folder`` durable, where the system can (Windows cannot open a folder: nothing to do)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text(path, text, output=False):
    with atomic_file(path, "w", output) as f:
        f.write(text)


def write_json(path, data, output=False):
    write_text(path, json.dumps(data, indent=2) + "\n", output)


def regular_file(path, what="file"):
    """``path`` checked to be a regular file a user meant to give, before anything opens it.

    Opening a FIFO blocks until a writer comes (forever), a device such as
    /dev/zero never ends, and a symbolic link loop cannot be followed: each is a
    ``UserError`` naming the path, as are a missing file and a folder. ``what``
    names the file in messages ("config file", "checkpoint", ...).
    """
    try:
        found = os.stat(path)
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UserError(f"{path}: a loop of symbolic links, not a {what}") from None
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    if stat.S_ISDIR(found.st_mode):
        raise UserError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(found.st_mode):
        raise UserError(f"{path}: is {kind_of(found.st_mode)}, not a regular file; give a {what} on disk")
    try:
        open(path, "rb").close()  # a file without the right to read it says so, not that it is in a bad format
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    note_input(path, found, what)
    return Path(path)


def kind_of(mode):
    """What a file that is not a regular one is, for messages."""
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"


def read_json(path, missing):
    """The JSON value in the file ``path``; a ``UserError`` naming it when it cannot be read, with the message
    ``missing`` when it is not there."""
    path = Path(path)
    try:
        note_input(path, os.stat(path), "file")
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(missing) from None
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise UserError(f"{path}: not readable JSON ({e})") from None
    except RecursionError:
        raise UserError(f"{path}: not readable JSON (nested too deep)") from None


def read_bounded(path, limit, what="file"):
    """The bytes of the regular file ``path``, refused when there are more than ``limit``."""
    regular_file(path, what)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > limit:
        raise UserError(f"{path}: larger than {limit:,} bytes, too large for a {what}")
    return data


def overwrite_json(path, data):
    """Rewrite ``path`` in place, not atomically: for the last word of a run on a disk too full for a copy.

    Truncating frees the file's own blocks, which the new text (about as long) takes again.
    """
    with open(path, "w") as f:
        f.write(json.dumps(data, indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())


def remove_stale_temporaries(folder, targets):
    """Delete what a process killed while writing left in ``folder``: temporary files of ``targets``."""
    removed = []
    for path in Path(folder).iterdir():
        if any(is_temporary_of(path.name, target) for target in targets) and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed
