"""Trials on this machine: each in a process of its own with one BLAS thread, ``workers`` at a time.

A worker process that dies without a result (killed, out of memory) has its trial run again in a new one,
up to ``ATTEMPTS`` times.
"""

import os
import pickle
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

ATTEMPTS = 3
ONE_THREAD = {
    name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS")
}


class WorkerDied(Exception):
    pass


class LocalWorkers:
    """An executor of tasks: ``submit(task)`` gives a ``concurrent.futures.Future`` of the task's result."""

    where = "local"

    def __init__(self, workers):
        self.capacity = workers
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="trial")
        self.processes = {}  # trial -> Popen of the process running it now
        self.lock = threading.Lock()
        self.stopping = False

    def submit(self, task):
        return self.pool.submit(self.run, task)

    def run(self, task):
        payload = pickle.dumps(task)
        env = {**os.environ, **ONE_THREAD, "DNN_SWEEP_DRIVER": str(os.getpid())}
        for attempt in range(1, ATTEMPTS + 1):
            process = subprocess.Popen(
                [sys.executable, "-m", "dnncli.sweep.worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,  # a Ctrl-C reaches the driver only; it stops the workers itself
            )
            with self.lock:
                self.processes[task["trial"]] = process
                if self.stopping:
                    process.send_signal(signal.SIGTERM)
            out, err = process.communicate(payload)
            with self.lock:
                self.processes.pop(task["trial"], None)
            if process.returncode == 0:
                result = pickle.loads(out)  # from the worker this driver started
                result["attempts"] = attempt
                return result
            if self.stopping:  # stopped before it could save anything: it starts afresh on resume
                return {
                    "trial": task["trial"],
                    "status": "interrupted",
                    "error": None,
                    "files": {},
                    "attempts": attempt,
                }
        reason = err.decode(errors="replace").strip().splitlines()[-1:] or [f"exit code {process.returncode}"]
        raise WorkerDied(f"the worker process died {attempt} times (last: {reason[0]})")

    def check(self):
        """Nothing to watch while trials run here: a worker process that dies is run again, or fails its trial."""

    def interrupt(self):
        """Asks every running trial to stop and save its checkpoint; their results still come back."""
        with self.lock:
            self.stopping = True
            for process in self.processes.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)

    def close(self):
        self.pool.shutdown(wait=True, cancel_futures=True)
