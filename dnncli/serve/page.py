"""The page at ``/``: drop or pick pictures, see each with its class and probability.

Beside the class: the margin over the next class, ``unsure`` (with the class it would be) when the service
abstains below ``--min-confidence``, and a flag on a picture unlike the training pictures (its unfamiliarity
above 1), which never changes the class.

One HTML document with its CSS and JS inline, so it needs no network beyond the
service itself (the Content-Security-Policy says so to the browser too). Each
picture goes to ``POST /predict`` on its own, two at a time, so one bad file
shows its error and the others their classes; an answer about the service's own
limits is said in the page's words (a browser user has no command line). The layout is a grid of cards
that folds to one column on a phone.
"""

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "img-src blob:; connect-src 'self'; base-uri 'none'; form-action 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

# The page around the drop zone, and the zone itself: both pages (this and ``table_page``) start their CSS with it
DROP_STYLE = """  :root { --ink: #1d2330; --muted: #5d6677; --line: #d5dae3; --accent: #2f6fde; --bad: #b3261e; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: var(--ink); background: #f4f6f9; }
  main { max-width: 960px; margin: 0 auto; padding: 16px; }
  h1 { font-size: 1.4rem; margin: 4px 0 2px; }
  #model { color: var(--muted); font-size: 0.9rem; margin: 0 0 14px; overflow-wrap: anywhere; }
  #drop { display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 6px;
          min-height: 150px; padding: 20px; border: 2px dashed var(--line); border-radius: 12px;
          background: #fff; text-align: center; cursor: pointer; }
  #drop.over { border-color: var(--accent); background: #eef4ff; }
  #drop strong { font-size: 1.1rem; }
  #drop span { color: var(--muted); font-size: 0.9rem; }
  #pick { position: absolute; width: 1px; height: 1px; opacity: 0; }
"""

# Both pages end their script with it: ``element`` makes a node; a file picked or dropped goes to the page's ``add``
DROP_SCRIPT = """function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

pick.addEventListener("change", () => { add(pick.files); pick.value = ""; });
for (const name of ["dragenter", "dragover"]) {
  drop.addEventListener(name, e => { e.preventDefault(); drop.classList.add("over"); });
}
for (const name of ["dragleave", "drop"]) {
  drop.addEventListener(name, e => { e.preventDefault(); drop.classList.remove("over"); });
}
drop.addEventListener("drop", e => add(e.dataTransfer.files));
document.addEventListener("dragover", e => e.preventDefault());
document.addEventListener("drop", e => e.preventDefault());
"""

