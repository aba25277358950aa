"""The cost curves of one or more runs on one chart, as a picture (`dnn plot`).

matplotlib is an optional extra (``pip install 'dnncli[plot]'``), imported only
here and only when a plot is asked for; drawing uses the Agg backend through
``Figure`` directly, so no window and no global pyplot state.
"""

from pathlib import Path

from ..errors import UserError
from ..files import atomic_path
from ..run.listing import read_metrics

FIGURE_INCHES = (10, 6)
DPI = 100  # so the picture is 1000 x 600 pixels
DEFAULT_OUT = "cost.png"


def series(records, key):
    """(iterations, values) of the records that hold a number under ``key``."""
    points = [(r["iteration"], r[key]) for r in records if isinstance(r.get(key), (int, float)) and "iteration" in r]
    return [p[0] for p in points], [p[1] for p in points]


def logged_costs(folder):
    records = read_metrics(folder).get("costs")
    if not isinstance(records, list) or not any(isinstance(r, dict) and "cost" in r for r in records):
        raise UserError(f"{folder}: metrics.json has no logged costs yet")
    return [r for r in records if isinstance(r, dict)]


def draw(runs, out):
    """Writes the chart of ``runs`` (label -> costs records) to ``out``; returns ``out``."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise UserError("dnn plot needs matplotlib, an optional extra: pip install 'dnncli[plot]'") from None
    out = Path(out)
    fig = Figure(figsize=FIGURE_INCHES, dpi=DPI, layout="constrained")
    canvas = FigureCanvasAgg(fig)
    kind = out.suffix.lower().lstrip(".")
    if kind not in canvas.get_supported_filetypes():
        raise UserError(f"{out}: cannot write a .{kind} picture; use .png, .svg or .pdf")
    with_accuracy = any(series(records, "validation_accuracy")[0] for records in runs.values())
    axes = fig.subplots(2 if with_accuracy else 1, 1, sharex=True, squeeze=False)[:, 0]
    for i, (label, records) in enumerate(runs.items()):
        colour = f"C{i % 10}"
        axes[0].plot(*series(records, "cost"), color=colour, label=f"{label} cost")
        iterations, values = series(records, "validation_cost")
        if iterations:
            axes[0].plot(iterations, values, color=colour, linestyle="--", label=f"{label} validation cost")
        iterations, values = series(records, "validation_accuracy")
        if iterations:
            axes[1].plot(iterations, values, color=colour, label=f"{label} validation accuracy")
    axes[0].set_ylabel("cost")
    axes[0].set_title("cost per logged iteration")
    if with_accuracy:
        axes[1].set_ylabel("accuracy")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    axes[-1].set_xlabel("iteration")
    if not out.parent.is_dir():
        raise UserError(f"{out.parent}: no such folder")
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format=kind)
    return out
