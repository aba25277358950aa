"""Tables for the terminal, built with rich: what the commands print, each from the result it shows."""

from datetime import datetime

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from ..errors import one_line
from ..model.baselines import HELD_OUT_FIRST
from ..text import binary_size, plural


def four_places(value):
    return f"{value:.4f}"


# --- dnn train ------------------------------------------------------------------


SCORE_NAMES = {"accuracy": "accuracy", "rmse": "RMSE", "mae": "MAE", "r2": "R²"}  # model.score.SCORES' names


UNITS_SCORES = ("rmse", "mae")  # errors in a target's own units, of any size


def score_text(name, value):
    """A score as tables show it: four significant places for an error in a target's units, else four decimals."""
    if value is None:
        return "n/a"
    return error_text(value) if name in UNITS_SCORES else four_places(value)


def error_text(value):
    return f"{value:.4g}"


def shown_scores(scores):
    """The scores of ``SCORE_NAMES`` a result has, in that order."""
    return [name for name in SCORE_NAMES if name in scores]


def scores_table(result):
    """The scores of a finished run, a row per set, each beside its baseline's (always the most common training
    class, or the training mean)."""
    table = Table(title=f"run {result.folder}", title_justify="left")
    table.add_column("split")
    table.add_column("examples", justify="right")
    present = [scores for scores in result.final.values() if scores is not None]
    names = shown_scores(present[0]) if present else ["accuracy"]
    beside = [name for name in BASELINE_COLUMNS if present and name in present[0]]
    for name in names:
        table.add_column(SCORE_NAMES[name], justify="right")
    for name in beside:
        table.add_column(BASELINE_COLUMNS[name], justify="right")
    table.add_column("cost", justify="right")
    for split, scores in result.final.items():
        if scores is not None:
            shown = [score_text(n, scores[n]) for n in names]
            shown += [score_text(n.removeprefix("baseline_"), scores[n]) for n in beside]
            table.add_row(split, str(scores["examples"]), *shown, f"{scores['cost']:.6f}")
    captions = [f"baseline: always answering {result.baseline}"] if beside and result.baseline else []
    recalls = recall_text(result)
    if recalls:
        captions.append(recalls)
    if captions:
        table.caption = "\n".join(captions)
        table.caption_justify = "left"
    return table


def recall_text(result):
    """``recall by class on the test set: cat 0.7059, non-cat 0.9091``: of the first of the test, validation
    and training sets the run has; None for numbers, or scores without it (an older run's)."""
    for split in HELD_OUT_FIRST:
        scores = result.final.get(split)
        if scores is not None and "recall" in scores and len(scores["recall"]) == len(result.classes):
            shown = ", ".join(
                f"{name} {score_text('recall', value)}"
                for name, value in zip(result.classes, scores["recall"], strict=True)
            )
            return f"recall by class on the {split} set: {shown}"
    return None


# the columns beside a run's scores: what always answering the most common class, or the training mean, scores
# (the baseline's balanced accuracy is 1 / the classes present, its R² 0 or below: in metrics.json, not here)
BASELINE_COLUMNS = {"balanced_accuracy": "balanced", "baseline_accuracy": "baseline", "baseline_rmse": "baseline RMSE"}


def validation_text(cost, **scores):
    """``cost 0.180581, accuracy 0.9167``, or the cost and RMSE, MAE and R² of a regression."""
    parts = [f"cost {cost:.6f}"]
    parts += [f"{SCORE_NAMES[name]} {score_text(name, value)}" for name, value in scores.items() if value is not None]
    return ", ".join(parts)


def run_lines(result):
    """How a finished run went, in a line or two."""
    path = "fast path" if result.fast_path else "general path"
    lines = [f"{plural(result.iterations_done, 'iteration')} in {result.seconds:.1f}s ({path})"]
    if result.best_iteration is not None:
        best = validation_text(**result.best_validation)
        last = result.last_validation  # logged at iteration iterations_done - 1: of the final weights
        lines.append(f"validation: best at iteration {result.best_iteration}, {best} (best.npz)")
        lines.append(f"validation: last at iteration {result.iterations_done}, {validation_text(**last)}")
    if result.stopped_early:
        lines.append(f"stopped early: the best validation cost was at iteration {result.best_iteration} (best.npz)")
    if result.calibration is not None:
        lines.append(f"calibrated (training.calibrate): {calibration_text(result.calibration)}")
    if result.mlflow is not None:
        lines.append(f"MLflow: {mlflow_text(result.mlflow)}")
    lines += [f"! {warning}" for warning in result.warnings]
    return lines


