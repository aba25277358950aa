"""The `dnn` console script: the stop signals held from its first line until a command is ready for them.

Loading the command line (click and dnn's command modules) takes tens of milliseconds. A SIGINT, SIGTERM or SIGHUP
in that time would end `dnn train` by the signal's default action, silently, before it could stop in its own
words. So they are blocked first of all and wait, pending: `dnn train` unblocks them once its handlers are in
place (``run.signals.StopSignals``) and acts on one held; every other command releases them as it starts
(``cli.main.DnnGroup``), and one held then acts as it always does.
"""

from .run.signals import hold  # signal and threading only: nothing else is loaded before the signals are held


def main():
    hold()
    from .cli.main import main as cli

    return cli()
