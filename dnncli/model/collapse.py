"""A model that learned nothing, and classes too uneven to learn: what the end (and the start) of training says.

``spread`` runs the model over a data set a part at a time and keeps, per hidden unit and per output, the
lowest and highest value over the examples, and how many examples it answers as each class. From that:

- ``dead_layers``: hidden layers every unit of which gives the same value (to ``SAME``) for every example,
  as ReLU units that output 0 do: nothing reaches the layers after them;
- ``constant_output``: the output probabilities are the same (to ``SAME``) for every example;
- ``one_class``: the model answers one class for every example while the data has more.

A constant output, with more than one class in the data and inputs that differ, is a run that learned nothing
(``learned_nothing`` says why and what to try); one class answered is a warning (``one_class_warning``), and
so is a training set whose examples all have the same inputs (``same_inputs_warning``): no model could
tell them apart. ``uneven_classes``
names classes much rarer than an even share, at the start of training, with the remedy.
"""

from dataclasses import dataclass

import numpy as np

from ..engine import OUTPUT_ACTIVATIONS, forward, predict_labels

SAME = 1e-6  # values within this of each other count as the same
UNEVEN = 0.5  # a class with less than this share of an even split (1 / classes) is uneven
# the remedy: training.class_weight, which reaches pictures and tables (the engine's class weights)
UNEVEN_REMEDY = "training.class_weight: balanced weighs each class's examples by how rare it is"


@dataclass
class Spread:
    """Per hidden layer, each unit's lowest and highest value; the outputs' (probabilities'); the examples
    answered as each class, and the examples of each class."""

    unit_low: list  # (n_l,) per hidden layer
    unit_high: list
    output_low: np.ndarray  # (K,) or (1,) for a sigmoid
    output_high: np.ndarray
    answered: np.ndarray  # (classes,) counts
    present: np.ndarray  # (classes,) counts
    inputs_differ: bool = True  # whether any two examples' inputs differ (by more than ``SAME``)
    targets_differ: bool = None  # a regression's: whether its targets differ; None: whether two classes are present


def extremes(values, low, high):
    """The lowest and highest of each row of ``values`` (units, m), folded into ``low`` and ``high``."""
    lowest, highest = values.min(axis=1), values.max(axis=1)
    if low is None:
        return lowest, highest
    return np.minimum(low, lowest), np.maximum(high, highest)


def spread(net, params, dataset, dtype):
    """The ``Spread`` of a model over ``dataset``, a part at a time, in inference mode."""
    hidden = net.depth - 1
    low, high = [None] * hidden, [None] * hidden
    out_low = out_high = in_low = in_high = None
    classes = 0 if net.is_regression else net.n_classes  # a regression answers numbers: no classes counted
    answered = np.zeros(classes, dtype=np.int64)
    present = np.zeros(classes, dtype=np.int64)
    target_low = target_high = None
    for part in dataset.parts():
        X = part.rows(dtype).T
        in_low, in_high = extremes(X, in_low, in_high)
        with np.errstate(over="ignore", invalid="ignore"):
            ZL, cache = forward(net, params, X)
            probabilities = OUTPUT_ACTIVATIONS[net.output](ZL)
        for l in range(hidden):
            low[l], high[l] = extremes(cache[l][2], low[l], high[l])
        out_low, out_high = extremes(probabilities, out_low, out_high)
        if net.is_regression:
            target_low, target_high = extremes(part.values.T, target_low, target_high)
            continue
        answered += np.bincount(predict_labels(net, probabilities), minlength=classes)
        present += np.bincount(np.asarray(part.labels), minlength=classes)
    differ = None if target_low is None else not same_everywhere(target_low, target_high)
    return Spread(low, high, out_low, out_high, answered, present, not same_everywhere(in_low, in_high), differ)


def same_everywhere(low, high):
    """Whether every value's lowest and highest are within ``SAME`` (nan never is)."""
    return bool(np.all(np.asarray(high) - np.asarray(low) <= SAME))


def dead_layers(s):
    """The hidden layers (1-based) whose every unit gives the same value for every example."""
    return [
        l
        for l, (low, high) in enumerate(zip(s.unit_low, s.unit_high, strict=True), start=1)
        if same_everywhere(low, high)
    ]


def constant_output(s):
    return same_everywhere(s.output_low, s.output_high)


def classes_present(s):
    return int(np.count_nonzero(s.present))


def targets_differ(s):
    """Whether the examples could be told apart by their answers: two classes present, or differing numbers."""
    return classes_present(s) > 1 if s.targets_differ is None else s.targets_differ


def one_class(s):
    """The one class answered for every example while the data has more, else None."""
    answered = np.flatnonzero(s.answered)
    if len(answered) == 1 and classes_present(s) > 1:
        return int(answered[0])
    return None


def learned_nothing(s, learning_rate):
    """Why a model whose output is the same for every training example learned nothing, and what to try;
    None when its output varies, the data has one class or one target value (then a constant answer is
    right), or every example has the same inputs (then no answer could be better)."""
    if not targets_differ(s) or not s.inputs_differ or not constant_output(s):
        return None
    dead = dead_layers(s)
    if dead and np.all(s.unit_high[dead[0] - 1] == 0):
        why = f"every unit of hidden layer {dead[0]} outputs 0 for every training example (dead units)"
    elif dead:
        why = f"every unit of hidden layer {dead[0]} gives the same value for every training example"
    else:
        why = f"its output is the same (to {SAME:g}) for every training example"
    return (
        f"the model learned nothing: {why}, so it answers the same for every input; try a lower "
        f"training.learning_rate (now {learning_rate:g}, try {learning_rate / 10:g}) or another model.init"
    )


def share(count, total):
    return f"{count / total:.0%}"


def rare_classes(counts):
    """The classes with less than ``UNEVEN`` of an even share of ``counts``."""
    counts = np.asarray(counts)
    return [k for k in range(len(counts)) if counts[k] < UNEVEN * counts.sum() / len(counts)]


def uneven_classes(counts, classes):
    """A warning naming the classes with less than ``UNEVEN`` of an even share of the training examples
    ``counts``, with the remedy; None when no class is that rare."""
    rare = rare_classes(counts)
    if not rare:
        return None
    total = int(np.sum(counts))
    named = ", ".join(f"{classes[k]!r} {counts[k]} ({share(counts[k], total)})" for k in rare)
    return (
        f"uneven classes: {named} of {total} training examples; a model can score well by rarely answering "
        f"{'it' if len(rare) == 1 else 'them'} ({UNEVEN_REMEDY})"
    )


def same_inputs_warning(s):
    """A warning when every training example has the same inputs while the data has several classes; else None."""
    if s.inputs_differ or not targets_differ(s):
        return None
    return "every training example has the same inputs: nothing tells the classes apart, so no model can learn them"


def one_class_warning(s, classes):
    """A warning when the model answers one class for every training example while the data has more; else None."""
    k = one_class(s)
    if k is None:
        return None
    total = int(s.present.sum())
    text = (
        f"the model answers {classes[k]!r} for every training example, though {share(total - s.present[k], total)} "
        f"are of other classes: it learned only which class is most common"
    )
    if rare_classes(s.present):
        return f"{text}; the classes are uneven: {UNEVEN_REMEDY}"
    return f"{text}; try more iterations or another training.learning_rate"
