"""SIGINT, SIGTERM and SIGHUP during a run: the handler only records the signal; the run acts on it where it chooses.

A handler that raises can lose its exception wherever the signal lands: inside an import, or in C code that
clears errors (an extension module's initialisation, ``abc.__subclasscheck__``). So the handler raises nothing.
Until the loop begins, the run calls ``check()`` at points of its choosing (while pictures decode, after the
data is loaded, before the first file that says a run is there) and stops there, removing what it made; from
the loop on, it stops after the current step, which saves a checkpoint to resume from.

SIGHUP (the terminal closed) is a SIGTERM: the run saves and says so in metrics.json.
"""

import signal
import threading
from contextlib import contextmanager, nullcontext

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class StartupInterrupted(Exception):
    """A signal before training began, acted on at one of the run's ``check()`` points."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def hold():
    """Block ``SIGNALS``: one sent now waits, pending, until ``release`` or ``StopSignals`` (the console script's
    first line, dnncli/console.py)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)


def release():
    """Unblock ``SIGNALS``: one held now acts as the handler in place says, and later ones as they come."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


class StopSignals:
    """Records the first of ``SIGNALS`` in ``requested``; a second SIGINT insists (KeyboardInterrupt) until the
    run acts on the first (``check``, ``act``), after which nothing cuts the save short.

    Installed before anything of a run is made. When the block ends because of a signal, the signals are ignored
    from then on: the process is on its way out with exit 130, and a further signal must not end it otherwise.
    """

    def __enter__(self):
        self.requested = None
        self.acting = False
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self.previous[sig] = signal.signal(sig, self.handle)
            # a process started with these signals blocked (as the console script holds them, ``hold``) would
            # never hear them: from now on they are heard, and one held pending since then is recorded now
            release()
        return self

    def handle(self, signum, frame):
        if self.requested is None:
            self.requested = signum
        elif signum == signal.SIGINT and not self.acting:
            raise KeyboardInterrupt  # a second Ctrl-C: stop now, without waiting for the step

    def check(self):
        """During start-up: a signal received so far stops the run here, before it makes anything more."""
        if self.requested is not None:
            self.acting = True
            raise StartupInterrupted(self.requested)

    def act(self):
        """The run stops for the signal received, saving first: no further signal cuts that short."""
        self.acting = True
        return self.requested

    def checking(self, progress):
        """``progress`` for the data layer that also calls ``check()`` as pictures are decoded, so a signal
        stops a long decoding within a block of pictures."""

        @contextmanager
        def checked(description, total):
            with (progress or quiet)(description, total) as advance:

                def advance_and_check(n):
                    advance(n)
                    self.check()

                yield advance_and_check

        return checked

    def __exit__(self, kind, error, traceback):
        for sig, handler in self.previous.items():
            # ending because of the signal, the process is on its way out with exit 130: a further signal is
            # ignored (a Python handler would not do, as Python puts back the default one as it shuts down)
            signal.signal(sig, signal.SIG_IGN if self.requested is not None and kind is not None else handler)


def quiet(description, total):
    return nullcontext(lambda n: None)


def signal_name(signum):
    return signal.Signals(signum).name


class NoSignals:
    """The stop of a run that leaves signals to Python (a run kept in memory, in a Python session): Ctrl+C raises
    ``KeyboardInterrupt`` wherever it lands, and nothing asks the loop to stop."""

    requested = None

    def check(self):
        pass

    def act(self):
        return None

    def checking(self, progress):
        return progress