PAGE = (
    """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dnn: classify pictures</title>
<style>
"""
    + DROP_STYLE
    + """  #results { display: grid; grid-template-columns: repeat(auto-fill, minmax(180px, 1fr)); gap: 12px;
             margin-top: 16px; padding: 0; list-style: none; }
  .card { background: #fff; border: 1px solid var(--line); border-radius: 10px; overflow: hidden; }
  .card img, .nopreview { display: block; width: 100%; aspect-ratio: 1; object-fit: cover; background: #e9ecf1; }
  .nopreview { display: flex; align-items: center; justify-content: center; color: var(--muted); font-size: 0.9rem; }
  .card .body { padding: 8px 10px 10px; }
  .name { color: var(--muted); font-size: 0.8rem; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
  .class { font-weight: 600; font-size: 1.15rem; }
  .probability { font-variant-numeric: tabular-nums; color: var(--muted); }
  .bar { height: 6px; border-radius: 3px; background: #e9ecf1; margin-top: 6px; overflow: hidden; }
  .bar div { height: 100%; width: 0; background: var(--accent); }
  .card[data-state="error"] .class { color: var(--bad); font-size: 1rem; }
  .card[data-unsure="true"] .class { color: var(--muted); }
  .flag { margin-top: 6px; padding: 2px 6px; border-radius: 6px; background: #fff4d6; color: #7a5200;
          font-size: 0.8rem; }
  .error { color: var(--bad); font-size: 0.85rem; overflow-wrap: anywhere; }
  @media (max-width: 480px) {
    main { padding: 12px; }
    #results { grid-template-columns: 1fr 1fr; gap: 8px; }
    #drop { min-height: 120px; }
  }
</style>
</head>
<body>
<main>
  <h1>Classify pictures</h1>
  <p id="model">Loading the model&hellip;</p>
  <label id="drop" for="pick">
    <strong>Drop pictures here</strong>
    <span>or tap to choose them (JPEG, PNG, BMP, GIF, WebP, TIFF, PPM)</span>
    <input id="pick" type="file" accept="image/*" multiple>
  </label>
  <ul id="results"></ul>
</main>
<script>
"use strict";
const drop = document.getElementById("drop");
const pick = document.getElementById("pick");
const results = document.getElementById("results");
const queue = [];
let running = 0;
let largest = null;  // bytes an upload may have, from /info

fetch("info").then(r => r.json()).then(info => {
  largest = info.max_upload_bytes;
  const shape = info.input_shape.join(" x ");
  document.getElementById("model").textContent =
    `${info.classes.join(" / ")} · ${info.layers.join(" → ")} · ${shape} pictures · ` +
    `${info.model} weights, iteration ${info.iteration}`;
}).catch(() => { document.getElementById("model").textContent = "The model's details are unavailable."; });

function addCard(file) {
  const card = element("li", "card");
  card.dataset.state = "waiting";
  const img = element("img");
  img.alt = file.name;
  img.src = URL.createObjectURL(file);
  img.onerror = () => { img.replaceWith(element("div", "nopreview", "no preview")); };
  const body = element("div", "body");
  const bar = element("div", "bar");
  bar.append(element("div"));
  body.append(element("div", "name", file.name), element("div", "class", "…"),
              element("div", "probability", ""), bar);
  card.append(img, body);
  results.prepend(card);
  return card;
}

function show(card, record) {
  card.dataset.state = "done";
  card.dataset.class = record.class;
  card.dataset.probability = record.probability;
  card.dataset.unsure = "guess" in record;
  card.dataset.unfamiliar = record.unfamiliar === true;
  card.querySelector(".class").textContent = "guess" in record ? `${record.class} (${record.guess}?)` : record.class;
  card.querySelector(".probability").textContent =
    `${record.probability.toFixed(4)} · margin ${record.margin.toFixed(2)}`;
  card.querySelector(".bar div").style.width = (100 * record.probability).toFixed(1) + "%";
  if (record.unfamiliar) {
    const score = record.unfamiliarity === null ? "far" : record.unfamiliarity.toFixed(2);
    card.querySelector(".body").append(
      element("div", "flag", `Unlike the training pictures (unfamiliarity ${score}): the class may mean little.`));
  }
}

function fail(card, message) {
  card.dataset.state = "error";
  card.querySelector(".class").textContent = "Not classified";
  card.querySelector(".probability").replaceWith(element("div", "error", message));
  card.querySelector(".bar").remove();
}

async function classify(file, card) {
  const form = new FormData();
  form.append("pictures", file, file.name);
  try {
    const response = await fetch("predict", { method: "POST", body: form });
    const answer = await response.json();
    if (response.status === 413) {
      const most = largest ? ` of up to ${+(largest / 1e6).toPrecision(3)} MB` : "";
      fail(card, `This file is too large: the service takes pictures${most}.`);
    } else if (!response.ok) {
      const problems = (answer.problems || []).map(p => p.error);
      fail(card, problems.length ? problems.join("; ") : answer.error);
    } else {
      show(card, answer.predictions[0]);
    }
  } catch (e) {
    fail(card, "The service did not answer (" + e.message + ").");
  }
}

function next() {
  while (running < 2 && queue.length) {
    const [file, card] = queue.shift();
    running += 1;
    classify(file, card).finally(() => { running -= 1; next(); });
  }
}

function add(files) {
  for (const file of files) queue.push([file, addCard(file)]);
  next();
}

"""
    + DROP_SCRIPT
    + """</script>
</body>
</html>
"""
)
