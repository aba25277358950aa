"""One way to write every file a run leaves: atomically.

The bytes go to a temporary file in the same folder, are flushed and fsynced,
and the file is renamed over the target, so a reader (or a process killed at
any moment) sees the old file or the new one, never a torn one.

And one way to check a path a user gives before it is opened (``regular_file``).
"""

import errno
import json
import os
import stat
import tempfile
from contextlib import contextmanager
from pathlib import Path

from .errors import UserError


@contextmanager
def atomic_path(path):
    """A temporary path beside ``path`` to write to; on success it replaces ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    sync_folder(path.parent)


@contextmanager
def atomic_file(path, mode="wb"):
    """An open temporary file beside ``path``; on success it replaces ``path``."""
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f


def sync_folder(folder):
    """Make a rename in ``folder`` durable."""
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


def write_text(path, text):
    with atomic_file(path, "w") as f:
        f.write(text)


def write_json(path, data):
    write_text(path, json.dumps(data, indent=2) + "\n")


def regular_file(path, what="file"):
    """``path`` checked to be a regular file a user meant to give, before anything opens it.

    Opening a FIFO blocks until a writer comes (forever), a device such as
    /dev/zero never ends, and a symbolic link loop cannot be followed: each is a
    ``UserError`` naming the path, as are a missing file and a folder. ``what``
    names the file in messages ("config file", "checkpoint", ...).
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UserError(f"{path}: no such {what}") from None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise UserError(f"{path}: a loop of symbolic links, not a {what}") from None
        raise UserError(f"{path}: cannot read ({e.strerror or e})") from None
    if stat.S_ISDIR(mode):
        raise UserError(f"{path}: is a folder, not a {what}")
    if not stat.S_ISREG(mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device or socket"
        raise UserError(f"{path}: is {kind}, not a regular file; give a {what} on disk")
    return Path(path)


def read_bounded(path, limit, what="file"):
    """The bytes of the regular file ``path``, refused when there are more than ``limit``."""
    regular_file(path, what)
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise UserError(f"{path}: larger than {limit:,} bytes, too large for a {what}")
    return data
