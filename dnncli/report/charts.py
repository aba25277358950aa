"""The charts of `dnn report`, each drawn by matplotlib into SVG text.

matplotlib is the optional plot extra (``extras.install_command``); ``figure`` imports it only when a chart is
drawn and draws through ``Figure`` with the Agg backend, so no window and no global pyplot state, as
``plot`` does. Every function takes plain numbers and returns the SVG of one picture.

Iterations on the x axis count iterations done, as a checkpoint does: the cost of the record of iteration i
is of the weights before its update (i done), its validation scores of the weights after it (i + 1 done).
"""

import io
import warnings
from contextlib import contextmanager

from ..errors import one_line
from ..extras import missing_extra

PANEL = (4.4, 3.3)  # inches; SVG scales, so this sets the proportions and the size of the text
LABEL_CHARACTERS = 32  # of a name drawn on a chart (a class, a run, a value); the page's tables give it whole


def label(text):
    """A name a user chose (a class, a run, a parameter's value) as a chart draws it: on one line and at most
    ``LABEL_CHARACTERS`` long, so no name can squeeze the axes to nothing."""
    text = one_line(str(text))
    return text if len(text) <= LABEL_CHARACTERS else text[: LABEL_CHARACTERS - 1] + "\u2026"


@contextmanager
def drawn():
    """Around rendering a figure: matplotlib's word that a layout could not be applied (many labels on a small
    figure) or that its font lacks a character of a name stays out of the user's terminal; the chart is drawn
    all the same (an SVG's text is drawn by the browser, in its fonts)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*layout not applied", category=UserWarning)
        warnings.filterwarnings("ignore", message="Glyph .* missing from", category=UserWarning)
        yield


def figure(size):
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise missing_extra("dnn report", "plot", "matplotlib") from None
    import matplotlib

    matplotlib.rcParams["svg.hashsalt"] = "dnn"  # the same chart gives the same SVG
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: small files, the page's font
    return Figure(figsize=size, layout="constrained")


def svg(fig):
    from matplotlib.backends.backend_svg import FigureCanvasSVG

    buffer = io.StringIO()
    with drawn():
        FigureCanvasSVG(fig).print_svg(buffer, metadata={"Date": None})
    return buffer.getvalue()


def styled(ax, xlabel, ylabel, legend=True):
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", frameon=False)


def series(records, key, shift=0):
    points = [(r["iteration"] + shift, r[key]) for r in records if isinstance(r.get(key), (int, float))]
    return [x for x, _ in points], [y for _, y in points]


VALIDATION_SCORES = {"validation_accuracy": "accuracy", "validation_r2": "R²"}  # the second learning curve's


def validation_score(records):
    """The key of the score a second learning curve draws, accuracy or a regression's R², or None."""
    return next((key for key in VALIDATION_SCORES if any(key in r for r in records)), None)


def learning_curves(records, best_iteration=None):
    """The cost, and the validation accuracy (a regression's R²) when it was logged: one picture each; best.npz
    marked."""
    cost = figure(PANEL)
    ax = cost.subplots()
    ax.plot(*series(records, "cost"), color="C0", label="training")
    pictures = [cost]
    if any("validation_cost" in r for r in records):
        ax.plot(*series(records, "validation_cost", 1), color="C1", label="validation")
    key = validation_score(records)
    if key is not None:
        name = VALIDATION_SCORES[key]
        accuracy = figure(PANEL)
        bx = accuracy.subplots()
        bx.plot(*series(records, key, 1), color="C1", label="validation")
        bx.set_title(name, fontsize="medium")
        styled(bx, "iterations done", name)
        pictures.append(accuracy)
    ax.set_title("cost", fontsize="medium")
    styled(ax, "iterations done", "cost")
    if best_iteration is not None:
        for fig in pictures:
            axes = fig.axes[0]
            axes.axvline(best_iteration, color="0.4", linestyle=":", label=f"best.npz ({best_iteration})")
            axes.legend(fontsize="small", frameon=False)
    return [svg(fig) for fig in pictures]


LEGEND_TRIALS = 12  # trials named in a legend; beyond, only the best is