def calibration_text(calibration):
    """A temperature fitted as the header's ``calibration`` records it, in a line."""
    return (
        f"temperature {calibration['temperature']:.4g}, fitted on the "
        f"{plural(calibration['examples'], 'example')} of the {calibration.get('split', 'validation')} split "
        f"(their log loss from {calibration['log_loss_before']:.6f} to {calibration['log_loss_after']:.6f})"
    )


def mlflow_text(tracked):
    """Where an MLflow run is: its page on the tracking server, else its id in the store."""
    return tracked.url or f"run {tracked.run_id} in {tracked.saved()['tracking_uri']}"


# --- dnn gradcheck ----------------------------------------------------------------


def gradcheck_table(rows, count, threshold):
    table = Table(title=f"gradient check: {plural(count, 'example')}, threshold {threshold:g}")
    for column in ("layer", "W shape", "entries", "difference", ""):
        table.add_column(column, justify="right")
    for row in rows:
        ok = row["difference"] <= threshold
        table.add_row(
            str(row["layer"]),
            "x".join(map(str, row["shape"])),
            str(row["entries"]),
            f"{row['difference']:.3e}",
            Text("ok", style="green") if ok else Text("FAIL", style="red"),
        )
    return table


# --- dnn summary ------------------------------------------------------------------


def layer_rows(net):
    """Per layer: number, size, activation, parameters, shapes of W and b; the input first.

    A layer with batch norm says so before its activation and counts its scale and shift."""
    rows = [("input", net.layers[0], "", "", "", "")]
    for l in range(1, net.depth + 1):
        n_in, n_out = net.layers[l - 1], net.layers[l]
        activation = net.activations[l - 1] if l < net.depth else f"{net.output} (output)"
        count = n_in * n_out + n_out
        if net.normalised(l):
            activation, count = f"batch norm, {activation}", count + 2 * n_out
        rows.append((str(l), n_out, activation, count, f"({n_out}, {n_in})", f"({n_out}, 1)"))
    return rows


def network_table(net, dtype, origin, augmentation=None):
    table = Table(title=f"network of {origin}", title_justify="left")
    for name in ("layer", "size", "activation", "parameters", "W", "b"):
        table.add_column(name, justify="right" if name in ("size", "parameters") else "left")
    for row in layer_rows(net):
        table.add_row(*(f"{v:,}" if isinstance(v, int) else v for v in row))
    total = net.parameter_count
    table.caption = f"{total:,} parameters, {binary_size(total * np.dtype(dtype).itemsize)} of weights ({dtype})"
    if net.has_batch_norm:
        statistics = 2 * sum(net.layers[l] for l in range(1, net.depth) if net.normalised(l))
        table.caption += f"\nand {statistics:,} running statistics of batch norm (mean and variance per unit)"
    if augmentation:
        table.caption += f"\ntraining pictures augmented: {augmentation}"
    return table


# --- dnn evaluate -----------------------------------------------------------------


def regression_table(report):
    """RMSE, MAE and R² of a regression model (each target's own beside the average, for several) and of always
    answering the training mean (the baseline), and the cost."""
    targets = report["targets"]
    several = len(targets) > 1
    baseline = report.get("baseline")
    table = Table("metric", *(["average", *targets] if several else ["value"]), *(["baseline"] if baseline else []))
    for column in table.columns[1:]:
        column.justify = "right"
    blank = [""] * len(targets) if several else []
    table.add_row("examples", str(report["examples"]), *blank, *([""] if baseline else []))
    for name in ("rmse", "mae", "r2"):
        per = [report["per_target"][t][name] for t in targets] if several else []
        table.add_row(
            SCORE_NAMES[name],
            *(score_text(name, value) for value in (report[name], *per)),
            *([score_text(name, baseline[name])] if baseline else []),
        )
    table.add_row(
        "cost (half squared error, standardised)", f"{report['cost']:.6f}", *blank, *([""] if baseline else [])
    )
    if report.get("unfamiliar"):
        table.add_row("unfamiliar (flagged)", flagged_text(report["unfamiliar"]), *blank, *([""] if baseline else []))
    if baseline:
        table.caption = "baseline: always answering the training mean"
        table.caption_justify = "left"
    return table


