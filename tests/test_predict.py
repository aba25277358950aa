"""`dnn predict` through the real CLI: real picture files, the newest run, bad files, JSON lines."""

import json
import os
import shutil
import subprocess
import sys

import h5py
import pytest
from PIL import Image
from test_images import png_header


def records(result):
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture
def samples(demo_data, tmp_path):
    """A copy of the demo's four sample pictures (two JPEG, two PNG)."""
    return shutil.copytree(demo_data / "samples", tmp_path / "samples")


def test_png_of_a_test_example_gets_the_probability_evaluate_gives_it(demo_run, demo_data, dnn, tmp_path):
    report = json.loads(dnn("evaluate", "--run", demo_run, "--json", "-").stdout)
    with h5py.File(demo_data / "test.h5") as f:
        pictures = f["test_set_x"][:12]
    for i, pixels in enumerate(pictures):
        Image.fromarray(pixels).save(tmp_path / f"example-{i:02}.png")
    result = dnn("predict", tmp_path, "--run", demo_run, "--json")
    assert result.exit_code == 0, result.output
    predicted = records(result)
    assert [r["path"] for r in predicted] == [str(tmp_path / f"example-{i:02}.png") for i in range(12)]
    for i, record in enumerate(predicted):
        expected = report["predictions"][i]
        assert record["class"] == expected["predicted"]
        assert record["probabilities"] == expected["probabilities"]  # exactly, in a batch of 12 or alone
    alone = records(dnn("predict", tmp_path / "example-05.png", "--run", demo_run, "--json"))
    assert alone[0]["probabilities"] == report["predictions"][5]["probabilities"]


def test_no_flags_uses_the_newest_run(demo_run, samples, dnn, monkeypatch):
    monkeypatch.chdir(demo_run.parents[2])
    plain = {"TTY_COMPATIBLE": "0", "FORCE_COLOR": None}
    result = dnn("predict", samples / "plain-1.jpg", samples / "shape-2.png", env=plain)
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    expected = records(dnn("predict", samples / "plain-1.jpg", samples / "shape-2.png", "--run", demo_run, "--json"))
    assert lines == [
        [
            r["path"], r["class"], f"{r['probability']:.4f}", f"{r['margin']:.4f}", f"{r['unfamiliarity']:.2f}",
            "unfamiliar" if r["unfamiliar"] else "",
        ]
        for r in expected
    ]  # fmt: skip
    assert [line[0] for line in lines] == [str(samples / "plain-1.jpg"), str(samples / "shape-2.png")]


def test_a_name_holding_a_tab_and_a_newline_stays_one_line_of_six_columns(demo_run, samples, dnn, tmp_path):
    picture = tmp_path / "a\tb\nc.png"
    shutil.copy(samples / "shape-2.png", picture)
    plain = {"TTY_COMPATIBLE": "0", "FORCE_COLOR": None}
    result = dnn("predict", picture, "--run", demo_run, env=plain)
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    path, *_ = line.split("\t")
    assert len(line.split("\t")) == 6 and path == f"{tmp_path}/a\\tb\\nc.png"
    (record,) = records(dnn("predict", picture, "--run", demo_run, "--json"))
    assert record["path"] == str(picture)


