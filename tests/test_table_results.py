"""What shows the results of a table run, classification and regression alike, through the real CLI on real tables
(scikit-learn's diabetes, and a generated table with categories, booleans and missing cells): dnn report, runs,
plot, the progress and the summary of train, evaluate --top-losses and --best, lr-find, resume and sweeps."""

import csv
import json
import re
import shutil

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from PIL import Image

from conftest import metrics_of
from dnncli.cli import main
from dnncli.data.table_sets import split_tables
from dnncli.model import checkpoint
from dnncli.model.importance import permutation_importance
from dnncli.run.selection import run_config
from dnncli.sweep.index import best_trial

pytest.importorskip("matplotlib")

TABLE_SECTIONS = ("run", "learning-curves", "health", "test-set", "trust", "top-losses", "importance")
SCREENS = {"laptop": (1366, 800), "phone": (390, 844)}


def section_ids(page):
    return re.findall(r'<section id="([a-z-]+)">', page)


def section_of(page, key):
    return page[page.index(f'<section id="{key}">') :].split("</section>")[0]


def svg_count(page):
    return len(re.findall(r'<img [^>]*src="data:image/svg\+xml', page))


def cells_by_line(path):
    """{line number: the row as a dict} of a CSV file (the header is line 1)."""
    with open(path, newline="", encoding="utf-8") as f:
        return {line: row for line, row in enumerate(csv.DictReader(f), start=2)}


def body_rows(html):
    return [
        re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tbody>(.*?)</tbody>", html)[0].split("<tr")[1:]
    ]


