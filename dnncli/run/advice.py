"""Warnings that the logged records of a run give reason for, each said once, when it starts."""

from ..engine.health import rising_streak

RISING_WARNING = 5  # warn when the logged cost has risen this many times in a row


def training_warnings(history, learning_rate):
    """Warnings the newest logged record gives reason for, each said once when it starts."""
    last = history[-1]
    rises = rising_streak([r["cost"] for r in history])
    if rises == RISING_WARNING:
        yield (
            f"the cost has risen {rises} logged times in a row, to {last['cost']:.6f} at iteration "
            f"{last['iteration']}; training.learning_rate {learning_rate:g} may be too high"
        )
    before = history[-2].get("dead_relu") if len(history) > 1 else None
    for l, dead in enumerate(last.get("dead_relu") or [], start=1):
        if dead == 1 and not (before and before[l - 1] == 1):
            yield (
                f"every ReLU unit of layer {l} outputs 0 on the whole batch at iteration {last['iteration']}: "
                f"no gradient flows through it (a lower training.learning_rate or another model.init may help)"
            )
