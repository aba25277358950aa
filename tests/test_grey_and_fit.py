"""Pictures as people have them: grey ones (data.channels: 1) and ones that are not square (data.fit), the same in
training, import, predict, serve and export."""

import json

import h5py
import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import train_run
from dnncli.config.schema import SCHEMA
from dnncli.data.formats import CHANNELS, FITS
from dnncli.data.pictures import FITS as FIT_TABLE
from dnncli.data.pictures import load_picture
from dnncli.model import checkpoint
from dnncli.model.predict import classify

SIZE = 28  # a 28 x 28 grey digit: 784 inputs, where RGB would take 2,352


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """scikit-learn's 1,797 handwritten digits (8 x 8, 0-16) as grey PNG files: digits/{train,test}/<digit>/n.png."""
    from sklearn.datasets import load_digits

    folder = tmp_path_factory.mktemp("digits")
    data = load_digits()
    for n, (image, digit) in enumerate(zip(data.images, data.target, strict=True)):
        split = "test" if n % 6 == 0 else "train"
        path = folder / split / str(digit) / f"{n:04}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.round(image * 255 / 16).astype(np.uint8), "L").save(path)
    return folder


def digits_config(path, digits, **data):
    config = {
        "name": "digits",
        "data": {"format": "folder", "train": str(digits / "train"), "test": str(digits / "test"), "size": SIZE,
                 "channels": 1, **data},
        "model": {"layers": [SIZE * SIZE, 32, 10], "output": "softmax", "init": "he"},
        "training": {"learning_rate": 0.003, "optimizer": "adam", "batch_size": 64, "iterations": 300, "log_every": 100},
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(scope="module")
def grey_run(tmp_path_factory, digits):
    root = tmp_path_factory.mktemp("grey_run")
    return train_run(root, digits_config(root / "digits.yaml", digits))


def test_grey_digits_train_on_784_inputs_and_the_checkpoint_keeps_one_channel(grey_run):
    saved = checkpoint.load(grey_run / "checkpoint.npz")
    assert saved.input_shape == (SIZE, SIZE, 1) and saved.net.layers[0] == 784
    assert saved.fit == "squash" and saved.header["fit"] == "squash"
    metrics = json.loads((grey_run / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] > 0.9  # 300 updates are plenty for the digits


def test_predict_decodes_a_grey_picture_as_training_did(grey_run, digits, dnn):
    paths = sorted((digits / "test" / "7").iterdir())[:5]
    records = [json.loads(line) for line in dnn("predict", *paths, "--run", grey_run, "--json").stdout.splitlines()]
    saved = checkpoint.load(grey_run / "checkpoint.npz")
    pixels = np.stack([load_picture(path, (SIZE, SIZE, 1)) for path in paths])
    probabilities, labels = classify(saved, pixels)
    assert [r["class"] for r in records] == [saved.classes[k] for k in labels]
    assert [r["probabilities"]["7"] for r in records] == list(probabilities[saved.classes.index("7")])
    colour = digits.parent / "seven-in-colour.png"  # an RGB file is made grey for a grey model
    Image.open(paths[0]).convert("RGB").save(colour)
    [record] = [json.loads(line) for line in dnn("predict", colour, "--run", grey_run, "--json").stdout.splitlines()]
    assert record["probabilities"] == records[0]["probabilities"]


def test_import_writes_grey_pictures_and_a_run_on_the_file_matches_the_folder_s(grey_run, digits, dnn, tmp_path):
    out = tmp_path / "digits.h5"
    result = dnn("data", "import", digits, "--out", out, "--size", SIZE, "--channels", "1")
    assert result.exit_code == 0, result.output
    assert "28 x 28 x 1" in result.stdout
    with h5py.File(out) as f:
        assert f["train_set_x"].shape[1:] == (SIZE, SIZE, 1) and f["train_set_x"].attrs["fit"] == "squash"
    config = yaml.safe_load((grey_run / "config.yaml").read_text())
    config["data"] = {"train": str(out), "test": str(out)}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    run = train_run(tmp_path, tmp_path / "c.yaml")
    assert (
        json.loads((run / "metrics.json").read_text())["test"]
        == json.loads((grey_run / "metrics.json").read_text())["test"]
    )


def test_export_takes_pictures_of_one_channel(grey_run, digits, dnn, tmp_path):
    onnx = pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    out = tmp_path / "digits.onnx"
    assert dnn("export", "--run", grey_run, "--out", out).exit_code == 0
    model = onnx.load(str(out))
    [picture] = model.graph.input
    assert [d.dim_value for d in picture.type.tensor_type.shape.dim[1:]] == [SIZE, SIZE, 1]
    assert {p.key: p.value for p in model.metadata_props}["fit"] == "squash"
    pixels = np.stack([load_picture(path, (SIZE, SIZE, 1)) for path in sorted((digits / "test" / "3").iterdir())[:4]])
    probabilities, _ = classify(checkpoint.load(grey_run / "checkpoint.npz"), pixels)
    got, _ = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"pictures": pixels})
    np.testing.assert_allclose(got, probabilities.T, rtol=0, atol=1e-12)


