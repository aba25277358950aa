"""Checks of a value read from a file a person can edit (metrics.json, sweep.json, a checkpoint's header):
whether it is a number, a whole number or a count, as JSON gives them."""

LARGEST_INT = 2**53  # beyond it an integer has no float, and the charts' arithmetic overflows


def is_number(value):
    """A float (NaN and infinity too: a diverged run) or an integer a float holds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) <= LARGEST_INT
    return isinstance(value, float)


def is_whole(value, low=None, high=None):
    """An integer a float holds, within ``low`` and ``high`` when they are given."""
    if not (is_number(value) and isinstance(value, int)):
        return False
    return (low is None or low <= value) and (high is None or value <= high)


def is_count(value):
    return is_whole(value, 0)
