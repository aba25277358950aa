"""Where a trainer's examples come from: the source protocol, and examples held in memory.

A source hands out examples as columns, ``X`` (features, batch) and targets ``Y`` (outputs, batch).
"""

from typing import Protocol, runtime_checkable


class Source(Protocol):
    """What every trainer needs of its examples."""

    m: int  # number of examples

    def everything(self):
        """(X, Y) of every example, in order."""

    def take(self, indices):
        """(X, Y) of the examples ``indices``, in that order."""


@runtime_checkable
class ReadsAhead(Protocol):
    """A source that can start reading the next batch early, such as one on disk."""

    def will_take(self, indices):
        """The next ``take`` will ask for ``indices``."""


def reads_ahead(source):
    return isinstance(source, ReadsAhead)


@runtime_checkable
class Varies(Protocol):
    """A source whose examples change from one iteration to the next (pictures augmented afresh, say);
    what it serves is a function of the iteration, so a resumed run sees the same examples."""

    def at(self, iteration):
        """The next ``take`` or ``everything`` serves the examples as they are at ``iteration``."""


def varies(source):
    return isinstance(source, Varies)


@runtime_checkable
class HasOrder(Protocol):
    """A source that says in which order its examples come, such as one read a piece at a time (a table
    streamed from its file), whose batches must keep to a few pieces."""

    def batch_order(self, seed, batch_size):
        """The order of its mini-batches: an object with ``full`` and ``indices(iteration)``, as ``BatchOrder``,
        everything in it a function of the seed and the iteration."""


def has_order(source):
    return isinstance(source, HasOrder)


class ArraySource:
    """Examples held in memory as rows: ``rows`` is (m, features), ``targets`` (outputs, m)."""

    def __init__(self, rows, targets):
        self.rows = rows
        self.targets = targets
        self.m = rows.shape[0]

    def everything(self):
        return self.rows.T, self.targets

    def take(self, indices):
        return self.rows[indices].T, self.targets[:, indices]
