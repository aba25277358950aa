"""The page of `dnn serve` for a table model, in headless Chromium: pick or drop a CSV file, read its predictions."""

import json

import pytest
from tabledata import write_mixed_csv
from test_serve import Server
from test_serve_page import LAPTOP, PHONE, browser  # noqa: F401 (browser: its fixture)
from test_serve_tables import cli, mixed_run, predicted_json  # noqa: F401 (mixed_run: its fixture)
from test_tables import diabetes, table_config, train  # noqa: F401 (diabetes: its fixture)

sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def server(mixed_run, tmp_path_factory):  # noqa: F811
    _, run, _ = mixed_run
    running = Server(tmp_path_factory.mktemp("table-page"), "--run", run)
    yield running
    running.stop()


@pytest.fixture
def new_csv(mixed_run, tmp_path):  # noqa: F811
    """New rows as a CSV file, line 6 with a size that is not a number; and what `dnn predict --json` says."""
    _, run, new = mixed_run
    path = write_mixed_csv(tmp_path / "new-rows.csv", new)
    lines = path.read_text().splitlines()
    cells = lines[5].split(",")
    cells[1] = "tall"
    lines[5] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    expected, _ = predicted_json(run, path)
    return path, expected


def open_page(browser, server, viewport):  # noqa: F811
    page = browser.new_page(viewport=viewport)
    outside = []
    page.on("request", lambda r: None if r.url.startswith(server.url) else outside.append(r.url))
    page.goto(server.url + "/")
    sync_api.expect(page.locator("#model")).to_contain_text("Predicts no / yes from 4 columns")
    return page, outside


def check_rows(page, expected):
    rows = page.locator(".result[data-state='done'] tbody tr")
    sync_api.expect(rows).to_have_count(len(expected))
    shown = rows.evaluate_all(
        "rows => rows.map(r => [r.dataset.position, r.dataset.predicted, r.dataset.probability, r.dataset.error])"
    )
    for (line, predicted, probability, problem), record in zip(shown, expected, strict=True):
        assert int(line) == record["line"]
        if "error" in record:
            assert problem == record["error"] and predicted is None
        else:
            assert predicted == record["predicted"] and float(probability) == record["probability"]


def test_a_picked_csv_file_shows_each_row_s_prediction_as_dnn_predict_gives_it(browser, server, new_csv, tmp_path):  # noqa: F811
    path, expected = new_csv
    page, outside = open_page(browser, server, LAPTOP)
    page.locator("#pick").set_input_files(str(path))
    check_rows(page, expected)
    assert page.locator(".summary").inner_text() == "40 rows: 39 predicted, 1 problem"
    assert page.locator("thead th").all_inner_texts() == [
        "line", "id", "predicted", "probability", "margin", "p(no)", "p(yes)", "unfamiliar"
    ]  # fmt: skip
    failed = page.locator("tr.failed")
    assert failed.locator("td").all_inner_texts() == ["6", "column 'size': 'tall' is not a number"]
    first = page.locator("tbody tr").first
    record = expected[0]
    assert first.locator("td").all_inner_texts()[:5] == [
        "2",
        record["id"],
        record["predicted"],
        f"{record['probability']:.4f}",
        f"{record['margin']:.4f}",
    ]
    flags = page.locator("tbody tr:not(.failed) td:last-child").all_inner_texts()
    assert flags == [
        f"{'yes' if r['unfamiliar'] else 'no'} ({r['unfamiliarity']:.2f})" for r in expected if "error" not in r
    ]
    sync_api.expect(page.locator(".unknown")).to_contain_text("colour: ")
    page.screenshot(path=tmp_path / "laptop.png")
    assert outside == []  # nothing from elsewhere
    page.close()


def test_a_dropped_csv_file_is_predicted(browser, server, new_csv):  # noqa: F811
    path, expected = new_csv
    page, _ = open_page(browser, server, LAPTOP)
    page.evaluate(
        """text => {
            const data = new DataTransfer();
            data.items.add(new File([text], "dropped.csv", { type: "text/csv" }));
            document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
        }""",
        path.read_text(),
    )
    check_rows(page, expected)
    assert page.locator(".result h2").inner_text() == "dropped.csv"
    page.close()


def test_a_file_that_is_not_a_table_the_model_takes_says_why(browser, server, tmp_path):  # noqa: F811
    (tmp_path / "other.csv").write_text("name,age\nann,3\n")
    page, _ = open_page(browser, server, LAPTOP)
    page.locator("#pick").set_input_files(str(tmp_path / "other.csv"))
    summary = page.locator(".result[data-state='error'] .summary")
    sync_api.expect(summary).to_contain_text("other.csv: no column 'size', which the model takes")
    page.close()


def test_phone_width_scrolls_the_table_not_the_page(browser, server, new_csv):  # noqa: F811
    path, expected = new_csv
    page, _ = open_page(browser, server, PHONE)
    page.locator("#pick").set_input_files(str(path))
    check_rows(page, expected)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator(".scroll").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.close()


def test_a_regression_model_shows_its_numbers(browser, diabetes_served):  # noqa: F811
    served, path, expected = diabetes_served
    page = browser.new_page(viewport=LAPTOP)
    page.goto(served.url + "/")
    sync_api.expect(page.locator("#model")).to_contain_text("Predicts progression from 10 columns")
    page.locator("#pick").set_input_files(str(path))
    cells = page.locator("td.predicted")
    sync_api.expect(cells).to_have_count(len(expected))
    values = [float(v) for v in cells.evaluate_all("cells => cells.map(c => c.dataset.value)")]
    assert values == [r["predicted"]["progression"] for r in expected]
    assert page.locator("thead th").all_inner_texts() == ["line", "predicted progression", "unfamiliar"]
    page.close()


@pytest.fixture(scope="module")
def diabetes_served(diabetes, tmp_path_factory):  # noqa: F811
    """A regression of scikit-learn's diabetes table, served; 20 of its rows as a file, and their predictions."""
    folder = tmp_path_factory.mktemp("diabetes-page")
    config = table_config(folder, diabetes / "diabetes.csv", name="diabetes")
    config.write_text(config.read_text().replace("target: label", "target: progression"))
    run = train(cli, config, "training.epochs=10", f"output.dir={folder / 'runs'}")
    lines = (diabetes / "diabetes.csv").read_text().splitlines()[:21]
    (folder / "some.csv").write_text("\n".join(lines) + "\n")
    expected, _ = predicted_json(run, folder / "some.csv")
    served = Server(folder, "--run", run)
    yield served, folder / "some.csv", expected
    served.stop()


def test_the_page_is_the_table_page_only_for_a_table_model(server, demo_run, tmp_path):
    import httpx

    assert "Predict a table's rows" in httpx.get(server.url + "/").text
    pictures = Server(tmp_path, "--run", demo_run)
    try:
        page = httpx.get(pictures.url + "/")
        assert (
            "Classify pictures" in page.text
            and json.loads(httpx.get(pictures.url + "/info").text)["data"] == "pictures"
        )
    finally:
        pictures.stop()