def trial_curves(runs, names, best=None):
    """The cost of each trial of a sweep on one picture, and the validation cost on another when it was logged;
    ``runs``: each trial's records, ``names`` their labels, ``best``: the index of the best, drawn bold on top."""
    keys = [("cost", 0, "cost")]
    if any("validation_cost" in r for records in runs for r in records):
        keys.append(("validation_cost", 1, "validation cost"))
    pictures = []
    for key, shift, title in keys:
        fig = figure(PANEL)
        ax = fig.subplots()
        order = [i for i in range(len(runs)) if i != best] + ([best] if best is not None else [])
        for i in order:
            bold = i == best
            named = bold or len(runs) <= LEGEND_TRIALS
            ax.plot(*series(runs[i], key, shift), color="black" if bold else f"C{i % 10}", linewidth=2.4 if bold else 1,
                    alpha=1 if bold else 0.75, label=names[i] if named else None, zorder=3 if bold else 2)  # fmt: skip
        ax.set_title(title, fontsize="medium")
        styled(ax, "iterations done", title)
        pictures.append(fig)
    return [svg(fig) for fig in pictures]


def per_layer(records, key):
    """{layer number: (iterations, values)} of a per-layer list logged under ``key``; None entries left out."""
    lines = {}
    for r in records:
        values = r.get(key)
        if not isinstance(values, list):
            continue
        for l, value in enumerate(values, start=1):
            if isinstance(value, (int, float)):
                xs, ys = lines.setdefault(l, ([], []))
                xs.append(r["iteration"])
                ys.append(value)
    return lines


def layer_lines(lines, title):
    """A picture with a line per layer, ``lines`` {layer: (iterations, values)}: its figure and axes."""
    fig = figure(PANEL)
    ax = fig.subplots()
    for l, (xs, ys) in lines.items():
        ax.plot(xs, ys, color=f"C{(l - 1) % 10}", label=f"layer {l}")
    ax.set_title(title, fontsize="medium")
    return fig, ax


def health(records):
    """Dead ReLU share and gradient norm per layer over the logged iterations, a picture each ([] if never logged)."""
    pictures = []
    dead = per_layer(records, "dead_relu")
    if dead:
        fig, ax = layer_lines(dead, "dead ReLU units")
        ax.set_ylim(-0.02, 1.02)
        styled(ax, "iterations done", "share of the layer")
        pictures.append(fig)
    norms = per_layer(records, "gradient_norm")
    if norms:
        fig, ax = layer_lines(norms, "gradient norm")
        if all(y > 0 for _, ys in norms.values() for y in ys):
            ax.set_yscale("log")  # norms span decades across layers
        styled(ax, "iterations done", "norm")
        pictures.append(fig)
    return [svg(fig) for fig in pictures]


def confusion(matrix, classes):
    """Counts, a row per true class, shaded by the share of the row."""
    import numpy as np

    counts = np.asarray(matrix)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig = figure(PANEL)
    ax = fig.subplots()
    ax.imshow(shares, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", color="white" if shares[i, j] > 0.6 else "black")
    names = [label(name) for name in classes]
    ax.set_xticks(range(len(classes)), names, rotation=30 if len(classes) > 3 else 0)
    ax.set_yticks(range(len(classes)), names)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("confusion matrix", fontsize="medium")
    return svg(fig)


def roc(curves):
    """ROC curves, {label: (false positive rates, true positive rates, area)}, with chance as a diagonal."""
    fig = figure(PANEL)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.75", linestyle="--", linewidth=1)
    for i, (name, (fpr, tpr, area)) in enumerate(curves.items()):
        ax.plot(fpr, tpr, color=f"C{i % 10}", label=f"{label(name)} (AUC {area:.3f})", drawstyle="default")
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_title("ROC curve", fontsize="medium")
    styled(ax, "false positive rate", "true positive rate")
    return svg(fig)


def precision_recall(curves):
    """Precision against recall, {label: (recalls, precisions, average precision)}, as steps."""
    fig = figure(PANEL)
    ax = fig.subplots()
    for i, (name, (recall, precision, ap)) in enumerate(curves.items()):
        ax.step(
            [0, *recall],
            [precision[0], *precision],
            where="pre",
            color=f"C{i % 10}",
            label=f"{label(name)} (AP {ap:.3f})",
        )
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(-0.01, 1.01)
    ax.set_title("precision-recall curve", fontsize="medium")
    styled(ax, "recall", "precision")
    return svg(fig)


def reliability(bins, error):
    """Accuracy against confidence per bin, the diagonal of a calibrated model, and how many fell in each."""
    fig = figure(PANEL)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], color="0.75", linestyle="--", linewidth=1, label="calibrated")
    filled = [b for b in bins if b["examples"]]
    width = bins[0]["upper"] - bins[0]["lower"]
    ax.bar([b["lower"] for b in filled], [b["accuracy"] for b in filled], width=width, align="edge",
           color="C0", alpha=0.75, edgecolor="white", label="accuracy in bin")  # fmt: skip
    ax.plot([b["confidence"] for b in filled], [b["accuracy"] for b in filled], "o", color="C3", markersize=4,
            label="mean confidence")  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_title(f"reliability (expected calibration error {error:.3f})", fontsize="medium")
    styled(ax, "confidence (top class probability)", "accuracy")
    return svg(fig)