def test_serve_classifies_a_grey_upload_as_predict_does(grey_run, digits, dnn, tmp_path):
    pytest.importorskip("starlette")
    from test_serve import Server, httpx, predict

    path = sorted((digits / "test" / "4").iterdir())[0]
    [expected] = [json.loads(line) for line in dnn("predict", path, "--run", grey_run, "--json").stdout.splitlines()]
    server = Server(tmp_path, "--run", grey_run)
    try:
        info = httpx.get(server.url + "/info", timeout=10).json()
        assert info["input_shape"] == [SIZE, SIZE, 1] and info["fit"] == "squash"
        [record] = predict(server.url, [(path.name, path.read_bytes())]).json()["predictions"]
    finally:
        server.stop()
    assert record == {**expected, "path": path.name}


# --- data.fit --------------------------------------------------------------------------------------------------


def bands(width, height):
    """A wide picture: black, white, black thirds from left to right."""
    pixels = np.zeros((height, width), dtype=np.uint8)
    pixels[:, width // 3 : 2 * width // 3] = 255
    return Image.fromarray(pixels, "L")


def test_squash_crop_and_pad_each_make_a_wide_picture_square(tmp_path):
    path = tmp_path / "wide.png"
    bands(30, 10).save(path)
    squashed, cropped, padded = (load_picture(path, (10, 10), fit) for fit in ("squash", "crop", "pad"))
    assert squashed[:, 0].max() < 30 and squashed[:, 5].min() > 225  # the thirds, squeezed into 10 columns
    assert cropped.min() == 255  # the centre 10 x 10: all white
    assert padded[0].max() == 0 and padded[-1].max() == 0  # black bands above and below
    assert padded[5, 5] > 225 and padded[5, 0] < 30  # the whole picture, a third of its height, in the middle
    assert load_picture(path, (10, 10)).tolist() == squashed.tolist()  # squash, as before, unless told


def test_the_fit_names_agree_everywhere():
    assert tuple(FIT_TABLE) == FITS
    for name in FITS:
        assert SCHEMA["data"]["fit"].check(name) == name
    with pytest.raises(ValueError, match="must be one of squash, crop, pad"):
        SCHEMA["data"]["fit"].check("stretch")
    assert [SCHEMA["data"]["channels"].check(c) for c in CHANNELS] == list(CHANNELS)
    with pytest.raises(ValueError, match="must be one of 1, 3"):
        SCHEMA["data"]["channels"].check(True)
    assert (SCHEMA["data"]["fit"].default, SCHEMA["data"]["channels"].default) == ("squash", 3)


@pytest.fixture(scope="module")
def wide_set(tmp_path_factory):
    """Two classes of wide pictures, 30 x 10: the white band left of the centre, or right of it."""
    folder = tmp_path_factory.mktemp("wide")
    rng = np.random.default_rng(0)
    for split, count in (("train", 40), ("test", 10)):
        for label in ("left", "right"):
            for n in range(count):
                pixels = rng.integers(0, 40, (10, 30), dtype=np.uint8)
                start = 8 + rng.integers(0, 3) if label == "left" else 15 + rng.integers(0, 3)
                pixels[:, start : start + 6] = 255
                path = folder / split / label / f"{n}.png"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(pixels, "L").save(path)
    return folder


def test_a_run_keeps_its_fit_and_predict_fits_a_picture_by_it(wide_set, tmp_path, dnn):
    config = {
        "data": {"format": "folder", "train": str(wide_set / "train"), "test": str(wide_set / "test"), "size": 10,
                 "channels": 1, "fit": "crop"},
        "model": {"layers": [100, 4, 1]},
        "training": {"learning_rate": 0.05, "iterations": 20},
    }  # fmt: skip
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    run = train_run(tmp_path, tmp_path / "c.yaml")
    assert checkpoint.load(run / "checkpoint.npz").fit == "crop"
    wide = wide_set / "test" / "left" / "0.png"
    centre = tmp_path / "centre.png"  # the part crop keeps, as its own file
    Image.open(wide).crop((10, 0, 20, 10)).save(centre)
    got = [json.loads(line) for line in dnn("predict", wide, centre, "--run", run, "--json").stdout.splitlines()]
    assert got[0]["probabilities"] == got[1]["probabilities"]  # the wide picture was cropped, not squashed
    result = dnn("evaluate", "--run", run, "--data", wide_set / "test", "--json", "-")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["accuracy"] == json.loads((run / "metrics.json").read_text())["test"]["accuracy"]


def test_a_checkpoint_with_a_fit_dnn_does_not_know_is_refused(wide_set, tmp_path):
    import zipfile

    from dnncli.errors import UserError

    config = {"data": {"format": "folder", "train": str(wide_set / "train"), "size": 10, "channels": 1},
              "model": {"layers": [100, 1]}, "training": {"learning_rate": 0.05, "iterations": 2}}  # fmt: skip
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    saved = checkpoint.load(train_run(tmp_path, tmp_path / "c.yaml") / "checkpoint.npz")
    header = dict(saved.header, fit="stretch")
    path = tmp_path / "odd.npz"
    checkpoint.save(path, header, saved.params, extra=saved.arrays)
    assert zipfile.is_zipfile(path)
    with pytest.raises(UserError, match="header field 'fit' must be one of squash, crop, pad"):
        checkpoint.load(path)
