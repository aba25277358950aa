"""`dnn report`: one self-contained HTML page, checked as text and in a real browser (headless Chromium)."""

import json
import re
import shutil
import sys

import h5py
import numpy as np
import pytest
from PIL import Image

from conftest import metrics_of, train_run, write_config
from dnncli.extras import install_command

pytest.importorskip("matplotlib")

RUN_SECTIONS = ("run", "learning-curves", "health", "test-set", "trust", "top-losses")
SCREENS = {"laptop": (1366, 800), "phone": (390, 844)}


def section_ids(page):
    return re.findall(r'<section id="([a-z-]+)">', page)


def picture_sources(page):
    return re.findall(r'<img [^>]*src="([^"]*)"', page)


def assert_self_contained(page):
    """Nothing the page would fetch: every picture inline, no links to styles or scripts, no url()."""
    assert all(
        src.startswith(("data:image/svg+xml;base64,", "data:image/png;base64,")) for src in picture_sources(page)
    )
    assert not re.search(r"<link|<script [^>]*src=|url\(|@import|https?://(?!www\.w3\.org/)", page)
    assert "default-src 'none'" in page  # and the page's policy forbids loading anything


@pytest.fixture(scope="module")
def early_run(tmp_path_factory, demo_data):
    """A run with a validation set that stopped early, so it has a best.npz."""
    root = tmp_path_factory.mktemp("report_run")
    training = {"learning_rate": 0.01, "iterations": 300, "validation_fraction": 0.2, "log_every": 20}
    training["early_stopping"] = {"patience": 3}
    return train_run(root, write_config(root / "c.yaml", demo_data, training=training))


@pytest.fixture(scope="module")
def report_file(early_run, tmp_path_factory):
    from click.testing import CliRunner

    from dnncli.cli import main

    out = tmp_path_factory.mktemp("report") / "report.html"
    result = CliRunner().invoke(main, ["report", str(early_run), "--out", str(out)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    return out


def test_the_page_has_every_section_and_holds_everything_it_shows(report_file, early_run):
    page = report_file.read_text(encoding="ascii")  # written as ASCII, whatever the locale
    assert section_ids(page) == list(RUN_SECTIONS)
    assert_self_contained(page)
    m = metrics_of(early_run)
    assert f"iteration {m['best_iteration']}: validation cost {m['best_validation']['cost']:.4f}" in page
    assert "checkpoint.npz, iteration" in page and "config.yaml" in page
    # the charts (2 learning, 2 health, 4 on the test set) and the 12 top-loss pictures
    sources = picture_sources(page)
    assert sum(s.startswith("data:image/svg+xml") for s in sources) == 8
    assert page.count('class="input"') == 12


def test_the_newest_run_by_default_its_best_npz_with_best_and_errors(early_run, dnn, monkeypatch, tmp_path):
    monkeypatch.chdir(early_run.parents[2])
    out = tmp_path / "best.html"
    assert dnn("report", "--best", "--out", out).exit_code == 0
    best = metrics_of(early_run)["best_iteration"]
    assert f"/best.npz, iteration {best}</p>" in out.read_text()  # the newest run's best.npz
    missing = dnn("report", tmp_path / "nothing", "--out", tmp_path / "x.html")
    assert missing.exit_code == 2 and "no such run folder" in missing.stderr
    nowhere = dnn("report", early_run, "--out", tmp_path / "no" / "x.html")
    assert nowhere.exit_code == 2 and f"the folder {tmp_path / 'no'} does not exist" in nowhere.stderr


def test_without_matplotlib_one_line_and_exit_2(early_run, dnn, monkeypatch, tmp_path):
    for name in ("matplotlib", "matplotlib.figure"):
        monkeypatch.setitem(sys.modules, name, None)  # what an install without the extra gives: ImportError
    result = dnn("report", early_run, "--out", tmp_path / "r.html")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: dnn report needs matplotlib (the optional plot extra); install it with: {install_command('plot')}"
    ]
    assert not (tmp_path / "r.html").exists()


def test_three_classes_draw_a_curve_per_class(softmax_run, dnn, tmp_path):
    out = tmp_path / "three.html"
    assert dnn("report", softmax_run, "--out", out).exit_code == 0
    page = out.read_text()
    assert section_ids(page) == list(RUN_SECTIONS)
    assert "macro ROC AUC" in page and "top-2 accuracy" in page
    assert "No health was logged" not in page


def test_a_folder_set_shows_the_original_files(demo_data, tmp_path, dnn):
    """Trained on pictures in class folders: each top-loss example has its file beside the input picture."""
    for split, count in (("train", 60), ("test", 20)):
        with h5py.File(demo_data / f"{split}.h5") as f:
            pictures, labels = f[f"{split}_set_x"][:count], f[f"{split}_set_y"][:count]
            classes = [c.decode() for c in f["list_classes"][()]]
        for i, (pixels, label) in enumerate(zip(pictures, labels, strict=True)):
            folder = tmp_path / "photos" / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels).resize((96, 80)).save(folder / f"{i:02d}.jpg", quality=90)
    data = {"format": "folder", "train": str(tmp_path / "photos/train"), "test": str(tmp_path / "photos/test")}
    config = write_config(tmp_path / "c.yaml", demo_data, data=data, training={"iterations": 20})
    folder = train_run(tmp_path, config)
    out = tmp_path / "r.html"
    assert dnn("report", folder, "--out", out).exit_code == 0
    page = out.read_text()
    assert page.count('class="original"') == page.count('class="input"') == 12
    assert re.search(r'<div class="name">(plain|shape)/\d\d\.jpg</div>', page)