def test_a_table_on_a_terminal(demo_run, samples, dnn):
    result = dnn("predict", samples, "--run", demo_run, env={"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "┏━" in result.stdout and "picture" in result.stdout and "probability" in result.stdout
    for name in ("plain-1.jpg", "shape-2.png", "plain-3.jpg", "shape-4.png"):
        assert name in result.stdout


def test_json_lines_for_a_folder_and_a_glob(demo_run, samples, dnn, monkeypatch):
    monkeypatch.chdir(samples.parent)
    result = dnn("predict", "samples/*.png", "samples", "--run", demo_run, "--json")
    assert result.exit_code == 0, result.output
    got = records(result)
    # the glob's matches first, then the rest of the folder, each picture once
    assert [r["path"] for r in got] == [
        "samples/shape-2.png",
        "samples/shape-4.png",
        "samples/plain-1.jpg",
        "samples/plain-3.jpg",
    ]
    for r in got:
        assert set(r) == {"path", "class", "probability", "margin", "unfamiliarity", "unfamiliar", "probabilities"}
        assert r["probability"] == r["probabilities"][r["class"]] == max(r["probabilities"].values())
        assert sum(r["probabilities"].values()) == pytest.approx(1, abs=1e-12)


def test_pictures_of_any_mode_and_size(demo_run, samples, dnn, tmp_path):
    with Image.open(samples / "shape-4.png") as image:
        rgb = image.convert("RGB")
    tmp_path = tmp_path / "modes"
    tmp_path.mkdir()
    rgb.resize((200, 120)).save(tmp_path / "big.webp")
    rgb.convert("L").save(tmp_path / "grey.bmp")
    rgb.convert("P").save(tmp_path / "palette.gif")
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    rgb.convert("RGBA").save(tmp_path / "rgba.png")
    result = dnn("predict", tmp_path, samples / "shape-4.png", "--run", demo_run, "--json")
    assert result.exit_code == 0, result.output
    got = {r["path"].split("/")[-1]: r["probabilities"] for r in records(result)}
    assert sorted(got) == ["big.webp", "cmyk.jpg", "grey.bmp", "palette.gif", "rgba.png", "shape-4.png"]
    assert got["rgba.png"] == pytest.approx(got["shape-4.png"], abs=1e-12)  # opaque RGBA is the RGB picture


def test_bad_pictures_are_reported_and_the_rest_predicted(demo_run, samples, dnn, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not a picture")
    data = (samples / "shape-4.png").read_bytes()
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(data[: len(data) // 2])
    bomb = png_header(tmp_path / "bomb.png", 20_000, 20_000)
    missing = tmp_path / "missing.jpg"
    good = samples / "plain-1.jpg"
    result = dnn("predict", text, good, truncated, bomb, missing, "nothing/*.png", "--run", demo_run, "--json")
    assert result.exit_code == 2
    assert [r["path"] for r in records(result) if "class" in r] == [str(good)]
    errors = [line for line in result.stderr.splitlines() if not line.startswith("model: ")]
    assert errors[0] == "Error: nothing/*.png: no files match this pattern"
    assert errors[1].startswith(f"Error: {text}: not a picture")
    assert errors[2].startswith(f"Error: {truncated}: truncated or damaged picture")
    assert errors[3].startswith(f"Error: {bomb}: refused, over {Image.MAX_IMAGE_PIXELS} pixels")
    assert errors[4] == f"Error: {missing}: no such file"
    assert errors[5] == "1 of 5 pictures classified, 5 problems above"  # a summary, no longer an "Error:"
    assert len(errors) == 6 and "Traceback" not in result.output


def test_threshold_moves_the_decision(demo_run, samples, dnn):
    default = {r["path"]: r for r in records(dnn("predict", samples, "--run", demo_run, "--json"))}
    for threshold, expected in (("0", "shape"), ("1", "plain")):
        result = dnn("predict", samples, "--run", demo_run, "--json", "--threshold", threshold)
        assert result.exit_code == 0
        for r in records(result):
            assert r["class"] == expected
            assert r["probabilities"] == default[r["path"]]["probabilities"]
            assert r["probability"] == r["probabilities"][expected]
    # at exactly the threshold the first class stays: the second needs p > threshold
    p = default[str(samples / "plain-1.jpg")]["probabilities"]["shape"]
    for threshold, expected in ((p, "plain"), (p / 2, "shape")):
        result = dnn("predict", samples, "--run", demo_run, "--json", "--threshold", repr(threshold))
        same_batch = {r["path"]: r for r in records(result)}
        assert same_batch[str(samples / "plain-1.jpg")]["probabilities"]["shape"] == p
        assert same_batch[str(samples / "plain-1.jpg")]["class"] == expected


def test_softmax_models(softmax_run, three_class_data, dnn, tmp_path):
    with h5py.File(three_class_data / "test.h5") as f:
        for i in range(3):
            Image.fromarray(f["test_set_x"][i]).save(tmp_path / f"{i}.png")
    result = dnn("predict", tmp_path, "--run", softmax_run, "--json")
    assert result.exit_code == 0, result.output
    for r in records(result):
        assert set(r["probabilities"]) == {"red", "green", "blue"}
        assert r["class"] == max(r["probabilities"], key=r["probabilities"].get)
    refused = dnn("predict", tmp_path, "--run", softmax_run, "--threshold", "0.3")
    assert refused.exit_code == 2
    assert refused.stderr == "Error: --threshold: only for a two-class (sigmoid) model; this one has 3 classes\n"


def test_a_checkpoint_file(demo_run, samples, dnn, tmp_path):
    model = shutil.copy(demo_run / "checkpoint.npz", tmp_path / "model.npz")
    by_file = dnn("predict", samples, "--checkpoint", model, "--json")
    by_run = dnn("predict", samples, "--run", demo_run, "--json")
    assert by_file.exit_code == 0 and by_file.stdout == by_run.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["x.png"], "no runs yet under runs/"),
        ([], "Missing argument 'PICTURE...'"),
        (["x.png", "--threshold", "2"], "2.0 is not in the range 0<=x<=1"),
        (["x.png", "--checkpoint", "no.npz"], "no.npz: no such checkpoint"),
    ],
)
def test_usage_errors(in_tmp, dnn, args, message):
    result = dnn("predict", *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output


def test_pixels_are_scaled_as_the_checkpoint_says(demo_run, samples, dnn, tmp_path):
    from dnncli.model import checkpoint

    saved = checkpoint.load(demo_run / "checkpoint.npz")
    header = dict(saved.header, scaling={"divide_by": 510.0})
    checkpoint.save(tmp_path / "scaled.npz", header, saved.params, extra=saved.arrays)
    # pixels / 510 through 2 W1 is pixels / 255 through W1: the same model
    checkpoint.save(tmp_path / "same.npz", header, dict(saved.params, W1=saved.params["W1"] * 2), extra=saved.arrays)
    normal = records(dnn("predict", samples, "--run", demo_run, "--json"))
    same = records(dnn("predict", samples, "--checkpoint", tmp_path / "same.npz", "--json"))
    scaled = records(dnn("predict", samples, "--checkpoint", tmp_path / "scaled.npz", "--json"))
    for a, b, c in zip(normal, same, scaled, strict=True):
        assert a["probabilities"]["shape"] == pytest.approx(b["probabilities"]["shape"], abs=1e-12)
        assert abs(a["probabilities"]["shape"] - c["probabilities"]["shape"]) > 1e-6


def test_a_picture_piped_in_as_minus_gets_the_record_of_its_file(demo_run, samples, dnn, tmp_path):
    picture = samples / "shape-2.png"
    [expected] = records(dnn("predict", picture, "--run", demo_run, "--json"))
    with open(picture, "rb") as f:  # a real pipe: `dnn predict - < shape-2.png`
        done = subprocess.run(
            [sys.executable, "-m", "dnncli", "predict", "-", "--run", str(demo_run), "--json"],
            stdin=f, capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    [record] = [json.loads(line) for line in done.stdout.splitlines()]
    assert record == {**expected, "path": "-"}


def test_standard_input_that_is_no_picture_or_a_terminal(demo_run, dnn, tmp_path):
    result = dnn("predict", "-", "--run", demo_run, input=b"not a picture")
    assert result.exit_code == 2 and "Error: -: not a picture (JPEG, PNG" in result.stderr
    main, other = os.openpty()  # standard input a terminal: nothing is piped in, dnn does not wait for typing
    try:
        done = subprocess.run(
            [sys.executable, "-m", "dnncli", "predict", "-", "--run", str(demo_run)],
            stdin=other, capture_output=True, text=True, timeout=120, cwd=tmp_path,
        )  # fmt: skip
    finally:
        os.close(main)
        os.close(other)
    assert done.returncode == 2
    assert done.stderr.endswith("Error: -: standard input is a terminal; pipe a picture in: dnn predict - < cat.jpg\n")


def test_a_url_is_refused_with_a_line_saying_urls_are_not_fetched(demo_run, samples, dnn):
    result = dnn("predict", "https://x/cat.jpg", samples / "shape-2.png", "--run", demo_run, "--json")
    assert result.exit_code == 2
    assert "Error: https://x/cat.jpg: a URL; URLs are not fetched, only files are read" in result.stderr
    assert "https:/x" not in result.output
    problem, record = records(result)
    assert problem == {"path": None, "error": result.stderr.splitlines()[1].removeprefix("Error: ")}
    assert record["path"] == str(samples / "shape-2.png")


def test_counts_read_as_english(demo_run, dnn, tmp_path):
    from dnncli.text import plural

    assert [plural(1, "picture"), plural(2, "picture"), plural(0, "class"), plural(3, "batch")] == [
        "1 picture", "2 pictures", "0 classes", "3 batches",
    ]  # fmt: skip
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a picture")
    result = dnn("predict", broken, "--run", demo_run)
    assert result.exit_code == 2 and result.stderr.splitlines()[-1] == "0 of 1 picture classified, 1 problem above"