def summary_table(report):
    """The scores of a classifier, the baseline's beside accuracy and balanced accuracy; the temperature, the
    threshold and the inputs flagged unfamiliar where the model has them."""
    baseline = report.get("baseline")
    table = Table("metric", "value", *(["baseline"] if baseline else []))
    for column in table.columns[1:]:
        column.justify = "right"

    def row(name, value, beside=""):
        table.add_row(name, value, *([beside] if baseline else []))

    row("examples", str(report["examples"]))
    for name, text in (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy")):
        row(text, four_places(report[name]), four_places(baseline[name]) if baseline else "")
    row("log loss", f"{report['log_loss']:.6f}")
    uncalibrated = report.get("uncalibrated")
    if uncalibrated:
        row("log loss, uncalibrated (T = 1)", f"{uncalibrated['log_loss']:.6f}")
    if "positive" in report:
        positive = report["positive"]
        for score_name in ("precision", "recall", "f1"):
            row(f"{score_name} ({positive['class']})", four_places(positive[score_name]))
    for score_name, value in report["macro"].items():
        row(f"macro {score_name}", four_places(value))
    for name, value in probability_rows(report):
        row(name, "n/a" if value is None else four_places(value))
    if uncalibrated:
        row("calibration error, uncalibrated", four_places(uncalibrated["calibration_error"]))
    if report.get("temperature"):
        row("temperature", f"{report['temperature']['temperature']:.4g}")
    if report.get("threshold"):
        row(f"threshold ({report['classes'][1]} above)", f"{report['threshold']['threshold']:.4f}")
    if report.get("unfamiliar"):
        row("unfamiliar (flagged)", flagged_text(report["unfamiliar"]))
    if report.get("abstaining"):
        abstaining = report["abstaining"]
        row(
            f"answered at {abstaining['min_confidence']:g} or above",
            f"{abstaining['answered']} of {abstaining['examples']}",
        )
        accuracy = abstaining["accuracy_answered"]
        row("accuracy of those answered", "n/a" if accuracy is None else four_places(accuracy))
    if baseline:
        table.caption = f"baseline: always answering {baseline['class']!r}"
        table.caption_justify = "left"
    return table


def flagged_text(counts):
    return f"{counts['flagged']} of {counts['examples']}"


def honesty_lines(report):
    """What `dnn evaluate` says in words under its tables: a model no better than its baseline, the temperature
    and threshold it uses, and how it does on the inputs flagged unfamiliar."""
    lines = []
    if report.get("no_better"):
        lines.append(f"! {report['no_better']}")
    if report.get("temperature"):
        lines.append(f"calibrated: {calibration_text(report['temperature'])}")
    if report.get("threshold"):
        lines.append(threshold_text(report["threshold"], report["classes"]))
    unfamiliar = report.get("unfamiliar")
    if unfamiliar and unfamiliar["flagged"] and unfamiliar.get("accuracy_flagged") is not None:
        familiar = unfamiliar["accuracy_familiar"]
        lines.append(
            f"unfamiliar: {plural(unfamiliar['flagged'], 'example')} flagged, accuracy "
            f"{unfamiliar['accuracy_flagged']:.4f} on them, "
            f"{'n/a' if familiar is None else four_places(familiar)} on the rest"
        )
    return lines


def threshold_text(threshold, classes):
    """A threshold chosen from data (the header's ``threshold``), in a line."""
    rule = threshold["rule"].replace("_", " ")
    if threshold["rule"] == "precision":
        rule = f"a precision of at least {threshold['target']:g}"
    return (
        f"threshold {threshold['threshold']:.4f} ({classes[1]!r} above it), chosen by {rule} on the "
        f"{plural(threshold['examples'], 'example')} of the {threshold['split']} split (precision "
        f"{threshold['precision']:.4f}, recall {threshold['recall']:.4f}, F1 {threshold['f1']:.4f}, balanced "
        f"accuracy {threshold['balanced_accuracy']:.4f})"
    )


PROBABILITY_SCORES = {"roc_auc": "ROC AUC", "average_precision": "average precision", "brier": "Brier score"}


def probability_rows(report):
    """(name, value) of the scores from probabilities: of the positive class for two classes, else macro
    one-vs-rest and top-k; then the calibration error. None where a score has no meaning."""
    rows = []
    if "one_vs_rest_macro" in report:
        rows += [
            (f"macro {text}, one vs rest", report["one_vs_rest_macro"][key]) for key, text in PROBABILITY_SCORES.items()
        ]
        rows += [(f"top-{k} accuracy", value) for k, value in report["top_k_accuracy"].items() if k != "1"]
    else:
        rows += [
            (f"{text} ({report['classes'][1]})", report[key])
            for key, text in PROBABILITY_SCORES.items()
            if key in report
        ]
    if "calibration" in report:
        rows.append(("calibration error (10 bins)", report["calibration"]["expected_calibration_error"]))
    return rows


def class_table(report):
    table = Table(
        "class", "examples", "predicted", "precision", "recall", "f1", title="per class", title_justify="left"
    )
    for column in table.columns[1:]:
        column.justify = "right"
    for name, scores in report["per_class"].items():
        table.add_row(
            name,
            str(report["counts"][name]),
            str(report["predicted_counts"][name]),
            *(four_places(scores[s]) for s in ("precision", "recall", "f1")),
        )
    return table


def top_losses_table(rows):
    table = Table(
        "example", "true", "predicted", "p(true)", "p(predicted)", "loss",
        title=f"the {len(rows)} highest losses", title_justify="left",
    )  # fmt: skip
    for column in table.columns[3:]:
        column.justify = "right"
    for row in rows:
        table.add_row(
            example_text(row), row["true"], row["predicted"],
            *(four_places(row[k]) for k in ("p_true", "p_predicted", "loss")),
        )  # fmt: skip
    return table


def example_text(row):
    """What names an example in a table: a folder set's file, a table's line (or Parquet row) after its id cells
    (``p0463, line 463``), else its index."""
    for key in ("line", "row"):
        if key in row:
            ids = [str(cell) for cell in (row.get("ids") or {}).values()]
            return ", ".join([*ids, f"{key} {row[key]}"])
    return row.get("file", str(row["index"]))


def largest_errors_table(rows, targets):
    """A regression's rows with the largest errors (``evaluate.top_losses_of``): each target's true and predicted
    value and the error, then the loss (half the squared error in standard deviations of the target)."""
    several = len(targets) > 1
    columns = [f"{kind} {name}" if several else kind for name in targets for kind in ("true", "predicted", "error")]
    table = Table("example", *columns, "loss", title=f"the {len(rows)} largest errors", title_justify="left")
    for column in table.columns[1:]:
        column.justify = "right"
    for row in rows:
        values = [row[kind][name] for name in targets for kind in ("true", "predicted", "error")]
        table.add_row(example_text(row), *map(error_text, values), four_places(row["loss"]))
    return table


def confusion_table(report):
    classes = report["classes"]
    table = Table("true \\ predicted", *classes, title="confusion matrix", title_justify="left")
    for column in table.columns[1:]:
        column.justify = "right"
    for name, row in zip(classes, report["confusion_matrix"], strict=True):
        table.add_row(name, *(str(n) for n in row))
    return table


# --- dnn runs ---------------------------------------------------------------------


def duration(seconds):
    if seconds is None:
        return ""
    if not 0 <= seconds <= 10**9:  # NaN, infinity or a negative time: a metrics.json edited or broken by hand
        return "?"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m{seconds:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


def formatted(value, style="{}"):
    """``value`` in ``style``, or nothing for a value that is missing."""
    return "" if value is None else style.format(value)


def score_cell(row, split):
    """A run's score on a split (train, validation, best_validation, test): its accuracy, or a regression's R²
    said so, ``R² 0.6478``, so that a column that mixes both is read right; nothing when it has neither."""
    if row[f"{split}_accuracy"] is not None:
        return f"{row[f'{split}_accuracy']:.4f}"
    return formatted(row[f"{split}_r2"], "R² {:.4f}")


def baseline_cell(row):
    """What always answering the most common training class scores on the test set, or the RMSE of always
    answering the training mean, said so; nothing for a run from before baselines were kept."""
    if row.get("test_baseline_accuracy") is not None:
        return f"{row['test_baseline_accuracy']:.4f}"
    return formatted(row.get("test_baseline_rmse"), "RMSE {:.4g}")


def best_text(row):
    """The best validation score (``score_cell``) and, after @, the iteration of best.npz."""
    score = score_cell(row, "best_validation")
    return f"{score} @{row['best_iteration']}" if score and row["best_iteration"] is not None else ""


TASKS = {"classification": "classes", "regression": "regression"}  # what a run predicts, as `dnn runs` says it


def task_text(row):
    """What a run learns from and predicts: ``pictures: classes``, ``table: classes``, ``table: regression``."""
    if row.get("data") is None:
        return ""
    return row["data"] if row.get("task") is None else f"{row['data']}: {TASKS[row['task']]}"


def when(iso):
    """A time of ``dnn runs`` in local time, to the minute; nothing for no time."""
    return "" if iso is None else datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


# "last cost": the last logged (with L2; for mini-batches, their mean since the log before); "train cost": the cost
# on the whole training set at the end, the one the summary of `dnn train` shows
# "train", "val", "best val", "test": the accuracy of a classifier, the R² of a regression (``score_cell``); "test
# RMSE": a regression's error in its target's units; "balanced": a classifier's balanced accuracy on the test set
RUNS_COLUMNS = (
    "run", "started", "resumed", "task", "layers", "lr", "iter", "last cost", "train cost", "train", "val",
    "best val", "test", "test RMSE", "balanced", "baseline", "time", "status", "problem",
)  # fmt: skip
LEFT = ("run", "started", "resumed", "task", "layers", "status", "problem")


def run_notes(row):
    """What ``dnn runs`` says of a run below its table: a problem reading it, why it failed, its warnings."""
    failure = [row["error"]] if row["status"] == "failed" and row.get("error") else []
    return ([row["problem"]] if row["problem"] else []) + failure + list(row.get("warnings") or [])


def runs_columns(rows, pipe=False):
    """{column: its cells} of ``dnn runs``, a cell per row; a column empty in every row is left out. For a pipe
    the last column, ``problem``, holds every note of ``run_notes``."""
    columns = {name: [] for name in RUNS_COLUMNS}
    for row in rows:
        done, total = row["iterations_done"], row["iterations"]
        cells = (
            row["run"],
            when(row["started"]),
            when(row.get("resumed")),
            task_text(row),
            "-".join(map(str, row["layers"])) if row["layers"] else "",
            formatted(row["learning_rate"], "{:g}"),
            formatted(total) if done in (None, total) else f"{done}/{total}",
            formatted(row["final_cost"], "{:.6f}"),
            formatted(row["train_cost"], "{:.6f}"),
            score_cell(row, "train"),
            score_cell(row, "validation"),
            best_text(row),
            score_cell(row, "test"),
            formatted(row["test_rmse"], "{:.4g}"),
            formatted(row.get("test_balanced_accuracy"), "{:.4f}"),
            baseline_cell(row),
            duration(row["seconds"]),
            row["status"],
            row["problem"] or "",
        )
        if pipe:  # a line says all of a run: its failure's reason and its warnings beside any problem
            cells = (*cells[:-1], "; ".join(run_notes(row)))
        for name, cell in zip(RUNS_COLUMNS, cells, strict=True):
            columns[name].append(cell)
    return {name: cells for name, cells in columns.items() if any(cells)}


def runs_table(rows, root):
    """The runs as a table for a terminal: a run with a problem has ``*`` after its status, the problem below."""
    table = Table(title=f"runs under {root}/", title_justify="left", box=box.SIMPLE_HEAD)
    columns = runs_columns(rows)
    problems = columns.pop("problem", None)
    if problems:
        columns["status"] = [
            f"{status} *" if problem else status for status, problem in zip(columns["status"], problems, strict=True)
        ]
    for name in columns:
        table.add_column(name, justify="left" if name in LEFT else "right")
    for cells in zip(*columns.values(), strict=True):
        table.add_row(*cells)
    return table


def runs_lines(rows):
    """The runs as plain lines for a pipe: a header, then a line per run, the cells separated by tabs (a tab or
    newline in a cell written as an escape)."""
    columns = runs_columns(rows, pipe=True)
    return ["\t".join(map(one_line, cells)) for cells in [list(columns), *zip(*columns.values(), strict=True)]]


# --- dnn data info ----------------------------------------------------------------


def info_table(rows):
    table = Table("set", "examples", "shape", "dtype", "classes")
    table.columns[1].justify = "right"
    for set_name, examples, shape, dtype, classes in rows:
        table.add_row(set_name, str(examples), shape, dtype, classes)
    return table


LONG_TABLE = 1000  # rows beyond which a table is printed a row at a time: rich lays out a whole table first


def columns_table(rows):
    """A table's columns: name, kind, missing cells, what they hold (``data.info.table_info``)."""
    table = Table("column", "kind", "missing", "values")
    table.columns[2].justify = "right"
    for name, kind, missing, summary in rows:
        table.add_row(name, kind, f"{missing:,}", summary)
    return table


def print_columns_table(console, rows):
    """``columns_table`` printed; a table of more than ``LONG_TABLE`` columns a row at a time, at once (rich
    takes minutes to lay out 100,000 rows)."""
    if len(rows) <= LONG_TABLE:
        console.print(columns_table(rows))
        return
    cells = [(one_line(name), kind, f"{missing:,}", summary) for name, kind, missing, summary in rows]
    headers, justify = ("column", "kind", "missing", "values"), ("left", "left", "right", "left")
    widths = [max(len(row[i]) for row in cells) for i in range(4)]
    table = StreamedTable(console, list(zip(headers, widths, justify, strict=True)))
    for row in cells:
        table.row(*row)
    table.close()


# --- dnn sweep, dnn runs SWEEP_DIR --------------------------------------------------


def sweep_value(value):
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "-".join(map(str, value))
    return str(value)


def sweep_table(index, folder):
    """The trials best first (``sweep.index.ranked``), the swept values as columns (headed by the last part
    of their keys where that is unambiguous; the full keys and the seeds are in ``--json``)."""
    from ..sweep.index import ranked

    goal = "lowest" if index["minimise"] else "highest"
    table = Table(
        title=f"sweep {folder}: {index['metric']}, {goal} first",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,  # narrow enough for 80 columns
        pad_edge=False,
        collapse_padding=True,
    )
    keys = list(index["parameters"])
    short = [key.rsplit(".", 1)[-1] for key in keys]
    headers = short if len(set(short)) == len(short) else keys
    for name in ("trial", *headers, "iter", index["metric"], "status"):
        table.add_column(name, justify="left" if name in ("trial", "status") else "right", no_wrap=True)
    for row in ranked(index):
        table.add_row(
            row["folder"],
            *(sweep_value(row["values"].get(key)) for key in keys),
            str(row["iterations_done"]),
            formatted(row["metric"], "{:.6f}"),
            row["status"],
        )
    return table


# --- dnn predict ------------------------------------------------------------------


def answer_columns(classes, abstains=False):
    """The columns of `dnn predict`'s table after the picture: (name, widest cell, justification) each."""
    from ..model.answers import UNSURE

    widest_class = max(map(len, classes)) + (len(UNSURE) + 3 if abstains else 0)  # "unsure (cat)"
    return [
        ("class", widest_class, "left"),
        ("probability", 6, "right"),
        ("margin", 6, "right"),
        ("unfamiliar", 9, "left"),
    ]


class StreamedTable:
    """A table printed a row at a time, as each result comes: the header now, each ``row`` at once,
    the bottom edge at ``close``. It looks like rich's default table; the widths are fixed up front,
    and a longer cell is cut at its start with an ellipsis (a path keeps its file name)."""

    BOX = box.HEAVY_HEAD

    def __init__(self, console, columns):
        """``columns``: (name, width of its widest cell, "left" or "right") each."""
        self.console = console
        widths = [max(len(name), width) for name, width, _ in columns]
        spare = console.width - sum(widths) - 3 * len(widths) - 1  # the borders and each cell's padding
        if spare < 0:
            widths[0] = max(len(columns[0][0]), widths[0] + spare)
        self.widths = widths
        self.justify = [justify for _, _, justify in columns]
        b, padded = self.BOX, [w + 2 for w in widths]
        self.print(b.get_top(padded))
        header = Text(self.line([name for name, _, _ in columns], b.head_left, b.head_vertical, b.head_right))
        start = 2  # the border and the padding
        for (name, _, _), width in zip(columns, widths, strict=True):
            header.stylize("bold", start, start + len(name))  # as rich sets a header
            start += width + 3
        self.print(header)
        self.print(b.get_row(padded, level="head"))

    def print(self, text):
        self.console.print(text, markup=False, highlight=False, crop=False, soft_wrap=True)

    def line(self, cells, left, vertical, right):
        shown = []
        for cell, width, justify in zip(cells, self.widths, self.justify, strict=True):
            cell = cell if len(cell) <= width else "…" + cell[len(cell) - width + 1 :]
            shown.append(f" {cell.rjust(width) if justify == 'right' else cell.ljust(width)} ")
        return left + vertical.join(shown) + right

    def row(self, *cells):
        b = self.BOX
        self.console.file.write(self.line(cells, b.mid_left, b.mid_vertical, b.mid_right) + "\n")  # plain text: as is

    def close(self):
        self.print(self.BOX.get_bottom([w + 2 for w in self.widths]))
