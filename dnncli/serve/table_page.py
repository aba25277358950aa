"""The page at ``/`` for a table model: drop or pick a CSV (or Parquet) file, see its rows' predictions as a table.

The file goes whole to ``POST /predict`` as multipart/form-data, where the service reads it as ``dnn predict``
reads one (``data.tables.read_table``), so the page shows the very records ``dnn predict --json`` gives: each
row's line, its id cells and the prediction (class, unsure below --min-confidence, probability, margin and each
class's, or each target's number), whether the row is unlike the training rows (its unfamiliarity), and for a
row the model cannot take, its error. Like the picture page it is one document with its CSS and JS inline
(served with ``page.PAGE_HEADERS``); a wide table scrolls inside its own box, so a phone never scrolls sideways.
"""

from .page import DROP_SCRIPT, DROP_STYLE

TABLE_PAGE = (
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dnn: predict a table's rows</title>
<style>
"""
    + DROP_STYLE
    + """  main { max-width: 1100px; }
  .result { margin-top: 16px; background: #fff; border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; }
  .result h2 { font-size: 1rem; margin: 0; overflow-wrap: anywhere; }
  .summary { color: var(--muted); font-size: 0.9rem; margin: 2px 0 8px; }
  .result[data-state="error"] .summary { color: var(--bad); }
  .unknown { color: var(--muted); font-size: 0.85rem; margin: 0 0 8px; overflow-wrap: anywhere; }
  .scroll { overflow-x: auto; max-height: 70vh; overflow-y: auto; border-top: 1px solid var(--line); }
  table { border-collapse: collapse; font-size: 0.9rem; }
  th, td { padding: 4px 10px; text-align: left; white-space: nowrap; border-bottom: 1px solid #eceff4; }
  th { position: sticky; top: 0; background: #f8f9fb; font-weight: 600; }
  .number { text-align: right; font-variant-numeric: tabular-nums; }
  th.number { text-align: right; }
  td.predicted { font-weight: 600; }
  td.flag { background: #fff4d6; color: #7a5200; }
  tr.failed td { color: var(--bad); }
  tr.failed td.error { white-space: normal; }
  .bar { display: inline-block; vertical-align: middle; width: 48px; height: 6px; margin-left: 6px;
         border-radius: 3px; background: #e9ecf1; overflow: hidden; }
  .bar i { display: block; height: 100%; background: var(--accent); }
  @media (max-width: 480px) {
    main { padding: 12px; }
    #drop { min-height: 120px; }
    th, td { padding: 4px 6px; }
  }
</style>
</head>
<body>
<main>
  <h1>Predict a table's rows</h1>
  <p id="model">Loading the model&hellip;</p>
  <label id="drop" for="pick">
    <strong>Drop a table file here</strong>
    <span>or tap to choose one (CSV, TSV, gzipped CSV or Parquet, with a header row)</span>
    <input id="pick" type="file" accept=".csv,.tsv,.txt,.gz,.parquet,.pq,text/csv" multiple>
  </label>
  <div id="results"></div>
</main>
<script>
"use strict";
const drop = document.getElementById("drop");
const pick = document.getElementById("pick");
const results = document.getElementById("results");
let info = null;
let queue = Promise.resolve();

const ready = fetch("info").then(r => r.json()).then(answer => {
  info = answer;
  const predicts = info.task === "regression" ? `Predicts ${info.targets.join(", ")}`
                                              : `Predicts ${info.classes.join(" / ")}`;
  const columns = info.columns.map(c => `${c.name} (${c.kind})`).join(", ");
  document.getElementById("model").textContent =
    `${predicts} from ${info.columns.length} columns: ${columns} · ${info.layers.join(" → ")} · ` +
    `${info.model} weights, iteration ${info.iteration}`;
}).catch(() => { document.getElementById("model").textContent = "The model's details are unavailable."; });

function plural(n, noun) { return `${n.toLocaleString("en")} ${noun}${n === 1 ? "" : "s"}`; }

function shown(value) {
  if (typeof value !== "number") return value === null || value === undefined ? "" : String(value);
  return Number.isInteger(value) ? String(value) : String(+value.toPrecision(6));
}

function cell(row, text, className) {
  const td = element("td", className, text);
  row.append(td);
  return td;
}

// The columns of a record: where the row is, its ids, then the prediction.
function headings(records) {
  const first = records.find(r => !("error" in r)) || records[0];
  const position = "line" in first ? "line" : "row";
  const ids = (info.ids || []).filter(name => records.some(r => name in r));
  const answers = info.task === "regression" ? info.targets.map(t => [`predicted ${t}`, "number"])
    : [["predicted", null], ["probability", "number"], ["margin", "number"],
       ...info.classes.map(c => [`p(${c})`, "number"])];
  const flagged = info.familiarity ? [["unfamiliar", null]] : [];
  return { position, ids, names: [[position, "number"], ...ids.map(name => [name, null]), ...answers, ...flagged] };
}

function predictionTable(records) {
  const { position, ids, names } = headings(records);
  const table = element("table");
  const head = element("tr");
  for (const [name, className] of names) head.append(element("th", className, name));
  const thead = element("thead");
  thead.append(head);
  table.append(thead);
  const body = element("tbody");
  for (const record of records) {
    const row = element("tr");
    row.dataset.position = record[position];
    cell(row, String(record[position]), "number");
    if ("error" in record) {
      row.className = "failed";
      row.dataset.error = record.error;
      const td = cell(row, record.error, "error");
      td.colSpan = names.length - 1;
    } else {
      for (const name of ids) cell(row, shown(record[name]));
      if (info.task === "regression") {
        for (const target of info.targets) {
          cell(row, shown(record.predicted[target]), "number predicted").dataset.value = record.predicted[target];
        }
      } else {
        row.dataset.predicted = record.predicted;
        row.dataset.probability = record.probability;
        cell(row, "guess" in record ? `${record.predicted} (${record.guess}?)` : record.predicted, "predicted");
        const p = cell(row, record.probability.toFixed(4), "number probability");
        const bar = element("span", "bar");
        const fill = element("i");
        fill.style.width = (100 * record.probability).toFixed(1) + "%";
        bar.append(fill);
        p.append(bar);
        cell(row, record.margin.toFixed(4), "number margin");
        for (const name of info.classes) cell(row, record.probabilities[name].toFixed(4), "number");
      }
      if (info.familiarity) {  // unlike the training rows: the answer may mean little; the class is kept
        const score = record.unfamiliarity === null ? "far" : record.unfamiliarity.toFixed(2);
        row.dataset.unfamiliar = record.unfamiliar;
        cell(row, `${record.unfamiliar ? "yes" : "no"} (${score})`, record.unfamiliar ? "flag" : null);
      }
    }
    body.append(row);
  }
  table.append(body);
  const scroll = element("div", "scroll");
  scroll.append(table);
  return scroll;
}

function unknownNote(unknown) {
  const parts = Object.entries(unknown || {}).map(([column, counts]) =>
    `${column}: ` + Object.entries(counts).sort((a, b) => b[1] - a[1]).slice(0, 5)
      .map(([value, count]) => `${JSON.stringify(value)} (${count})`).join(", "));
  return parts.length ? element("p", "unknown",
    "Categories the model has no input of their own for (unseen in training, or rare): " + parts.join("; ")) : null;
}

async function predict(file) {
  const section = element("section", "result");
  section.dataset.state = "waiting";
  section.append(element("h2", null, file.name), element("p", "summary", "Predicting…"));
  results.prepend(section);
  const summary = section.querySelector(".summary");
  const form = new FormData();
  form.append("table", file, file.name);
  try {
    await ready;
    const response = await fetch("predict", { method: "POST", body: form });
    const answer = await response.json();
    if (!response.ok) {
      section.dataset.state = "error";
      summary.textContent = response.status === 413 && !/rows/.test(answer.error)
        ? `This file is too large: the service takes files of up to ${+(info.max_upload_bytes / 1e6).toPrecision(3)} MB.`
        : answer.error;
      return;
    }
    const records = answer.predictions;
    const failed = records.filter(r => "error" in r).length;
    section.dataset.state = "done";
    summary.textContent = `${plural(records.length, "row")}: ${records.length - failed} predicted` +
      (failed ? `, ${plural(failed, "problem")}` : "");
    const note = unknownNote(answer.unknown_categories);
    if (note) section.append(note);
    section.append(predictionTable(records));
  } catch (e) {
    section.dataset.state = "error";
    summary.textContent = "The service did not answer (" + e.message + ").";
  }
}

function add(files) {
  for (const file of files) queue = queue.then(() => predict(file));
}

"""
    + DROP_SCRIPT
    + """</script>
</body>
</html>
"""
)
