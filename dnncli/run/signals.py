"""SIGINT and SIGTERM during a run: asked for, they stop the loop after the current step.

The handlers are installed before anything of a run is made. Until the loop begins (data loading, the run
folder, its first files) a signal stops at once with ``StartupInterrupted``, and the caller removes what it
made; from the loop on, it stops after the current step, which saves a checkpoint to resume from.
"""

import signal
import threading


class StartupInterrupted(BaseException):
    """A signal before training began (a BaseException, as KeyboardInterrupt, so no ``except Exception`` keeps it)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


class StopSignals:
    """SIGINT and SIGTERM: at once while ``starting``, else after the current step; a second SIGINT insists.

    ``starting=False`` asks for the second way from the start (a sweep's driver, which stops between trials).
    """

    def __init__(self, starting=True):
        self.first_starting = starting

    def __enter__(self):
        self.requested = None
        self.starting = self.first_starting
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def handle(self, signum, frame):
        if self.starting:
            raise StartupInterrupted(signum)
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signum

    def training(self):
        """From now on a signal waits for the end of the step: the run can be saved."""
        self.starting = False

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def signal_name(signum):
    return signal.Signals(signum).name


class NoSignals:
    """The stop of a run that leaves signals to Python (a run kept in memory, in a Python session): Ctrl+C raises
    ``KeyboardInterrupt`` wherever it lands, and nothing asks the loop to stop."""

    requested = None

    def training(self):
        pass
