"""`dnn report`: one HTML file about a run (or a sweep) that opens anywhere, with no network.

Styles are inline, every picture is a data URI (charts as SVG from ``charts``, pictures as PNG), and the
page's Content-Security-Policy forbids loading anything else. A small inline script records, once the page
has loaded, each picture's decoded width in ``data-natural-width``, so a browser can say that every picture
decoded (the test reads it).

``run_report`` gathers what the run left (metrics.json, config.yaml, the checkpoint) and evaluates the model
on the config's test set; each ``*_section`` function turns plain results into a ``<section>``, and ``page``
puts them together. ``sweep_section`` takes the trials' rows, so a sweep's report is its own page, beside a
folder of its trials' own reports, which it links to (``report_pages``).
"""

import base64
import html
import io
from pathlib import Path

import numpy as np

from ..data.table_sets import encoded_rows, split_tables
from ..data.tables import python_cells
from ..errors import UserError
from ..model import checkpoint
from ..model.evaluate import check_scaled_as_data_sets, evaluate, top_losses_of
from ..model.importance import permutation_importance
from ..model.metrics import precision_recall_curve, roc_curve
from ..model.score import SCORES
from ..run.layout import CHECKPOINT, CONFIG
from ..run.listing import shown_metrics
from ..run.selection import choose_data, model_path, run_config
from ..sweep.index import as_seen, best_trial, is_sweep, ranked, read_index
from ..text import plural, short_path
from . import charts
from .tables import (
    SCORE_NAMES,
    calibration_text,
    duration,
    error_text,
    score_text,
    shown_scores,
    sweep_value,
    threshold_text,
)

TOP_LOSSES = 12  # pictures in the grid of top losses
ORIGINAL_PIXELS = 256  # a folder set's original file, shrunk to at most this a side

STYLE = """
:root { color-scheme: light; --ink: #1d2433; --soft: #5b6577; --line: #e3e7ee; --card: #ffffff; --bg: #f5f7fa;
        --accent: #2f6fdf; --bad: #c2372f; --good: #23834a; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); line-height: 1.5;
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background: var(--ink); color: #fff; padding: 1.4rem 1rem 1.2rem; }
header .inner, main { max-width: 1040px; margin: 0 auto; }
header h1 { margin: 0; font-size: 1.5rem; font-weight: 650; word-break: break-all; }
header p { margin: .3rem 0 0; color: #c8d0de; }
nav { margin-top: .8rem; display: flex; flex-wrap: wrap; gap: .4rem; }
nav a { color: #fff; text-decoration: none; font-size: .85rem; padding: .2rem .6rem; border: 1px solid #4b5670;
        border-radius: 999px; }
nav a:hover { background: #36405a; }
main { padding: 1rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.2rem;
          margin: 0 0 1rem; }
h2 { margin: 0 0 .6rem; font-size: 1.2rem; }
h3 { margin: 1rem 0 .4rem; font-size: 1rem; color: var(--soft); font-weight: 600; }
p.note { color: var(--soft); margin: .3rem 0 .6rem; font-size: .92rem; }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: .6rem; margin: .4rem 0; }
.fact { border: 1px solid var(--line); border-radius: 8px; padding: .5rem .7rem; }
.fact .label { display: block; color: var(--soft); font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; }
.fact .value { font-size: 1.05rem; font-weight: 600; word-break: break-word; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; font-size: .9rem; margin: .3rem 0; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { color: var(--soft); font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { font-weight: 650; background: #eef4ff; }
.badge { font-size: .75rem; font-weight: 600; color: #fff; background: var(--accent); border-radius: 999px;
         padding: .05rem .45rem; margin-left: .3rem; }
details { margin-top: .6rem; }
summary { cursor: pointer; color: var(--accent); }
pre { background: #f0f2f6; border-radius: 8px; padding: .7rem; overflow-x: auto; font-size: .82rem; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 1rem 1.4rem; }
.charts > * { min-width: 0; }
figure { margin: 0; }
figure.chart img { width: 100%; height: auto; display: block; }
figcaption { color: var(--soft); font-size: .85rem; margin-top: .2rem; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: .8rem; }
.example { border: 1px solid var(--line); border-radius: 8px; padding: .5rem; text-align: center; }
.example .pictures { display: flex; gap: .3rem; justify-content: center; align-items: center; flex-wrap: wrap; }
.example img.input { width: 128px; height: 128px; image-rendering: pixelated; border-radius: 4px; }
.example img.original { max-width: 128px; max-height: 128px; border-radius: 4px; }
.example .name { font-size: .78rem; color: var(--soft); word-break: break-all; }
.example .classes { font-size: .9rem; }
.wrong { color: var(--bad); font-weight: 600; }
.missing { color: var(--soft); font-style: italic; }
.right { color: var(--good); font-weight: 600; }
@media (max-width: 560px) {
  body { font-size: 14px; }
  main { padding: .5rem; }
  section { padding: .8rem; }
  .grid { grid-template-columns: repeat(2, 1fr); }
  .facts { grid-template-columns: repeat(2, 1fr); gap: .4rem; }
  .fact .value { font-size: .92rem; }
  th, td { padding: .3rem .4rem; }
  .charts { grid-template-columns: 1fr; }
  header h1 { font-size: 1.2rem; }
  .example img.input { width: 100%; height: auto; }
}
"""

