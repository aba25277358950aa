"""What a run tells as it goes: the reporter protocol a run calls, with nothing to show by default.

The command line hands a run one of ``report.progress``'s reporters (a bar, plain lines, JSON lines); a sweep's
trial keeps its warnings to send back; a run tracked in MLflow puts ``tracking.TrackingReporter`` beside the one
it was given. Each says only what it overrides.
"""

import sys

from ..errors import warning_text


class Reporter:
    """A run's reporter that shows nothing but its warnings, on stderr."""

    decoding = None  # how pictures being decoded are shown (see report.console.decoding): not at all

    def start(self, total, done, history=()):
        """The loop starts at iteration ``done`` of ``total``, after the logged ``history``."""

    def update(self, iteration, cost):
        """A step was taken."""

    def log(self, record):
        """A logged iteration's record, as metrics.json keeps it."""

    def warn(self, text):
        print(f"Warning: {warning_text(text)}", file=sys.stderr, flush=True)

    def finish(self, status):
        """The loop ended: finished, interrupted or failed."""
