"""A local worker process: one task read from stdin, its result written to stdout (both pickled).

Started by ``local.LocalWorkers`` with one BLAS thread, in a session of its own, so that only the driver
decides when it stops (it sends SIGTERM); it stops by itself when the driver is gone.
"""

import os
import pickle
import sys
import threading
import time

ORPHAN_CHECK_SECONDS = 1.0


def exit_when_orphaned(parent):
    while True:
        time.sleep(ORPHAN_CHECK_SECONDS)
        if os.getppid() != parent:
            os._exit(1)  # the driver was killed: its resume runs this trial again


def main():
    parent = int(os.environ.get("DNN_SWEEP_DRIVER", os.getppid()))
    threading.Thread(target=exit_when_orphaned, args=(parent,), daemon=True).start()
    task = pickle.load(sys.stdin.buffer)  # written by the driver that started this process
    from .task import run_task

    result = run_task(task)
    sys.stdout.buffer.write(pickle.dumps(result))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
