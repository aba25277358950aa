"""The cost curves of one or more runs on one chart, as a picture (`dnn plot`).

matplotlib is the optional plot extra (``extras.install_command``), imported only
here and only when a plot is asked for; drawing uses the Agg backend through
``Figure`` directly, so no window and no global pyplot state.
"""

from pathlib import Path

from ..errors import UserError
from ..extras import missing_extra
from ..files import atomic_path
from ..run.listing import shown_metrics
from .charts import VALIDATION_SCORES, drawn, label, series

FIGURE_INCHES = (10, 6)
DPI = 100  # so the picture is 1000 x 600 pixels


def logged_costs(folder):
    records = shown_metrics(folder).get("costs")
    if not isinstance(records, list) or not any(isinstance(r, dict) and "cost" in r for r in records):
        raise UserError(f"{folder}: metrics.json has no logged costs yet")
    return [r for r in records if isinstance(r, dict)]


def draw(runs, out):
    """Writes the chart of ``runs`` (label -> costs records) to ``out``; returns ``out``."""
    fig, kind = figure_for(out)
    # a panel for each validation score the runs logged: accuracy, and a regression's R²
    scores = [key for key in VALIDATION_SCORES if any(series(records, key)[0] for records in runs.values())]
    axes = fig.subplots(1 + len(scores), 1, sharex=True, squeeze=False)[:, 0]
    for i, (name, records) in enumerate(runs.items()):
        colour, name = f"C{i % 10}", label(name)
        axes[0].plot(*series(records, "cost"), color=colour, label=f"{name} cost")
        # validation is measured after the logged iteration's update: one iteration more done, as in dnn report
        iterations, values = series(records, "validation_cost", 1)
        if iterations:
            axes[0].plot(iterations, values, color=colour, linestyle="--", label=f"{name} validation cost")
        for ax, key in zip(axes[1:], scores, strict=True):
            iterations, values = series(records, key, 1)
            if iterations:
                ax.plot(iterations, values, color=colour, label=f"{name} validation {VALIDATION_SCORES[key]}")
    axes[0].set_ylabel("cost")
    axes[0].set_title("cost per logged iteration")
    for ax, key in zip(axes[1:], scores, strict=True):
        ax.set_ylabel(VALIDATION_SCORES[key])
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    axes[-1].set_xlabel("iterations done")
    return save(fig, out, kind)


def figure_for(out, size=FIGURE_INCHES):
    """A Figure with its Agg canvas for ``out``, checked: the kind of picture and its folder."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise missing_extra("dnn plot", "plot", "matplotlib") from None
    out = Path(out)
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    kind = out.suffix.lower().lstrip(".")
    if kind not in FigureCanvasAgg(fig).get_supported_filetypes():
        raise UserError(f"{out}: cannot write a .{kind} picture; use .png, .svg or .pdf")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent}: no such folder")
    return fig, kind


def save(fig, out, kind):
    with atomic_path(out, output=True) as tmp, drawn():
        fig.savefig(tmp, format=kind)
    return Path(out)


# --- dnn plot SWEEP_DIR -----------------------------------------------------------


def draw_sweep(index, out):
    """The metric of every scored trial against each swept parameter, a panel each (a log axis for
    log-uniform ones, the choices as categories); returns ``out``."""
    scored = [row for row in index["trials"] if row["metric"] is not None and row["status"] != "failed"]
    if not scored:
        raise UserError("no trial of this sweep has a metric yet")
    parameters = index["parameters"]
    fig, kind = figure_for(out, (min(5 * len(parameters), 20), 4.5))
    axes = fig.subplots(1, len(parameters), squeeze=False, sharey=True)[0]
    for ax, (key, distribution) in zip(axes, parameters.items(), strict=True):
        values = [row["values"][key] for row in scored]
        metrics = [row["metric"] for row in scored]
        colours = ["C0" if row["status"] == "finished" else "C7" for row in scored]
        if distribution == "choice":
            labels = sorted({str(v) for v in values})
            ax.set_xticks(range(len(labels)), [label(v) for v in labels], rotation=20, fontsize="small")
            values = [labels.index(str(v)) for v in values]
        elif distribution == "log_uniform":
            ax.set_xscale("log")
        ax.scatter(values, metrics, c=colours)
        ax.set_xlabel(label(key))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(index["metric"])
    fig.suptitle(f"sweep {label(index['name'])}: {index['metric']} of each trial (grey: pruned)")
    return save(fig, out, kind)


# --- dnn lr-find --------------------------------------------------------------------


def draw_rate_curve(found, out):
    """The range test's cost and smoothed cost against the rate (log axis), or None without matplotlib."""
    try:
        fig, kind = figure_for(out)
    except UserError:
        return None
    ax = fig.subplots()
    ax.plot(found.rates, found.costs, color="C7", alpha=0.6, label="cost")
    ax.plot(found.rates, found.smoothed, color="C0", label="smoothed cost")
    ax.axvline(found.suggestion, color="C3", linestyle="--", label=f"suggested {found.suggestion:.3g}")
    ax.axvline(found.minimum_over_10, color="C2", linestyle=":", label=f"minimum / 10: {found.minimum_over_10:.3g}")
    ax.set_xscale("log")
    ax.set_ylim(*rate_curve_view(found))
    ax.set_xlabel("learning rate")
    ax.set_ylabel("cost")
    ax.set_title("learning-rate range test")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    return save(fig, out, kind)


def rate_curve_view(found):
    """(low, high) of the costs both charts of the range test show: from the lowest smoothed cost to the highest
    before it, a twentieth more each way. The rise after the minimum (to ``DIVERGED`` times the best, or a noisy
    cost far above) is cut off, so it does not flatten the descent, where the suggestion lies."""
    lowest = min(range(len(found.smoothed)), key=found.smoothed.__getitem__)
    low, high = found.smoothed[lowest], max(found.smoothed[: lowest + 1])
    if high <= low:  # no descent: the curve only rises, all of it is shown
        high = max(found.smoothed)
    margin = (high - low) / 20 or abs(low) / 20 or 1.0
    return low - margin, high + margin


def rate_curve_text(found):
    """The smoothed cost against the rate in block characters, for a terminal without matplotlib, cut off as
    the picture is (``rate_curve_view``)."""
    from .progress import cost_curve

    view = rate_curve_view(found)
    lines = cost_curve([{"iteration": i, "cost": c} for i, c in enumerate(found.smoothed)], view=view)
    if lines:
        first, last = f"{found.rates[0]:.1e}", f"{found.rates[-1]:.1e}"
        width = len(lines[-2]) - lines[-2].index("└") - 1
        margin = lines[-2].index("└") - 1
        lines[-1] = f"{'':>{margin}}  {first}{last:>{width - len(first)}}  rate (log)"
        if max(found.smoothed) > view[1]:
            lines[0] += f"  (the rise at the end, up to {max(found.smoothed):.4f}, is cut off at the top)"
    return lines
