"""Successive halving: every trial runs to the first rung, the best ``keep`` share by the metric continue from
their own checkpoints to the next rung, and so on; the others are pruned (not failed).

The rungs are iteration counts. A trial continued across rungs ends with the same weights as the same
trial run straight through: each rung resumes the trial's checkpoint (its metrics log one record more, at
the end of each rung).
"""

import math


def survivors(count, keep):
    """How many of ``count`` trials go on to the next rung: at least one."""
    return max(1, math.floor(count * keep + 0.5))


def prune(index, rung):
    """Marks as pruned the trials that completed ``rung`` but are not among the best ``keep`` share."""
    sign = 1 if index["minimise"] else -1
    done = [row for row in index["trials"] if row["rung"] == rung and row["status"] == "pending"]
    done.sort(
        key=lambda row: (row["metric"] is None, sign * row["metric"] if row["metric"] is not None else 0, row["trial"])
    )
    pruned = done[survivors(len(done), index["keep"]) :]
    for row in pruned:
        row["status"] = "pruned"
    return pruned