# records each picture's decoded width, so a browser (or the test) can tell that every picture decoded
SCRIPT = """
addEventListener("load", () => {
  let decoded = 0;
  for (const img of document.images) {
    img.dataset.naturalWidth = img.naturalWidth;
    if (img.naturalWidth > 0) decoded += 1;
  }
  document.body.dataset.pictures = document.images.length;
  document.body.dataset.decoded = decoded;
});
"""

POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


class Html(str):
    """A piece of HTML already made (a link): ``text`` leaves it as it is."""


def text(value):
    return value if isinstance(value, Html) else html.escape(str(value))


def link(href, label):
    return Html(f'<a href="{html.escape(href)}">{html.escape(str(label))}</a>')


def number(value, places=4):
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{places}f}"
    return str(value)


def data_uri(mime, payload):
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def chart_figure(svg, alt, caption=None):
    caption = f"<figcaption>{text(caption)}</figcaption>" if caption else ""
    return f'<figure class="chart"><img src="{data_uri("image/svg+xml", svg)}" alt="{text(alt)}">{caption}</figure>'


def png_uri(pixels):
    """A uint8 picture, (h, w, channels) or (h, w), as a PNG data URI."""
    from PIL import Image

    pixels = np.asarray(pixels, dtype=np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return data_uri("image/png", buffer.getvalue())


def facts(pairs):
    cells = "".join(
        f'<div class="fact"><span class="label">{text(label)}</span><span class="value">{text(value)}</span></div>'
        for label, value in pairs
    )
    return f'<div class="facts">{cells}</div>'


def table(header, rows, numeric=(), marked=None):
    """An HTML table; columns named in ``numeric`` align right, the row numbered ``marked`` stands out."""
    head = "".join(f"<th>{text(h)}</th>" for h in header)
    body = "".join(
        ('<tr class="best">' if i == marked else "<tr>")
        + "".join(
            f'<td class="n">{text(v)}</td>' if h in numeric else f"<td>{text(v)}</td>"
            for h, v in zip(header, row, strict=True)
        )
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def section(key, title, body, note=None):
    note = f'<p class="note">{text(note)}</p>' if note else ""
    return key, title, f'<section id="{key}"><h2>{text(title)}</h2>{note}{body}</section>'


def page(title, subtitle, sections, home=None):
    """The whole HTML document: a header with a link to each section (after ``home``, (href, label), a page this
    one belongs to), then the sections."""
    links = "".join(f'<a href="#{key}">{text(name)}</a>' for key, name, _ in sections)
    if home:
        links = str(link(*home)) + links
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{POLICY}">
<title>{text(title)}</title>
<style>{STYLE}</style>
<script>{SCRIPT}</script>
</head>
<body>
<header><div class="inner"><h1>{text(title)}</h1><p>{text(subtitle)}</p><nav>{links}</nav></div></header>
<main>
{"".join(body for _, _, body in sections)}
</main>
</body>
</html>
"""


# --- a run ----------------------------------------------------------------------


def last_validation(records):
    logged = [r for r in records if "validation_cost" in r]
    return logged[-1] if logged else None


def moment(stamp):
    """An ISO time of metrics.json as a person reads it: ``2026-12-02 03:39:36 UTC``."""
    if not isinstance(stamp, str):
        return "?"
    return stamp.replace("T", " ").replace("+00:00", " UTC")


def run_section(folder, metrics, config_text, saved, path):
    records = metrics.get("costs") or []
    best = metrics.get("best_iteration")
    best_scores = metrics.get("best_validation") or {}
    last = last_validation(records)
    pairs = [
        ("status", metrics.get("status", "?")),
        ("model used", f"{path.name}, iteration {saved.iteration}"),
        ("iterations", f"{metrics.get('iterations_done')} of {metrics.get('iterations')}"),
        ("layers", "-".join(map(str, saved.net.layers))),
        ("path", "fast path" if metrics.get("fast_path") else "general path"),
        ("time", duration(metrics.get("seconds"))),
        ("started", moment(metrics.get("started"))),
        *([("resumed", moment(metrics["resumed"]))] if metrics.get("resumed") else []),
        ("updated", moment(metrics.get("updated"))),
    ]
    if best is not None:
        pairs.append(("best (best.npz)", f"iteration {best}: validation {validation_scores(best_scores)}"))
    if last is not None:
        logged = {key.removeprefix("validation_"): v for key, v in last.items() if key.startswith("validation_")}
        pairs.append(("last", f"iteration {metrics.get('iterations_done')}: validation {validation_scores(logged)}"))
    if metrics.get("stopped_early"):
        pairs.append(("stopped early", "the validation cost stopped improving"))
    if metrics.get("error"):
        pairs.append(("failed", metrics["error"]))
    pairs += [("warning", warning) for warning in metrics.get("warnings") or []]
    splits = [split for split in ("train", "validation", "test") if isinstance(metrics.get(split), dict)]
    names = shown_scores(metrics[splits[0]]) if splits else []
    scores = [
        (
            split,
            metrics[split]["examples"],
            *(score_text(n, metrics[split].get(n)) for n in names),
            number(metrics[split]["cost"], 6),
        )  # fmt: skip
        for split in splits
    ]
    versions = ", ".join(f"{k} {v}" for k, v in (metrics.get("versions") or {}).items())
    body = facts(pairs)
    if scores:
        header = ("set", "examples", *(SCORE_NAMES[n] for n in names), "cost")
        body += "<h3>final scores (the last weights)</h3>" + table(header, scores, numeric=header[1:])
    body += f'<p class="note">versions: {text(versions)}</p>'
    body += f"<details><summary>config.yaml</summary><pre>{text(config_text)}</pre></details>"
    return section("run", "The run", body, note=str(folder))


def validation_scores(scores):
    """``cost 0.1806, accuracy 0.9167``, or a regression's cost, RMSE, MAE and R²; n/a for what is missing."""
    shown = [f"{SCORE_NAMES[n]} {score_text(n, scores.get(n))}" for n in shown_scores(scores) or ["accuracy"]]
    return ", ".join([f"cost {number(scores.get('cost'))}", *shown])


def learning_section(records, best):
    if not records:
        return section("learning-curves", "Learning curves", "<p>No costs were logged.</p>")
    note = "The x axis counts iterations done, as checkpoints do."
    if best is not None:
        note += " The dotted line is best.npz."
    pictures = charts.learning_curves(records, best)
    score = charts.VALIDATION_SCORES.get(charts.validation_score(records), "accuracy")
    body = chart_grid(
        [chart_figure(svg, alt) for svg, alt in zip(pictures, ("cost", f"validation {score}"), strict=False)]
    )
    return section("learning-curves", "Learning curves", body, note=note)


def health_section(records):
    pictures = charts.health(records)
    if not pictures:
        return section("health", "Health over time", "<p>No health was logged.</p>")
    note = "The share of each hidden ReLU layer's units that are 0 for every example of the batch, and each layer's gradient norm."
    body = chart_grid(
        [chart_figure(svg, alt) for svg, alt in zip(pictures, ("dead ReLU share", "gradient norms"), strict=False)]
    )
    return section("health", "Health over time", body, note)


def chart_grid(figures):
    return f'<div class="charts">{"".join(figures)}</div>'


def curves_of(labels, probabilities, classes):
    """ROC and precision-recall curves: the second class's for two classes, each class's against the rest."""
    from ..model.metrics import average_precision, roc_auc

    labels = np.asarray(labels)
    chosen = [1] if len(classes) == 2 else range(len(classes))
    roc, pr = {}, {}
    for k in chosen:
        truth, scores = labels == k, probabilities[k]
        if roc_curve(truth, scores) is not None:
            roc[classes[k]] = (*roc_curve(truth, scores), roc_auc(truth, scores))
        if precision_recall_curve(truth, scores) is not None:
            pr[classes[k]] = (*precision_recall_curve(truth, scores), average_precision(truth, scores))
    return roc, pr


def test_section(report, dataset, note=None):
    classes = report["classes"]
    probabilities = np.array([[r["probabilities"][c] for c in classes] for r in report["predictions"]]).T
    roc, pr = curves_of(dataset.labels, probabilities, classes)
    calibration = report["calibration"]
    pairs = [("examples", report["examples"]), ("accuracy", number(report["accuracy"])),
             ("log loss", number(report["log_loss"], 6))]  # fmt: skip
    if "roc_auc" in report:
        pairs += [(f"ROC AUC ({classes[1]})", number(report["roc_auc"])),
                  ("average precision", number(report["average_precision"])), ("Brier score", number(report["brier"]))]  # fmt: skip
    else:
        macro = report["one_vs_rest_macro"]
        pairs += [
            ("macro ROC AUC", number(macro["roc_auc"])),
            ("macro average precision", number(macro["average_precision"])),
        ]
        pairs += [(f"top-{k} accuracy", number(v)) for k, v in report["top_k_accuracy"].items() if k != "1"]
    pairs.append(("calibration error", number(calibration["expected_calibration_error"])))
    figures = [chart_figure(charts.confusion(report["confusion_matrix"], classes), "confusion matrix")]
    if roc:
        figures.append(chart_figure(charts.roc(roc), "ROC curve"))
    if pr:
        figures.append(chart_figure(charts.precision_recall(pr), "precision-recall curve"))
    figures.append(chart_figure(charts.reliability(calibration["bins"], calibration["expected_calibration_error"]),
                                "reliability diagram"))  # fmt: skip
    per_class = [
        (name, report["counts"][name], *(number(s[k]) for k in ("precision", "recall", "f1")))
        for name, s in report["per_class"].items()
    ]
    body = facts(pairs) + chart_grid(figures)
    body += "<h3>per class</h3>" + table(
        ("class", "examples", "precision", "recall", "f1"), per_class, numeric=("examples", "precision", "recall", "f1")
    )
    return section("test-set", "On the test set", body, note=note or short_path(dataset.path))


FLAGGED_SHOWN = 12  # the unfamiliar test examples named


def trust_section(report):
    """How far to trust the model's answers on the test set: its scores beside its baseline's, said in words
    when it is no better; its calibration before and after; its threshold; the examples flagged unfamiliar."""
    baseline, regression = report.get("baseline"), "rmse" in report
    if regression:
        rows = [(SCORE_TEXT[name], number(report[name]), number(baseline[name]) if baseline else "n/a")
                for name in ("rmse", "mae", "r2")]  # fmt: skip
        always = "always answering the training mean"
    else:
        rows = [(SCORE_TEXT[name], number(report[name]), number(baseline[name]) if baseline else "n/a")
                for name in ("accuracy", "balanced_accuracy")]  # fmt: skip
        always = f"always answering {baseline['class']!r}, the most common class in training" if baseline else None
    body = table(("score", "model", "baseline"), rows, numeric=("model", "baseline"))
    if report.get("no_better"):
        verdict = f"The model is {report['no_better']}."
    elif baseline:
        verdict = "The model does better than its baseline."
    else:
        verdict = "This checkpoint does not record its training classes, so it has no baseline."
    body += f"<p><b>{text(verdict)}</b></p>"
    if not regression:
        recall = [
            (name, report["counts"][name], number(scores["recall"])) for name, scores in report["per_class"].items()
        ]
        body += "<h3>recall of each class</h3>" + table(
            ("class", "examples", "recall"), recall, numeric=("examples", "recall")
        )
        body += calibration_part(report)
    body += unfamiliar_part(report)
    note = f"The baseline is {always}." if always else None
    return section(*TRUST, body, note=note)


SCORE_TEXT = {**SCORE_NAMES, "balanced_accuracy": "balanced accuracy"}


def calibration_part(report):
    fitted = report.get("temperature")
    pairs = [("calibration error", number(report["calibration"]["expected_calibration_error"]))]
    if fitted is None:
        note = "Not calibrated: its probabilities are the network's own (dnn calibrate fits a temperature)."
    else:
        before = report["uncalibrated"]
        pairs += [
            ("calibration error, uncalibrated", number(before["calibration_error"])),
            ("log loss", number(report["log_loss"], 6)),
            ("log loss, uncalibrated", number(before["log_loss"], 6)),
        ]
        note = f"Calibrated: {calibration_text(fitted)}."
    if report.get("threshold"):
        note += f" Its {threshold_text(report['threshold'], report['classes'])}."
    return "<h3>probabilities</h3>" + facts(pairs) + f'<p class="note">{text(note)}</p>'


def unfamiliar_part(report):
    counts = report.get("unfamiliar")
    if counts is None:
        return '<h3>unfamiliar inputs</h3><p class="note">This checkpoint does not measure how unlike its training inputs an input is.</p>'
    flagged = [r for r in report["predictions"] if r.get("unfamiliar")]
    text_ = f"{counts['flagged']} of {counts['examples']} test examples are unlike the training inputs (unfamiliarity above 1)"
    if counts.get("accuracy_flagged") is not None:
        text_ += f"; accuracy {number(counts['accuracy_flagged'])} on them, {number(counts['accuracy_familiar'])} on the rest"
    body = f"<h3>unfamiliar inputs</h3><p>{text(text_)}.</p>"
    if flagged:
        ranked = sorted(flagged, key=lambda r: -(r["unfamiliarity"] if r["unfamiliarity"] is not None else np.inf))
        rows = [
            (r.get("file", r.get("line", r.get("row", r["index"]))), number(r["unfamiliarity"], 2))
            for r in ranked[:FLAGGED_SHOWN]
        ]
        body += table(("example", "unfamiliarity"), rows, numeric=("unfamiliarity",))
    return body


def example_card(row, dataset, original):
    """One top-loss example: the picture as the network saw it, the original file for a folder set."""
    index = row["index"]
    pixels = dataset.subset(np.array([index])).pixels()[0]
    pictures = f'<img class="input" src="{png_uri(pixels)}" alt="input picture {index}">'
    if original is not None:
        pictures += f'<img class="original" src="{png_uri(original)}" alt="original file">'
    name = row.get("file", f"#{index}")
    verdict = "right" if row["true"] == row["predicted"] else "wrong"
    return (
        f'<div class="example"><div class="pictures">{pictures}</div>'
        f'<div class="name">{text(name)}</div>'
        f'<div class="classes">true <b>{text(row["true"])}</b>, predicted <span class="{verdict}">'
        f"{text(row['predicted'])}</span></div>"
        f'<div class="name">p(true) {row["p_true"]:.3f}<br>p(predicted) {row["p_predicted"]:.3f}</div></div>'
    )


def original_picture(dataset, row, warn):
    if "file" not in row:
        return None
    from ..data.pictures import preview_picture

    try:
        return preview_picture(Path(dataset.path) / row["file"], ORIGINAL_PIXELS)
    except UserError as e:
        if warn:
            warn(e.format_message())
        return None


def top_losses_section(report, dataset, count, warn=None):
    rows = top_losses_of(report, count)
    cards = "".join(example_card(row, dataset, original_picture(dataset, row, warn)) for row in rows)
    note = (
        f"The {len(rows)} test examples with the highest loss, -ln p(true), the most confidently wrong first: "
        "each picture as the network saw it" + (", then the original file." if dataset.files is not None else ".")
    )
    return section("top-losses", "Top losses", f'<div class="grid">{cards}</div>', note=note)


def run_report(folder, best=False, top=TOP_LOSSES, warn=None, home=None):
    """The HTML page about a run folder, with its test set evaluated by the model (its best with ``best``);
    ``home`` (href, label) links the page it belongs to."""
    folder = Path(folder)
    metrics = shown_metrics(folder)
    path = model_path(folder, None, best)
    saved = checkpoint.load(path)
    config = run_config(folder)
    config_text = (folder / CONFIG).read_text(encoding="utf-8") if config is not None else "(no config.yaml)"
    records = [r for r in metrics.get("costs") or [] if isinstance(r, dict) and "iteration" in r]
    charts.figure(charts.PANEL)  # without matplotlib, the one line now, before any work
    sections = [
        run_section(folder, metrics, config_text, saved, path),
        learning_section(records, metrics.get("best_iteration")),
        health_section(records),
    ]
    if config is not None and saved.takes_tables:
        sections += table_sections(saved, config, top, warn)
    elif config is not None and config["data"]["test"] is not None:
        check_scaled_as_data_sets(saved, path)
        dataset, _ = choose_data(config, folder, None, "test", saved, warn)
        report = evaluate(saved, dataset)
        sections += [test_section(report, dataset), trust_section(report)]
        sections.append(top_losses_section(report, dataset, top, warn))
    else:
        sections += no_test_sections("data.test", *LATER_SECTIONS["pictures"])
    name = metrics.get("name") or folder.name
    return page(f"{name}: {folder}", f"dnn report of {path}, iteration {saved.iteration}", sections, home)


def no_test_sections(keys, *titles):
    """The sections of a run whose config names no test rows (its ``keys`` would): (key, title) each, saying so."""
    missing = f"<p>The run's config names no test set ({keys}), so there is nothing to evaluate on.</p>"
    return [section("test-set", "On the test set", missing)] + [section(key, name, missing) for key, name in titles]


def report_pages(folder, out, best=False, warn=None):
    """``(path, page)`` of every page ``dnn report FOLDER --out OUT`` writes, ``out`` last: the run's page; for a
    sweep, first a page per trial with a checkpoint, in the folder ``trials_folder(out)``, then the sweep's,
    linking to them. A trial whose page cannot be made is named to ``warn`` and gets no link."""
    folder, out = Path(folder), Path(out)
    if not is_sweep(folder):
        yield out, run_report(folder, best, warn=warn)
        return
    index = as_seen(read_index(folder))  # trials of a driver that is gone show as killed, as in `dnn runs`
    charts.figure(charts.PANEL)  # without matplotlib, the one line now, before any work
    reports = {}
    for row in ranked(index):
        if not (folder / row["folder"] / CHECKPOINT).is_file():
            continue
        path = trials_folder(out) / f"{row['folder']}.html"
        try:
            trial = run_report(folder / row["folder"], best, warn=warn, home=(f"../{out.name}", "the sweep"))
        except UserError as e:
            if warn:
                warn(f"{row['folder']}: no report of its own ({e.format_message()})")
            continue
        yield path, trial
        reports[row["folder"]] = f"{path.parent.name}/{path.name}"
    yield out, sweep_report(folder, index, reports)


def trials_folder(out):
    """Where the trials' pages of a sweep's report ``out`` go: ``sweep-trials/`` beside ``sweep.html``."""
    out = Path(out)
    return out.with_name(f"{out.stem}-trials")


def page_bytes(page):
    """A page as its file holds it: ASCII, other characters as references, the same bytes whatever the locale."""
    return page.encode("ascii", "xmlcharrefreplace")


# --- a table run ----------------------------------------------------------------

# the sections after the test set's: (key, title) of a run of pictures, of a table classifier, of a regression
TRUST = ("trust", "How far to trust it")
LATER_SECTIONS = {
    "pictures": [TRUST, ("top-losses", "Top losses")],
    "classification": [TRUST, ("top-losses", "Top losses"), ("importance", "Which columns matter")],
    "regression": [TRUST, ("top-losses", "Largest errors"), ("importance", "Which columns matter")],
}
ERROR_CHARTS = 4  # targets of a regression drawn at most (predicted against true, and residuals, each)


def table_sections(saved, config, top, warn=None):
    """The sections of a table run after its learning: the test rows' scores (a regression's predicted against
    true values and residuals), the rows with the highest loss with their cells, and which columns matter."""
    rows = split_tables(config, True, warn).test
    task = "regression" if saved.regression else "classification"
    if rows is None:
        return no_test_sections("data.test or data.test_fraction", *LATER_SECTIONS[task])
    dataset = encoded_rows(rows, saved.encoder, warn)
    report = evaluate(saved, dataset)
    fraction = config["data"]["test_fraction"]
    where = short_path(dataset.path)
    note = f"{where}: {plural(dataset.m, 'row')} " + (
        f"held out as the test set (data.test_fraction {fraction:g})" if fraction else "(data.test)"
    )
    first = regression_section(report, note) if saved.regression else test_section(report, dataset, note)
    return [first, trust_section(report), table_losses_section(report, rows, saved.encoder, top),
            importance_section(permutation_importance(saved, rows), where)]  # fmt: skip


def regression_section(report, note):
    targets = report["targets"]
    pairs = [("examples", report["examples"])]
    pairs += [(SCORE_NAMES[n], score_text(n, report[n])) for n in SCORES["regression"]]
    pairs.append(("cost (half squared error, standardised)", number(report["cost"], 6)))
    truth = {name: [r["true"][name] for r in report["predictions"]] for name in targets}
    guess = {name: [r["predicted"][name] for r in report["predictions"]] for name in targets}
    figures = []
    for name in targets[:ERROR_CHARTS]:
        errors = [g - t for g, t in zip(guess[name], truth[name], strict=True)]
        figures += [
            chart_figure(charts.predicted_against_true(truth[name], guess[name], name), f"{name}: predicted against true"),
            chart_figure(charts.residuals(guess[name], errors, name), f"{name}: residuals"),
        ]  # fmt: skip
    body = facts(pairs) + chart_grid(figures)
    if len(targets) > 1:
        names = SCORES["regression"]
        per_target = [(t, *(score_text(n, report["per_target"][t][n]) for n in names)) for t in targets]
        header = ("target", *(SCORE_NAMES[n] for n in names))
        body += "<h3>per target</h3>" + table(header, per_target, numeric=header[1:])
    return section("test-set", "On the test set", body, note=note)


def cell_text(value):
    """A cell of a table as a row of the report shows it: numbers to 6 significant places, a missing one said so."""
    if value is None:
        return Html('<span class="missing">missing</span>')
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def table_losses_section(report, rows, encoder, count):
    """The test rows with the highest loss as a table: where each is in its file, its id cells, true and predicted
    class with p(true), or a regression's true and predicted values and errors, then the cells it was given."""
    found = top_losses_of(report, count)
    cells = python_cells(rows.select([r["index"] for r in found]).columns) if found else []
    shown = [*encoder.ids, *encoder.feature_columns]
    where = rows.position_name
    if "targets" in report:
        targets = report["targets"]
        several = len(targets) > 1
        outcome = [f"{kind} {t}" if several else kind for t in targets for kind in ("true", "predicted", "error")]
        results = [[error_text(r[kind][t]) for t in targets for kind in ("true", "predicted", "error")] for r in found]
        title, numeric = "Largest errors", outcome
        what = f"the largest errors in {', '.join(targets)} (predicted - true)"
    else:
        outcome = ["true", "predicted", "p(true)", "loss"]
        results = [
            [r["true"], verdict(r["true"], r["predicted"]), number(r["p_true"]), number(r["loss"])] for r in found
        ]
        title, numeric = "Top losses", outcome[2:]
        what = "the highest loss, -ln p(true), the most confidently wrong first"
    lines = [
        (r[where], *result, *(cell_text(c.get(name)) for name in shown))
        for r, result, c in zip(found, results, cells, strict=True)
    ]
    body = table((where, *outcome, *shown), lines, numeric=(where, *numeric))
    note = f"The {plural(len(found), 'test row')} with {what}: where each is in its file, then its cells."
    if "targets" in report and len(report["targets"]) > 1:
        note += " Several targets' errors are weighed together in standard deviations of each."
    return section("top-losses", title, body, note=note)


def verdict(true, predicted):
    return Html(f'<span class="{"right" if true == predicted else "wrong"}">{text(predicted)}</span>')


def importance_section(found, where):
    """Which columns matter: each column's permutation importance on the test rows, a chart and a table."""
    score = SCORE_NAMES[found.scoring]
    means = [found.mean(c) for c in found.columns]
    stds = [found.std(c) for c in found.columns]
    names = [c.name for c in found.columns]
    shown = min(len(names), charts.IMPORTANCE_BARS)
    caption = f"the {shown} most important of {len(names)} columns" if shown < len(names) else None
    chart = chart_figure(charts.importance(names, means, stds, score), "permutation importance of each column", caption)
    rows = [
        (c.name, c.kind, c.inputs, number(m), number(sd)) for c, m, sd in zip(found.columns, means, stds, strict=True)
    ]
    header = ("column", "kind", "inputs", "mean fall", "std")
    sampled = f" ({found.rows} of them, drawn by the seed)" if found.rows < found.of_rows else ""
    pairs = [
        (f"test {score}", number(found.baseline)),
        ("rows", f"{found.of_rows}{sampled}"),
        ("shuffles", f"{found.repeats} a column, seed {found.seed}"),
    ]
    body = facts(pairs) + chart_grid([chart])
    body += f"<details><summary>every column's numbers ({len(rows)})</summary>{table(header, rows, numeric=header[2:])}</details>"
    note = (
        f"How much the model's {score} on the test rows of {where} falls when one column's cells are shuffled "
        "among the rows (its link to the target broken, its values kept), the mean and standard deviation over "
        "the shuffles. A column near 0 is one the model does not lean on, or whose information another column "
        "also holds: columns that say the same share their importance. A category column is one column, "
        "however many inputs it becomes."
    )
    return section("importance", "Which columns matter", body, note=note)


# --- a sweep --------------------------------------------------------------------


def sweep_section(rows, parameters, metric, log_axes=(), best=None, reports=None, curves=None):
    """The trials table, their learning curves and the metric against each parameter.

    ``rows``: one dict per trial with ``trial``, ``folder``, ``status``, ``values`` ({parameter: value}) and
    ``metric`` (None for a trial without one), in the order to show; ``parameters``: the swept keys, in order;
    ``log_axes``: the parameters drawn on a log axis (the log-uniform ones); ``best``: the best trial's folder,
    marked; ``reports``: {folder: the href of its own report}; ``curves``: {folder: its logged records}.
    """
    reports, curves = reports or {}, curves or {}
    header = ("trial", "folder", "status", *(p.rsplit(".", 1)[-1] for p in parameters), metric)
    cells = [
        (
            Html(f'{row["trial"]}<span class="badge">best</span>') if row["folder"] == best else row["trial"],
            link(reports[row["folder"]], row["folder"]) if row["folder"] in reports else row["folder"],
            row["status"],
            *(sweep_value(row["values"].get(p)) for p in parameters),
            number(row["metric"], 6),
        )  # fmt: skip
        for row in rows
    ]
    marked = next((i for i, row in enumerate(rows) if row["folder"] == best), None)
    scored = [row for row in rows if isinstance(row.get("metric"), (int, float))]
    figures = [
        chart_figure(
            charts.metric_against(
                [row["values"][p] for row in scored],
                [row["metric"] for row in scored],
                p,
                metric,
                p in log_axes,
                next((i for i, row in enumerate(scored) if row["folder"] == best), None),
            ),
            f"{metric} against {p}",
        )
        for p in parameters
        if scored and all(p in row["values"] for row in scored)
    ]
    drawn = [row["folder"] for row in rows if curves.get(row["folder"])]
    if drawn:
        names = [f"{name} (best)" if name == best else name for name in drawn]
        pictures = charts.trial_curves(
            [curves[name] for name in drawn], names, names.index(f"{best} (best)") if best in drawn else None
        )
        figures = [
            chart_figure(svg, alt)
            for svg, alt in zip(pictures, ("cost of each trial", "validation cost of each trial"), strict=False)
        ] + figures
    body = table(header, cells, numeric=(metric,), marked=marked) + chart_grid(figures)
    note = f"{plural(len(rows), 'trial')}, {len(scored)} with a {metric}"
    if reports:
        note += "; each trial's folder links to its own report"
    return section("sweep", "The sweep", body, note=note)


def sweep_report(folder, index, reports=None):
    """The page of a sweep folder, from its ``index`` (as seen), linking each trial in ``reports`` to its page."""
    parameters = index["parameters"]  # key -> its distribution
    log_axes = {key for key, distribution in parameters.items() if distribution == "log_uniform"}
    best = best_trial(index)
    curves = {}
    for row in index["trials"]:
        try:
            curves[row["folder"]] = shown_metrics(Path(folder) / row["folder"]).get("costs") or []
        except UserError:
            pass  # a trial that never started, or whose metrics are broken: no curve (its row says why)
    section_ = sweep_section(
        ranked(index), list(parameters), index["metric"], log_axes, best and best["folder"], reports, curves
    )
    return page(f"sweep {index['name']}", f"dnn report of {folder}: the trials best first", [section_])
