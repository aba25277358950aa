"""Trials on a Dask distributed cluster (the optional cluster extra, ``extras.install_command``).

The scheduler places each task on a worker and runs it again elsewhere when a worker dies. Workers need
dnncli installed and the data at the same path; results travel back to the driver with the task's result.
"""

from ..errors import UserError
from ..extras import missing_extra

CONNECT_SECONDS = 20


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


class DaskWorkers:
    where = "dask"

    def __init__(self, address):
        try:
            from distributed import Client
        except ImportError:
            raise missing_extra("--address", "cluster", "Dask distributed") from None
        check_address(address)
        try:
            self.client = Client(address, timeout=CONNECT_SECONDS, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise UserError(f"--address {address}: cannot reach a Dask scheduler ({e})") from None
        self.executor = self.client.get_executor(pure=False)
        threads = sum(self.client.nthreads().values())
        if not threads:
            self.client.close()
            raise UserError(f"--address {address}: the scheduler has no workers")
        self.capacity = threads

    def submit(self, task):
        from .task import run_task

        return self.executor.submit(run_task, task)

    def interrupt(self):
        """Cancels the running trials; they start again from their last rung on resume."""
        self.executor.shutdown(wait=False)

    def close(self):
        self.client.close()
