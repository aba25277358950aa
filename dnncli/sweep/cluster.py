"""Trials on a Dask distributed cluster (the optional extra ``pip install 'dnncli[cluster]'``).

The scheduler places each task on a worker and runs it again elsewhere when a worker dies. Workers need
dnncli installed and the data at the same path; results travel back to the driver with the task's result.
"""

from ..errors import UserError

CONNECT_SECONDS = 20


class DaskWorkers:
    where = "dask"

    def __init__(self, address):
        try:
            from distributed import Client
        except ImportError:
            raise UserError(
                "--address needs Dask distributed, an optional extra: pip install 'dnncli[cluster]'"
            ) from None
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

    def pids(self):
        return {}

    def interrupt(self):
        """Cancels the running trials; they start again from their last rung on resume."""
        self.executor.shutdown(wait=False)

    def close(self):
        self.client.close()