@pytest.fixture(scope="module")
def reports(regression_run, table_class_run, tmp_path_factory):
    """The pages of ``dnn report`` of the two table runs: {"regression": path, "classification": path}."""
    folder = tmp_path_factory.mktemp("table_reports")
    pages = {}
    for name, run in (("regression", regression_run), ("classification", table_class_run)):
        pages[name] = folder / f"{name}.html"
        result = CliRunner().invoke(main, ["report", str(run), "--out", str(pages[name])], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    return pages


# --- dnn report ---------------------------------------------------------------------------------------------


def test_a_regression_report_shows_predictions_residuals_errors_and_columns(reports, regression_run, dnn):
    page = reports["regression"].read_text(encoding="ascii")
    assert section_ids(page) == list(TABLE_SECTIONS)
    m = metrics_of(regression_run)
    best = m["best_validation"]
    assert set(best) == {"cost", "rmse", "mae", "r2"}
    assert f"iteration {m['best_iteration']}: validation cost {best['cost']:.4f}, RMSE {best['rmse']:.4g}" in page
    assert f"R&#178; {best['r2']:.4f}" in page  # R² of best.npz, the page written in ASCII
    # learning (cost, validation R²), health (2), the test rows (predicted against true, residuals), importance
    assert svg_count(page) == 7
    assert 'alt="validation R&#178;"' in page and 'alt="progression: residuals"' in page
    test = section_of(page, "test-set")
    assert f"{m['test']['rmse']:.4g}" in test and f"{m['test']['r2']:.4f}" in test
    assert "rows held out as the test set (data.test_fraction 0.2)" in test
    # the rows furthest off, with their lines and cells as the file has them
    errors = section_of(page, "top-losses")
    assert "<h2>Largest errors</h2>" in errors
    evaluation = json.loads(dnn("evaluate", "--run", regression_run, "--json", "-", "--top-losses", "12").stdout)
    rows, csv_rows = body_rows(errors), cells_by_line(regression_run.parents[2] / "diabetes.csv")
    assert [int(row[0]) for row in rows] == [r["line"] for r in evaluation["top_losses"]]
    for row, expected in zip(rows, evaluation["top_losses"], strict=True):
        assert row[1:4] == [f"{expected[k]['progression']:.4g}" for k in ("true", "predicted", "error")]
        assert float(row[4]) == pytest.approx(float(csv_rows[expected["line"]]["age"]), rel=1e-5)  # 6 places shown
    # which columns matter: the numbers of model.importance on the test rows
    saved = checkpoint.load(regression_run / "checkpoint.npz")
    found = permutation_importance(saved, split_tables(run_config(regression_run), True).test)
    shown = body_rows(section_of(page, "importance"))
    assert [row[0] for row in shown] == [c.name for c in found.columns]
    assert [row[3] for row in shown] == [f"{found.mean(c):.4f}" for c in found.columns]
    assert f"{found.baseline:.4f}" in section_of(page, "importance")


def test_a_table_classifier_shows_its_confusion_and_its_top_losses_as_rows(reports, table_class_run, table_files):
    page = reports["classification"].read_text(encoding="ascii")
    assert section_ids(page) == list(TABLE_SECTIONS)
    assert 'alt="confusion matrix"' in page and 'class="input"' not in page  # rows, not pictures
    losses = section_of(page, "top-losses")
    header = re.findall(r"<th>(.*?)</th>", losses)
    assert header == ["line", "true", "predicted", "p(true)", "loss", "id", "size", "weight", "colour", "indoor"]
    rows = body_rows(losses)
    assert len(rows) == 12
    by_line = cells_by_line(table_files / "mixed.csv")
    for row in rows:
        cells = by_line[int(row[0])]
        assert row[5] == cells["id"] and row[1] == cells["label"]
        assert re.sub("<[^>]+>", "", row[2]) in ("yes", "no")
        assert row[8] == (cells["colour"] or '<span class="missing">missing</span>')
    losses_shown = [float(row[4]) for row in rows]
    assert losses_shown == sorted(losses_shown, reverse=True)
    importance = body_rows(section_of(page, "importance"))
    assert sorted(row[0] for row in importance) == ["colour", "indoor", "size", "weight"]
    colour = next(row for row in importance if row[0] == "colour")
    assert colour[1] == "category" and int(colour[2]) > 2  # one column, however many inputs


def test_a_table_run_without_test_rows_says_so(table_files, dnn, tmp_path):
    from tabledata import table_run_config

    from conftest import train_run

    config = table_run_config(tmp_path / "no-test.yaml", table_files / "diabetes.csv", "progression",
                              data={"test_fraction": 0.0}, epochs=2)  # fmt: skip
    out = tmp_path / "r.html"
    assert dnn("report", train_run(tmp_path, config), "--out", out).exit_code == 0
    page = out.read_text()
    assert section_ids(page) == list(TABLE_SECTIONS)
    assert "names no test set (data.test or data.test_fraction)" in page


@pytest.mark.parametrize("screen", SCREENS)
def test_in_chromium_the_table_pages_decode_and_never_scroll_sideways(chromium, reports, screen, tmp_path):
    width, height = SCREENS[screen]
    context = chromium.new_context(viewport={"width": width, "height": height})
    for name, path in reports.items():
        page = context.new_page()
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        assert page.eval_on_selector_all("section", "s => s.map(x => x.id)") == list(TABLE_SECTIONS)
        for key in TABLE_SECTIONS:
            assert page.locator(f"#{key}").bounding_box()["height"] > 50
        pictures = page.evaluate("document.body.dataset.pictures")
        assert int(pictures) >= 7 and page.evaluate("document.body.dataset.decoded") == pictures
        # a wide table of cells scrolls in its own box; the page never does sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot = tmp_path / f"{name}-{screen}.png"
        page.screenshot(path=shot, full_page=True)
        with Image.open(shot) as image:
            assert len(np.unique(np.asarray(image.convert("L").resize((64, 64))))) > 20  # not a blank page
    context.close()


# --- dnn runs, dnn plot -----------------------------------------------------------------------------------


def test_runs_shows_r2_and_rmse_for_a_regression_where_a_classifier_shows_accuracy(
    regression_run, table_class_run, table_files, demo_run, dnn
):
    runs = table_files / "runs"
    listed = dnn("runs", runs).stdout.splitlines()  # into a pipe: a header and tab-separated lines
    header = listed[0].split("\t")
    rows = {line.split("\t")[0]: dict(zip(header, line.split("\t"), strict=True)) for line in listed[1:]}
    regression, classifier = rows[str(regression_run)], rows[str(table_class_run)]
    assert header[header.index("train") :][:5] == ["train", "val", "best val", "test", "test RMSE"]
    m = metrics_of(regression_run)
    assert regression["task"] == "table: regression" and classifier["task"] == "table: classes"
    assert (
        regression["train"] == f"R² {m['train']['r2']:.4f}" and regression["val"] == f"R² {m['validation']['r2']:.4f}"
    )
    assert regression["test"] == f"R² {m['test']['r2']:.4f}" and regression["test RMSE"] == f"{m['test']['rmse']:.4g}"
    assert regression["best val"] == f"R² {m['best_validation']['r2']:.4f} @{m['best_iteration']}"
    assert regression["layers"] == "10-16-8-1"  # as built, "auto" resolved
    c = metrics_of(table_class_run)
    assert classifier["test"] == f"{c['test']['accuracy']:.4f}" and classifier["test RMSE"] == ""
    assert classifier["best val"] == f"{c['best_validation']['accuracy']:.4f} @{c['best_iteration']}"
    as_json = {row["run"]: row for row in json.loads(dnn("runs", runs, "--json").stdout)}
    r = as_json[str(regression_run)]
    assert (r["data"], r["task"], r["test_accuracy"]) == ("table", "regression", None)
    assert (r["validation_r2"], r["best_validation_r2"], r["test_rmse"]) == (
        m["validation"]["r2"], m["best_validation"]["r2"], m["test"]["rmse"],
    )  # fmt: skip
    assert as_json[str(table_class_run)]["test_accuracy"] == c["test"]["accuracy"]
    pictures = json.loads(dnn("runs", demo_run.parents[1], "--json").stdout)
    assert {(row["data"], row["task"]) for row in pictures} == {("pictures", "classification")}


def test_a_listing_of_pictures_alone_has_no_rmse_column(demo_run, dnn):
    header = dnn("runs", demo_run.parents[1]).stdout.splitlines()[0].split("\t")
    assert "test" in header and "task" in header and "test RMSE" not in header


def test_plot_draws_a_panel_for_each_score_the_runs_logged(regression_run, table_class_run, dnn, tmp_path):
    out = tmp_path / "both.svg"
    assert dnn("plot", regression_run, table_class_run, "--out", out).exit_code == 0
    svg = out.read_text()
    assert svg.count('<g id="axes_') == 3  # the costs, the classifier's accuracy, the regression's R²
    out = tmp_path / "one.png"
    assert dnn("plot", regression_run, "--out", out).exit_code == 0
    with Image.open(out) as image:
        assert image.size == (1000, 600)


# --- dnn train: progress, summary, best, resume --------------------------------------------------------------


@pytest.fixture
def short_regression(table_files, tmp_path):
    from tabledata import table_run_config

    return table_run_config(tmp_path / "short.yaml", table_files / "diabetes.csv", "progression", epochs=6,
                            log_every=5, learning_rate=0.003)  # fmt: skip


def test_progress_and_summary_of_a_regression_say_rmse_and_r2(short_regression, tmp_path, dnn):
    out = tmp_path / "runs"
    plain = dnn("train", "--config", short_regression, "--progress", "plain", "--set", f"output.dir={out}")
    assert plain.exit_code == 0, plain.output
    run = out / "short" / "1"
    m = metrics_of(run)
    record = m["costs"][0]
    assert f"val RMSE {record['validation_rmse']:.4g}" in plain.stderr
    assert f"val R² {record['validation_r2']:.4f}" in plain.stderr and "validation_r2" not in plain.stderr
    best = m["best_validation"]
    logged = next(r for r in m["costs"] if r["iteration"] + 1 == m["best_iteration"])
    assert best == {"cost": logged["validation_cost"], **{k: logged[f"validation_{k}"] for k in ("rmse", "mae", "r2")}}
    assert (
        f"validation: best at iteration {m['best_iteration']}, cost {best['cost']:.6f}, RMSE {best['rmse']:.4g}, "
        f"MAE {best['mae']:.4g}, R² {best['r2']:.4f} (best.npz)"
    ) in plain.stdout
    assert m["task"] == "regression" and m["layers"] == [10, 16, 8, 1]
    jsonl = dnn("train", "--config", short_regression, "--progress", "jsonl", "--set", f"output.dir={out}")
    logs = [json.loads(line) for line in jsonl.stdout.splitlines() if line.startswith("{")]
    assert {"validation_rmse", "validation_mae", "validation_r2"} <= set(next(e for e in logs if e["event"] == "log"))


def test_best_npz_of_a_regression_is_evaluated_with_best(regression_run, dnn):
    m = metrics_of(regression_run)
    best = json.loads(dnn("evaluate", "--run", regression_run, "--best", "--json", "-").stdout)
    assert best["iteration"] == m["best_iteration"] and best["checkpoint"].endswith("best.npz")
    last = json.loads(dnn("evaluate", "--run", regression_run, "--json", "-").stdout)
    assert last["r2"] == pytest.approx(m["test"]["r2"], abs=1e-12)
    assert best["r2"] != last["r2"]


def test_a_regression_resumed_is_the_run_trained_whole(short_regression, tmp_path, dnn):
    out = [f"output.dir={tmp_path / 'runs'}"]
    whole = dnn("train", "--config", short_regression, "--quiet", "--set", out[0])
    half = dnn("train", "--config", short_regression, "--quiet", "--set", out[0], "--set", "training.epochs=3")
    whole, half = (tmp_path / "runs" / "short" / n for n in ("1", "2"))
    resumed = dnn("train", "--resume", half, "--quiet", "--set", "training.epochs=6")
    assert resumed.exit_code == 0, resumed.output
    a, b = checkpoint.load(whole / "checkpoint.npz"), checkpoint.load(half / "checkpoint.npz")
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert metrics_of(whole)["test"] == metrics_of(half)["test"]
    assert set(metrics_of(half)["best_validation"]) == {"cost", "rmse", "mae", "r2"}


def test_a_checkpoint_from_before_best_scores_resumes(table_class_run, tmp_path, dnn):
    """Checkpoints written before ``Progress.best_scores`` kept the best validation accuracy alone."""
    folder = tmp_path / "old"
    shutil.copytree(table_class_run, folder)
    saved = checkpoint.load(folder / "checkpoint.npz")
    progress = saved.header["progress"]
    accuracy = progress.pop("best_scores")["accuracy"]
    progress["best_accuracy"] = accuracy
    checkpoint.save(folder / "checkpoint.npz", saved.header, saved.params, saved.state, saved.arrays)
    config = yaml.safe_load((folder / "config.yaml").read_text())
    more = config["training"]["epochs"] + 2
    result = dnn("train", "--resume", folder, "--set", f"training.epochs={more}")
    assert result.exit_code == 0, result.output
    assert metrics_of(folder)["best_validation"]["accuracy"] is not None


# --- evaluate --top-losses, lr-find -------------------------------------------------------------------------------


def test_evaluate_top_losses_of_table_runs_names_their_lines(regression_run, table_class_run, dnn):
    shown = dnn("evaluate", "--run", regression_run, "--top-losses", "3")
    assert shown.exit_code == 0 and "the 3 largest errors" in shown.stdout
    report = json.loads((regression_run / "evaluation-test.json").read_text())
    first = report["top_losses"][0]
    assert f"line {first['line']}" in shown.stdout
    assert first["error"]["progression"] == first["predicted"]["progression"] - first["true"]["progression"]
    worst = max(report["predictions"], key=lambda r: r["loss"])
    assert first["line"] == worst["line"]
    shown = dnn("evaluate", "--run", table_class_run, "--top-losses", "3")
    assert shown.exit_code == 0 and "the 3 highest losses" in shown.stdout
    first = json.loads((table_class_run / "evaluation-test.json").read_text())["top_losses"][0]
    assert {"line", "true", "predicted", "p_true", "p_predicted", "loss"} <= set(first)
    assert f"line {first['line']}" in shown.stdout


@pytest.mark.parametrize("which", ["diabetes.yaml", "mixed.yaml"])
def test_lr_find_on_a_table_suggests_a_rate_and_leaves_no_run(
    which, table_files, in_tmp, dnn, regression_run, table_class_run
):
    result = dnn(
        "lr-find",
        "--config",
        table_files / which,
        "--out",
        in_tmp / "lr.json",
        "--set",
        f"output.dir={in_tmp / 'runs'}",
    )
    assert result.exit_code == 0, result.output
    found = json.loads((in_tmp / "lr.json").read_text())
    assert 1e-7 <= found["suggestion"] <= 10 and len(found["costs"]) > 10
    assert not (in_tmp / "runs").exists()


# --- sweeps -------------------------------------------------------------------------------------------------


def sweep_file(folder, base, metric, length="training.epochs=3"):
    path = folder / f"{metric}.yaml"
    path.write_text(yaml.safe_dump({
        "config": str(base), "name": metric, "metric": metric, "method": "grid", "dir": str(folder / "sweeps"),
        "set": [length], "parameters": {"training.learning_rate": {"choice": [0.0003, 0.01]}},
    }))  # fmt: skip
    return path


@pytest.mark.parametrize("metric, minimise", [("validation_r2", False), ("test_rmse", True), ("validation_mae", True)])
def test_a_sweep_over_a_regression_ranks_by_its_metric(metric, minimise, table_files, tmp_path, dnn, regression_run):
    result = dnn("sweep", sweep_file(tmp_path, table_files / "diabetes.yaml", metric), "--workers", "2", "--json")
    assert result.exit_code == 0, result.output
    index = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    assert index["minimise"] is minimise
    metrics = [row["metric"] for row in index["trials"]]
    assert all(row["status"] == "finished" for row in index["trials"])
    for row in index["trials"]:
        split, kind = metric.rsplit("_", 1)
        assert row["metric"] == metrics_of(tmp_path / "sweeps" / metric / "1" / row["folder"])[split][kind]
    assert best_trial(index)["metric"] == (min if minimise else max)(metrics) and len(set(metrics)) == 2
    page = tmp_path / "sweep.html"
    assert dnn("report", tmp_path / "sweeps" / metric / "1", "--out", page).exit_code == 0
    assert metric in page.read_text()


def test_a_metric_the_task_has_not_is_refused_or_named(table_files, tmp_path, dnn, demo_data, regression_run):
    from conftest import write_config

    pictures = write_config(tmp_path / "pictures.yaml", demo_data, training={"validation_fraction": 0.2})
    refused = dnn("sweep", sweep_file(tmp_path, pictures, "validation_r2", "training.iterations=3"))
    assert refused.exit_code == 2
    assert refused.stderr.strip().endswith(
        "metric: validation_r2 is not a score of classification runs; rank them by validation_cost or validation_accuracy"
    )
    # a table's task follows its target's kind, read from the table's first block before any trial
    failed = dnn("sweep", sweep_file(tmp_path, table_files / "diabetes.yaml", "validation_accuracy"), "--workers", "2")
    assert failed.exit_code == 2
    assert failed.stderr.strip().endswith(
        "metric: validation_accuracy is not a score of regression runs; rank them by validation_cost, "
        "validation_rmse, validation_mae or validation_r2"
    )
    assert not (tmp_path / "sweeps").exists()  # no trial was run
