"""Trials on a Dask distributed cluster (the optional cluster extra, ``extras.install_command``).

The scheduler places each task on a worker and runs it again elsewhere when a worker dies. Workers need
dnncli installed and the data at the same path; results travel back to the driver with the task's result.

Every wait on the cluster is bounded by ``timeout`` (``dnn sweep --timeout``): the connection, the scheduler's
greeting (``greet``: what answers is read before a Dask client is made, since one handed a silent listener
waits forever and one handed HTTP or random bytes tries to allocate exabytes), and, while trials run, a
scheduler that stops answering or is left with no workers.
"""

import logging
import socket
import time

from ..errors import UserError
from ..extras import missing_extra

TIMEOUT_SECONDS = 20.0
GREETING_LIMIT = 1 << 20  # a scheduler's first message (its handshake) is a few hundred bytes
PROBE = b"GET / HTTP/1.0\r\n\r\n"  # sent only to what stayed silent: a web server answers it


def check_address(address):
    """A scheduler address names a host and a port: checked before a ``Client`` is made, since a client that
    fails on a malformed address stays half made and hangs the exit closing itself."""
    from distributed.comm.addressing import get_address_host_port

    try:
        _, port = get_address_host_port(address)
    except ValueError as e:
        raise UserError(f"--address {address}: not a scheduler address ({e}); give tcp://HOST:PORT") from None
    if not 0 < port < 65536:
        raise UserError(f"--address {address}: the port must be 1 to 65535, got {port}")


def greet(address, timeout):
    """Connects to ``address`` and reads the greeting a Dask scheduler sends first (an 8-byte length, then that
    many bytes), all within ``timeout`` seconds; a ``UserError`` saying what answered instead.

    Half the time goes to the greeting; to what stays silent a web request is sent, so that a web server (the
    Dask dashboard, say) says what it is in the other half."""
    from distributed.comm.addressing import get_address_host_port

    host, port = get_address_host_port(address)
    deadline = time.monotonic() + timeout
    try:
        connection = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        refuse(address, f"no answer to a connection in {timeout:g} s")
    except OSError as e:
        refuse(address, f"cannot connect ({e.strerror or e})")
    with connection:
        first, closed = received(connection, 8, time.monotonic() + timeout / 2)
        if not first and not closed:
            try:
                connection.sendall(PROBE)
            except OSError:
                pass
            first, closed = received(connection, 8, deadline)
        if not first:
            refuse(address, "closed the connection without a word" if closed else f"said nothing in {timeout:g} s")
        length = int.from_bytes(first.ljust(8, b"\0"), "little")
        if len(first) < 8 or not 0 < length <= GREETING_LIMIT:
            refuse(address, f"answered {shown(first + received(connection, 72, deadline)[0])}")
        if len(received(connection, length, deadline)[0]) < length:
            refuse(address, f"began a greeting of {length} bytes and stopped, or took over {timeout:g} s")


def received(connection, count, deadline):
    """Up to ``count`` bytes from ``connection`` before ``deadline``, and whether it closed."""
    data = b""
    while len(data) < count:
        left = deadline - time.monotonic()
        if left <= 0:
            return data, False
        connection.settimeout(left)
        try:
            chunk = connection.recv(count - len(data))
        except TimeoutError:
            return data, False
        except OSError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def shown(data):
    """What a server that is no Dask scheduler sent, as one short line: its first line of text, or bytes."""
    line = data.split(b"\r\n", 1)[0].split(b"\n", 1)[0][:60]
    if line and all(32 <= byte < 127 for byte in line):
        text = line.decode("ascii")
        web = " (a web server, such as a Dask dashboard, not its scheduler)" if text.startswith("HTTP/") else ""
        return f"{text!r}{web}, not a Dask scheduler's greeting"
    return f"{len(data)} bytes that are no Dask scheduler's greeting ({data[:16].hex(' ')}...)"


def refuse(address, what):
    raise UserError(f"--address {address}: {what}; give the address of a Dask scheduler (tcp://HOST:8786)")


class DaskWorkers:
    where = "dask"

    def __init__(self, address, timeout=TIMEOUT_SECONDS):
        try:
            from distributed import Client
        except ImportError:
            raise missing_extra("--address", "cluster", "Dask distributed") from None
        check_address(address)
        greet(address, timeout)
        # a scheduler lost is said once, in dnn's words (``check``), not also in the client's log
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
        self.address, self.timeout = address, timeout
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise UserError(f"--address {address}: cannot reach a Dask scheduler ({e})") from None
        self.executor = self.client.get_executor(pure=False)
        self.capacity = self.threads()
        if not self.capacity:
            self.client.close()
            raise UserError(f"--address {address}: the scheduler has no workers")
        self.checked = self.alone_since = time.monotonic()

    def threads(self):
        return sum(self.client.nthreads().values())

    def submit(self, task):
        from .task import run_task

        return self.executor.submit(run_task, task)

    def check(self):
        """Called as the driver waits for results: a ``UserError`` once the scheduler is gone (the client gives up
        after ``timeout`` s trying to reconnect) or has had no workers for ``timeout`` s, so no wait is endless."""
        status = self.client.status
        if status == "connecting":
            return  # reconnecting: the client closes itself after ``timeout`` s without the scheduler
        if status != "running":
            raise self.lost()
        now = time.monotonic()
        if now - self.checked < min(self.timeout / 4, 5):
            return
        self.checked = now
        try:
            threads = self.threads()
        except OSError:  # distributed's CommClosedError: the scheduler went away as it was asked
            raise self.lost() from None
        if threads:
            self.alone_since = now
        elif now - self.alone_since >= self.timeout:
            raise UserError(f"--address {self.address}: the scheduler has had no workers for {self.timeout:g} s")

    def lost(self):
        return UserError(f"--address {self.address}: lost the scheduler (no answer for {self.timeout:g} s)")

    def interrupt(self):
        """Cancels the running trials; they start again from their last rung on resume."""
        self.executor.shutdown(wait=False)

    def close(self):
        self.client.close(timeout=self.timeout)
