"""One process per run folder: an operating-system lock on ``<folder>/.lock`` for the run's lifetime.

The lock is the system's own (``flock`` on POSIX, ``msvcrt.locking`` on Windows), so it goes with its
process however that ends: a killed run never leaves its folder locked. The file names the holder (pid and
host) for the message a second process gets; it stays in the folder, empty of meaning once unlocked.
"""

import os
import socket
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserError

LOCK = ".lock"
LOCKED_BYTE = 1 << 20  # Windows locks a byte range, and a locked range cannot be read: lock one past the text

if os.name == "nt":
    import msvcrt

    def try_lock(fd):
        os.lseek(fd, LOCKED_BYTE, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # OSError when another process holds it

else:
    import fcntl

    def try_lock(fd):
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # OSError (EWOULDBLOCK) when another process holds it


def holder_text():
    return f"process {os.getpid()} on {socket.gethostname()}"


@contextmanager
def holding(folder):
    """Holds ``folder``'s lock until the block ends; a ``UserError`` naming the holder if another process has it."""
    path = Path(folder) / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o666)
    try:
        try:
            try_lock(fd)
        except OSError:
            raise UserError(
                f"{folder}: in use by {holder(path)} (dnn train); wait for it to end, or stop it first"
            ) from None
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, (holder_text() + "\n").encode("utf-8"))
        except OSError:
            pass  # a full disk: the lock holds all the same, and the run's first file will say what is wrong
        yield
    finally:
        os.close(fd)  # releases the lock


def holder(path):
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text[:200] if text else "another process"