def metric_against(values, metrics, parameter, metric, log=False, best=None):
    """One sweep parameter against the metric of each trial; ``log`` for a log axis (a log-uniform parameter),
    ``best`` the index of the best trial, ringed."""
    fig = figure(PANEL)
    ax = fig.subplots()
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    if numeric:
        xs = values
        if log:
            ax.set_xscale("log")
    else:
        labels = sorted({str(v) for v in values})
        xs = [labels.index(str(v)) for v in values]
        ax.set_xticks(range(len(labels)), [label(v) for v in labels])
    ax.plot(xs, metrics, "o", color="C0")
    if best is not None:
        ax.plot([xs[best]], [metrics[best]], "o", markersize=13, markerfacecolor="none", markeredgecolor="black",
                markeredgewidth=1.6, label="best")  # fmt: skip
    styled(ax, label(parameter), metric, legend=best is not None)
    return svg(fig)


# --- a table run ----------------------------------------------------------------


def predicted_against_true(truth, predicted, name):
    """Each test row's predicted value against its true one, with the line where they are equal."""
    fig = figure(PANEL)
    ax = fig.subplots()
    low, high = min(min(truth), min(predicted)), max(max(truth), max(predicted))
    margin = (high - low) / 20 or 1.0
    ax.plot([low, high], [low, high], color="0.6", linestyle="--", linewidth=1, label="predicted = true")
    ax.plot(truth, predicted, "o", color="C0", markersize=3.5, alpha=0.7)
    ax.set_xlim(low - margin, high + margin)  # the same scale on both axes: the diagonal at 45 degrees
    ax.set_ylim(low - margin, high + margin)
    ax.set_title(f"{name}: predicted against true", fontsize="medium")
    styled(ax, f"true {name}", f"predicted {name}")
    return svg(fig)


def residuals(predicted, errors, name):
    """Each test row's error (predicted - true) against its prediction: a model that is right on average has
    them spread evenly about 0, with no shape."""
    fig = figure(PANEL)
    ax = fig.subplots()
    ax.axhline(0, color="0.6", linestyle="--", linewidth=1)
    ax.plot(predicted, errors, "o", color="C3", markersize=3.5, alpha=0.7)
    ax.set_title(f"{name}: residuals", fontsize="medium")
    styled(ax, f"predicted {name}", "predicted - true")
    return svg(fig)


IMPORTANCE_BARS = 20  # columns drawn at most, the most important first


def importance(names, means, stds, score):
    """A bar per column, most important at the top: the mean fall in ``score`` when the column is shuffled, with
    the standard deviation over the shuffles as an error bar."""
    names, means, stds = names[:IMPORTANCE_BARS], means[:IMPORTANCE_BARS], stds[:IMPORTANCE_BARS]
    fig = figure((PANEL[0], max(PANEL[1], 0.9 + 0.24 * len(names))))
    ax = fig.subplots()
    places = list(range(len(names)))[::-1]
    ax.barh(places, means, xerr=stds, color=["C0" if m > 0 else "0.7" for m in means], ecolor="0.3", capsize=2)
    ax.set_yticks(places, names, fontsize="small")
    ax.axvline(0, color="0.4", linewidth=0.8)
    ax.set_title("permutation importance", fontsize="medium")
    styled(ax, f"fall in {score} when shuffled", "", legend=False)
    ax.grid(axis="y", visible=False)
    return svg(fig)
