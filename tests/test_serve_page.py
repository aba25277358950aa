"""The page of `dnn serve` in headless Chromium (Debian's, driven by Playwright): pick pictures, read the answers."""

import json
import shutil

import pytest
from test_serve import Server

sync_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium")
if CHROMIUM is None:
    pytest.skip("no chromium on PATH", allow_module_level=True)
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
LAPTOP, PHONE = {"width": 1100, "height": 720}, {"width": 390, "height": 760}


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(demo_run, tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("page"), "--run", demo_run)
    yield running
    running.stop()


def open_page(browser, server, viewport):
    page = browser.new_page(viewport=viewport)
    outside = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(server.url) or r.url.startswith("blob:") else outside.append(r.url),
    )
    page.goto(server.url + "/")
    sync_api.expect(page.locator("#model")).to_contain_text("plain / shape")
    return page, outside


def test_a_picked_picture_shows_its_class_and_probability(browser, server, demo_run, demo_data, dnn, tmp_path):
    samples = [demo_data / "samples" / name for name in ("shape-2.png", "plain-1.jpg")]
    result = dnn("predict", *samples, "--run", demo_run, "--json")
    expected = {r["path"]: r for r in map(json.loads, result.stdout.splitlines())}
    junk = tmp_path / "notes.png"
    junk.write_bytes(b"not a picture at all")
    page, outside = open_page(browser, server, LAPTOP)
    page.locator("#pick").set_input_files([str(p) for p in samples] + [str(junk)])
    cards = page.locator(".card:not([data-state='waiting'])")
    sync_api.expect(cards).to_have_count(3)
    for path in samples:
        card = page.locator(".card", has=page.locator(".name", has_text=path.name))
        record = expected[str(path)]
        sync_api.expect(card.locator(".class")).to_have_text(record["class"])
        assert (
            card.locator(".probability").inner_text() == f"{record['probability']:.4f} · margin {record['margin']:.2f}"
        )
        assert float(card.get_attribute("data-probability")) == record["probability"]
    bad = page.locator(".card[data-state='error']")
    sync_api.expect(bad.locator(".error")).to_contain_text("notes.png: not a picture")
    page.screenshot(path=tmp_path / "laptop.png")
    assert outside == []  # no CDN, no font, nothing from elsewhere
    page.close()


def test_phone_width_keeps_everything_on_screen(browser, server, demo_data, tmp_path):
    page, _ = open_page(browser, server, PHONE)
    page.locator("#pick").set_input_files([str(p) for p in sorted((demo_data / "samples").iterdir())])
    sync_api.expect(page.locator(".card[data-state='done']")).to_have_count(4)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing wider than the screen: no sideways scrolling
    for box in (page.locator(".card").nth(i).bounding_box() for i in range(4)):
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    page.screenshot(path=tmp_path / "phone.png", full_page=True)
    page.close()


def test_a_dropped_picture_is_classified(browser, server, demo_data, demo_run, dnn):
    path = demo_data / "samples" / "shape-4.png"
    [record] = [json.loads(line) for line in dnn("predict", path, "--run", demo_run, "--json").stdout.splitlines()]
    page, _ = open_page(browser, server, LAPTOP)
    page.evaluate(
        """bytes => {
            const file = new File([new Uint8Array(bytes)], "dropped.png", { type: "image/png" });
            const data = new DataTransfer();
            data.items.add(file);
            document.getElementById("drop").dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true }));
        }""",
        list(path.read_bytes()),
    )
    card = page.locator(".card[data-state='done']")
    sync_api.expect(card.locator(".name")).to_have_text("dropped.png")
    assert card.locator(".class").inner_text() == record["class"]
    assert card.locator(".probability").inner_text() == f"{record['probability']:.4f} · margin {record['margin']:.2f}"
    page.close()


def test_a_file_over_the_limit_is_said_in_the_page_s_words(browser, demo_run, tmp_path):
    small = Server(tmp_path, "--run", demo_run, "--max-upload-mb", "0.01")
    try:
        big = tmp_path / "big.png"
        big.write_bytes(b"\x89PNG" + bytes(20_000))
        page, _ = open_page(browser, small, LAPTOP)
        page.locator("#pick").set_input_files([str(big)])
        error = page.locator(".card[data-state='error'] .error")
        sync_api.expect(error).to_have_text("This file is too large: the service takes pictures of up to 0.01 MB.")
        page.close()
    finally:
        small.stop()


def test_an_unsure_answer_and_a_picture_unlike_the_training_ones_are_said_so(browser, demo_run, dnn, tmp_path):
    import numpy as np
    from PIL import Image

    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(noise)
    [record] = [json.loads(line) for line in dnn("predict", noise, "--run", demo_run, "--json").stdout.splitlines()]
    assert record["unfamiliar"] and record["probability"] < 1
    strict = Server(tmp_path, "--run", demo_run, "--min-confidence", "1")  # every answer below it: unsure
    try:
        page, _ = open_page(browser, strict, LAPTOP)
        page.locator("#pick").set_input_files([str(noise)])
        card = page.locator(".card[data-state='done']")
        sync_api.expect(card.locator(".class")).to_have_text(f"unsure ({record['class']}?)")
        assert card.get_attribute("data-unsure") == "true" and card.get_attribute("data-unfamiliar") == "true"
        sync_api.expect(card.locator(".flag")).to_have_text(
            f"Unlike the training pictures (unfamiliarity {record['unfamiliarity']:.2f}): the class may mean little."
        )
        page.screenshot(path=tmp_path / "unsure.png")
        page.close()
    finally:
        strict.stop()
