"""One way to write every file a run leaves: atomically.

The bytes go to a temporary file in the same folder, are flushed and fsynced,
and the file is renamed over the target, so a reader (or a process killed at
any moment) sees the old file or the new one, never a torn one.
"""

import json
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


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
