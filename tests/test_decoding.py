"""Large JPEGs are decoded at a reduced scale (pictures.load_picture, rule 3), and `dnn predict` shows each
result as soon as it has it."""

import json
import re

import numpy as np
import pytest
from PIL import Image

from dnncli.data.pictures import DRAFT_MARGIN, RESAMPLE, load_picture, open_picture
from dnncli.model import checkpoint, predict


def photo_like(size, seed=0):
    """Smooth colour gradients with detail and noise: something a camera could have taken."""
    rng = np.random.default_rng(seed)
    width, height = size
    y, x = np.mgrid[0:height, 0:width] / max(size)
    channels = [np.sin(6 * x * rng.uniform(1, 3) + 4 * y * rng.uniform(1, 3) + rng.uniform(0, 6)) for _ in range(3)]
    pixels = 127 + 90 * np.stack(channels, axis=-1) + rng.normal(0, 6, (height, width, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def whole(path, input_shape):
    """What the decoder gave before rule 3: the whole picture decoded, then the resize."""
    with Image.open(path) as image:
        image.load()
        return np.asarray(image.convert("RGB").resize(input_shape[1::-1], RESAMPLE))


@pytest.fixture(scope="module")
def large_jpeg(tmp_path_factory):
    path = tmp_path_factory.mktemp("large") / "photo.jpg"
    photo_like((1280, 960)).save(path, quality=90)
    return path


def test_a_large_jpeg_is_decoded_at_a_reduced_scale(large_jpeg):
    side = DRAFT_MARGIN * 64
    with open_picture(large_jpeg, draft=(side, side)) as image:
        assert image.size == (640, 480)  # 1/2: 1/4 would leave 240 rows, under the 256 asked
    with open_picture(large_jpeg) as image:
        assert image.size == (1280, 960)


def test_the_reduced_decode_moves_pixels_by_little(large_jpeg):
    got = load_picture(large_jpeg, (64, 64, 3)).astype(int)
    full = whole(large_jpeg, (64, 64, 3)).astype(int)
    assert got.shape == full.shape == (64, 64, 3)
    assert np.abs(got - full).mean() < 0.5 and np.abs(got - full).max() <= 4
    assert not np.array_equal(got, full)  # it did decode at another scale


def test_a_picture_near_the_model_size_is_decoded_whole(tmp_path):
    path = tmp_path / "near.jpg"
    photo_like((300, 200)).save(path, quality=90)  # half of it would be under 4 x 64
    np.testing.assert_array_equal(load_picture(path, (64, 64, 3)), whole(path, (64, 64, 3)))


def test_the_orientation_of_a_large_jpeg(tmp_path):
    stored = np.zeros((1200, 2400, 3), np.uint8)
    stored[:, :1200] = [255, 0, 0]  # left half red
    stored[:, 1200:] = [0, 0, 255]
    exif = Image.Exif()
    exif[0x0112] = 6  # turned 90 degrees clockwise to show: the left half goes on top, the picture stands
    path = tmp_path / "turned.jpg"
    Image.fromarray(stored).save(path, exif=exif, quality=95)
    got = load_picture(path, (64, 32, 3)).astype(int)
    assert np.abs(got[4:28].mean(axis=(0, 1)) - [255, 0, 0]).max() < 8
    assert np.abs(got[36:60].mean(axis=(0, 1)) - [0, 0, 255]).max() < 8


def test_import_and_predict_decode_alike(large_jpeg, tmp_path, dnn):
    """dnn data import stores what load_picture gives, reduced decode included."""
    folder = tmp_path / "set"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        (folder / name / "photo.jpg").write_bytes(large_jpeg.read_bytes())
    result = dnn("data", "import", folder, "--out", tmp_path / "set.h5", "--size", "64")
    assert result.exit_code == 0, result.output
    import h5py

    with h5py.File(tmp_path / "set.h5") as f:
        stored = f["train_set_x"][:]
    for pixels in stored:
        np.testing.assert_array_equal(pixels, load_picture(large_jpeg, (64, 64, 3)))


# --- predictions as they come ------------------------------------------------


def test_predictions_come_before_the_folder_is_read(demo_run, demo_data, monkeypatch):
    """With every batch due at once, the first record is there when one picture has been read."""
    monkeypatch.setattr(predict, "PROMPT_SECONDS", 0.0)
    saved = checkpoint.load(demo_run / "checkpoint.npz")
    handed_out = []

    def paths():
        for path in sorted((demo_data / "samples").iterdir()):
            handed_out.append(path)
            yield path

    seen = []
    for record in predict.predictions(saved, paths(), 0.5, print):
        seen.append((record["path"], len(handed_out)))
    assert [count for _, count in seen] == [1, 2, 3, 4]
    together = list(predict.predictions(saved, sorted((demo_data / "samples").iterdir()), 0.5, print))
    assert [r["path"] for r in together] == [path for path, _ in seen]


def test_a_streamed_table_on_a_terminal(demo_run, demo_data, dnn):
    samples = demo_data / "samples"
    terminal = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "200"}
    result = dnn("predict", samples, "--run", demo_run, env=terminal)
    assert result.exit_code == 0, result.output
    lines = re.sub(r"\x1b\[[0-9;]*m", "", result.stdout).splitlines()  # the header is bold, as rich sets it
    assert [line[0] for line in lines] == ["┏", "┃", "┡", "│", "│", "│", "│", "└"]
    assert len({len(line) for line in lines}) == 1  # every line as wide: the columns line up
    expected = [json.loads(line) for line in dnn("predict", samples, "--run", demo_run, "--json").stdout.splitlines()]
    for line, record in zip(lines[3:7], expected, strict=True):
        cells = [cell.strip() for cell in line.strip("│").split("│")]
        familiar = f"{'yes' if record['unfamiliar'] else 'no'} ({record['unfamiliarity']:.2f})"
        assert cells == [
            record["path"],
            record["class"],
            f"{record['probability']:.4f}",
            f"{record['margin']:.4f}",
            familiar,
        ]


def test_a_long_path_is_cut_at_its_start(demo_run, demo_data, dnn, tmp_path):
    deep = tmp_path / ("a-long-folder-name-" * 8) / "picture.png"
    deep.parent.mkdir(parents=True)
    deep.write_bytes(next((demo_data / "samples").glob("*.png")).read_bytes())
    result = dnn("predict", deep, "--run", demo_run, env={"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    row = result.stdout.splitlines()[3]
    assert len(row) == 80 and "…" in row and "picture.png" in row