def test_a_folder_with_a_broken_sweep_index_is_one_line(dnn, tmp_path):
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "sweep.json").write_text("{}")
    result = dnn("report", sweep, "--out", tmp_path / "sweep.html")
    assert result.exit_code == 2 and "not a sweep index" in result.stderr
    assert not (tmp_path / "sweep.html").exists()


@pytest.mark.parametrize(
    "field, value, problem",
    [
        ("train", {}, "train holds no examples, accuracy and cost (or RMSE, MAE, R² and cost, of a regression)"),
        ("costs", [{"iteration": "0", "cost": 0.7}], "costs holds [{'iteration': '0', 'cost': 0.7}]"),
        ("best_iteration", -1, "best_iteration holds -1"),
    ],
)
def test_a_run_whose_metrics_were_edited_by_hand_is_one_line(early_run, dnn, tmp_path, field, value, problem):
    run = tmp_path / "run"
    shutil.copytree(early_run, run)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics[field] = value
    (run / "metrics.json").write_text(json.dumps(metrics))
    for command in (["report", run, "--out", tmp_path / "r.html"], ["plot", run, "--out", tmp_path / "p.png"]):
        result = dnn(*command)
        assert result.exit_code == 2, result.output
        assert result.stderr.strip() == f"Error: {run / 'metrics.json'}: a broken metrics file: {problem}"
    assert not (tmp_path / "r.html").exists() and not (tmp_path / "p.png").exists()


# --- in a real browser ----------------------------------------------------------


@pytest.mark.parametrize("screen", SCREENS)
def test_in_chromium_every_section_shows_and_every_picture_decodes(chromium, report_file, screen, tmp_path):
    width, height = SCREENS[screen]
    context = chromium.new_context(viewport={"width": width, "height": height})
    fetched = []
    context.route("**/*", lambda route: (fetched.append(route.request.url), route.continue_()))
    page = context.new_page()
    page.goto(report_file.as_uri())
    page.wait_for_load_state("load")
    assert fetched == [report_file.as_uri()]  # the page itself, nothing else
    ids = page.eval_on_selector_all("section", "sections => sections.map(s => s.id)")
    assert ids == list(RUN_SECTIONS)
    for key in RUN_SECTIONS:
        assert page.locator(f"#{key}").bounding_box()["height"] > 50
    # the page's own script wrote each picture's decoded width into the DOM
    widths = page.eval_on_selector_all("img", "images => images.map(i => Number(i.dataset.naturalWidth))")
    assert len(widths) == 20 and all(w > 0 for w in widths)
    assert page.evaluate("document.body.dataset.decoded") == "20"
    # nothing wider than the screen: a phone scrolls down, never sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shot = tmp_path / f"{screen}.png"
    page.screenshot(path=shot, full_page=True)
    with Image.open(shot) as image:
        assert image.size[0] == width and image.size[1] > 2 * height
        assert len(np.unique(np.asarray(image.convert("L").resize((64, 64))))) > 20  # not a blank page
    context.close()


def test_a_run_without_a_test_set_says_so(demo_data, dnn, tmp_path):
    config = write_config(tmp_path / "c.yaml", demo_data, data={"test": None}, training={"iterations": 10})
    folder = train_run(tmp_path, config)
    out = tmp_path / "r.html"
    assert dnn("report", folder, "--out", out).exit_code == 0
    page = out.read_text()
    assert section_ids(page) == list(RUN_SECTIONS)
    assert "names no test set (data.test)" in page


def test_a_long_class_name_is_shortened_on_the_charts_and_whole_in_the_tables(dnn, tmp_path):
    import base64

    from dnncli.data.hdf5 import write_hdf5

    long = "a class named at length " * 20  # 480 characters: the charts' axes once collapsed, with a warning
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        pixels = rng.integers(0, 256, size=(20, 8, 8, 3), dtype=np.uint8)
        write_hdf5(tmp_path / f"{split}.h5", split, pixels, np.arange(20) % 2, [long, "short"])
    config = write_config(tmp_path / "c.yaml", tmp_path, model={"layers": [192, 3, 1]}, training={"iterations": 20})
    folder = train_run(tmp_path, config)
    for args in (["report", folder, "--out", tmp_path / "r.html"], ["plot", folder, "--out", tmp_path / "p.png"]):
        result = dnn(*args)
        assert result.exit_code == 0 and result.stderr == "", result.stderr
    page = (tmp_path / "r.html").read_text()
    assert long.strip() in page  # the tables give it whole
    charts = [base64.b64decode(data).decode() for data in re.findall(r"data:image/svg\+xml;base64,([^\"]+)", page)]
    drawn = "\n".join(charts)
    assert long[:31] + "\u2026" in drawn and long[:40] not in drawn
