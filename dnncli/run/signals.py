"""SIGINT and SIGTERM during a run: asked for, they stop the loop after the current step."""

import signal
import threading


class StopSignals:
    """SIGINT and SIGTERM ask the loop to stop after the current step; a second SIGINT insists."""

    def __enter__(self):
        self.requested = None
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def handle(self, signum, frame):
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signum

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def signal_name(signum):
    return signal.Signals(signum).name
