"""Folder data sets, `dnn data import` and `dnn data info`, on real picture files decoded by Pillow."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import arrays, write_config
from dnncli.data.pictures import load_picture
from dnncli.model import checkpoint

SHAPE = (64, 64, 3)
BROKEN = {  # file name -> what is wrong with it (in train/shape/ and test/plain/)
    "cut.jpg": "the first 600 bytes of a JPEG",
    "notes.png": "a text file",
    "empty.jpg": "no bytes at all",
}


def save_picture(pixels, path, i):
    """Every third picture a JPEG, the others PNG; every fifth grey, every seventh RGBA with a transparent corner."""
    image = Image.fromarray(pixels)
    if i % 5 == 0:
        image = image.convert("L")
    elif i % 7 == 0:
        image = image.convert("RGBA")
        alpha = np.full(pixels.shape[:2], 255, dtype=np.uint8)
        alpha[:16, :16] = 0
        image.putalpha(Image.fromarray(alpha))
    if i % 3 == 0 and image.mode != "RGBA":
        image.save(path.with_suffix(".jpg"), quality=90)
    else:
        image.save(path.with_suffix(".png"))


def write_picture_folder(root, demo_data, broken=True):
    """root/train/<class>/ and root/test/<class>/ with the demo set's 300 + 100 pictures as files."""
    root = Path(root)
    for split in ("train", "test"):
        with h5py.File(demo_data / f"{split}.h5", "r") as f:
            pictures, labels = f[f"{split}_set_x"][()], f[f"{split}_set_y"][()]
            classes = [c.decode() for c in f["list_classes"][()]]
        for i, (pixels, label) in enumerate(zip(pictures, labels, strict=True)):
            folder = root / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            save_picture(pixels, folder / f"{i:04d}", i)
    if broken:
        for folder in (root / "train" / "shape", root / "test" / "plain"):
            some_jpeg = sorted(folder.glob("*.jpg"))[0].read_bytes()
            (folder / "cut.jpg").write_bytes(some_jpeg[:600])
            (folder / "notes.png").write_text("not a picture")
            (folder / "empty.jpg").write_bytes(b"")
    return root


@pytest.fixture(scope="module")
def photos(tmp_path_factory, demo_data):
    """photos/train/{plain,shape}/ and photos/test/{plain,shape}/: 400 pictures and 6 broken files."""
    return write_picture_folder(tmp_path_factory.mktemp("own") / "photos", demo_data)


@pytest.fixture(scope="module")
def imported(photos):
    """photos.h5 from `dnn data import photos`, and the click result."""
    from click.testing import CliRunner

    from dnncli.cli import main

    out = photos.parent / "photos.h5"
    result = CliRunner().invoke(main, ["data", "import", str(photos), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out, result


def readable(folder):
    """A class folder's pictures in the order a data set takes them: sorted, the broken ones left out."""
    return [p for p in sorted(Path(folder).iterdir()) if p.name not in BROKEN]


def read(path, key):
    with h5py.File(path, "r") as f:
        return f[key][()]


def run_folder(result):
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


def folder_config(path, photos, **training):
    return write_config(
        path,
        photos,
        data={"format": "folder", "train": str(photos / "train"), "test": str(photos / "test")},
        model={"layers": [12288, 8, 4, 1]},
        training={"batch_size": 64, "iterations": 40, **training},
    )


def test_the_demo_as_a_folder_set_holds_the_pictures_of_the_demo_files(in_tmp, dnn, demo_data):
    result = dnn("data", "demo", "--format", "folder", "--out", "photos")
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == ["photos/train", "photos/test"]
    for split, count in (("train", 300), ("test", 100)):
        x, y = read(demo_data / f"{split}.h5", f"{split}_set_x"), read(demo_data / f"{split}.h5", f"{split}_set_y")
        files = sorted((in_tmp / "photos" / split).glob("*/*.png"))
        assert len(files) == count
        for file in files[::37]:
            i = int(file.stem)
            assert file.parent.name == ("plain", "shape")[y[i]]
            np.testing.assert_array_equal(np.asarray(Image.open(file)), x[i])


def test_import_keeps_what_decodes_and_lists_the_rest(photos, imported):
    out, result = imported
    assert result.stdout.strip().splitlines()[-1] == str(out)
    skipped = [line.strip() for line in result.stderr.splitlines()[1:]]
    assert "skipped 6 pictures that cannot be read" in result.stderr.splitlines()[0]
    broken = [
        photos / split / name / file for split, name in (("train", "shape"), ("test", "plain")) for file in BROKEN
    ]
    assert sorted(line.split(": ")[0] for line in skipped) == sorted(str(p) for p in broken)
    assert "truncated or damaged picture" in result.stderr and "not a picture" in result.stderr
    assert read(out, "list_classes").tolist() == [b"plain", b"shape"]
    for split, m in (("train", 300), ("test", 100)):
        files = readable(photos / split / "plain") + readable(photos / split / "shape")
        labels = [0] * len(readable(photos / split / "plain")) + [1] * len(readable(photos / split / "shape"))
        pictures = read(out, f"{split}_set_x")
        assert pictures.shape == (m, *SHAPE) and pictures.dtype == np.uint8
        assert read(out, f"{split}_set_y").tolist() == labels
        for pixels, path in zip(pictures, files, strict=True):  # grey JPEGs and RGBA PNGs among them
            assert np.array_equal(pixels, load_picture(path, SHAPE)), path
    with h5py.File(out, "r") as f:
        assert f["train_set_x"].chunks == (1, *SHAPE) and f["train_set_x"].compression == "lzf"


def test_train_on_the_import_and_predict_a_file_with_the_probability_evaluate_gave_it(photos, imported, in_tmp, dnn):
    out, _ = imported
    config = write_config(
        in_tmp / "c.yaml",
        in_tmp,
        data={"train": str(out), "test": str(out)},
        model={"layers": [12288, 8, 4, 1]},
        training={"batch_size": 64, "iterations": 60},
    )
    folder = run_folder(dnn("train", "--config", config, "--quiet"))
    report = json.loads(dnn("evaluate", "--run", folder, "--json", "-").stdout)
    plain, shape = readable(photos / "test" / "plain"), readable(photos / "test" / "shape")
    files = plain + shape
    grey_jpeg = next(i for i, p in enumerate(files) if p.suffix == ".jpg" and int(p.stem) % 5 == 0)
    rgba_png = next(i for i, p in enumerate(files) if int(p.stem) % 7 == 0 and int(p.stem) % 5)
    for index in (grey_jpeg, rgba_png, len(plain)):
        result = dnn("predict", files[index], "--run", folder, "--json")
        assert result.exit_code == 0, result.output
        predicted = json.loads(result.stdout)
        example = report["predictions"][index]
        assert example["true"] == ("plain" if index < len(plain) else "shape")
        assert predicted["probabilities"] == example["probabilities"]  # exactly


def test_training_on_the_folder_is_training_on_its_import(photos, imported, in_tmp, dnn):
    out, _ = imported
    from_folder = dnn("train", "--config", folder_config(in_tmp / "f.yaml", photos), "--quiet")
    assert "skipped 3 pictures" in from_folder.stderr and "cut.jpg" in from_folder.stderr
    config = folder_config(in_tmp / "h.yaml", photos)
    config.write_text(config.read_text().replace("format: folder", "format: hdf5"))
    data = yaml.safe_load(config.read_text())
    data["data"].update(train=str(out), test=str(out))
    config.write_text(yaml.safe_dump(data))
    from_file = dnn("train", "--config", config, "--quiet")
    first, second = arrays(run_folder(from_folder) / "checkpoint.npz"), arrays(run_folder(from_file) / "checkpoint.npz")
    assert all(np.array_equal(first[name], second[name]) for name in first)


def test_evaluate_a_folder(photos, imported, in_tmp, dnn):
    folder = run_folder(dnn("train", "--config", folder_config(in_tmp / "f.yaml", photos), "--quiet"))
    on_folder = json.loads(dnn("evaluate", "--run", folder, "--data", photos / "test", "--json", "-").stdout)
    on_file = json.loads(dnn("evaluate", "--run", folder, "--data", imported[0], "--json", "-").stdout)
    assert on_folder["examples"] == 100
    files = [record.pop("file") for record in on_folder["predictions"]]  # a folder set names each file
    assert on_folder["predictions"] == on_file["predictions"]
    expected = [f"{c}/{p.name}" for c in ("plain", "shape") for p in readable(photos / "test" / c)]
    assert files == expected


def test_picture_size_comes_from_the_config(photos, in_tmp, dnn):
    config = folder_config(in_tmp / "c.yaml", photos)
    result = dnn("train", "--config", config, "--set", "data.size=32")
    assert result.exit_code == 2
    assert "model.layers: the first size must equal the flattened input, 32x32x3 = 3072, got 12288" in result.stderr
    folder = run_folder(dnn("train", "--config", config, "--set", "data.size=32", "--set", "model.layers=[3072, 4, 1]"))
    assert checkpoint.load(folder / "checkpoint.npz").input_shape == (32, 32, 3)


def test_one_split_and_other_sizes(photos, in_tmp, dnn):
    result = dnn(
        "data", "import", photos / "test", "--out", "t.h5", "--split", "test", "--size", "16", "--compression", "gzip"
    )
    assert result.exit_code == 0, result.output
    assert (
        "t.h5: HDF5" in result.stdout
        and "(gzip level 1, 1 picture a chunk; pictures made to fit by squash)" in result.stdout
    )
    with h5py.File("t.h5", "r") as f:
        assert sorted(f) == ["list_classes", "test_set_x", "test_set_y"]
        assert f["test_set_x"].shape == (100, 16, 16, 3)
        assert np.array_equal(f["test_set_x"][0], load_picture(readable(photos / "test" / "plain")[0], (16, 16, 3)))
    result = dnn("data", "import", photos, "--out", "train.h5", "--split", "train", "--compression", "none")
    assert result.exit_code == 0, result.output
    assert "(uncompressed, 1 picture a chunk; pictures made to fit by squash)" in result.stdout
    with h5py.File("train.h5", "r") as f:
        assert sorted(f) == ["list_classes", "train_set_x", "train_set_y"]
        assert f["train_set_x"].compression is None and f["train_set_x"].chunks == (1, *SHAPE)


def make_classes(root, counts, broken=()):
    """root/<name>/ with ``count`` small PNGs each; ``broken`` names classes whose files are all broken."""
    for name, count in counts.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(count):
            if name in broken:
                (folder / f"{i}.png").write_text("not a picture")
            else:
                Image.new("RGB", (8, 8), (i * 40 % 256, 0, 0)).save(folder / f"{i}.png")
    return root


@pytest.mark.parametrize(
    "counts, broken, message",
    [
        ({"cat": 2, "dog": 0}, (), "dog: class 'dog' has no pictures"),
        ({"cat": 2, "dog": 2}, ("dog",), "dog: none of the 2 pictures of class 'dog' can be read"),
        ({"cat": 2}, (), "a folder data set needs a subfolder of pictures per class, at least two; found 1"),
    ],
)
def test_import_refuses_a_class_without_pictures(in_tmp, dnn, counts, broken, message):
    make_classes(in_tmp / "set", counts, broken)
    result = dnn("data", "import", "set", "--out", "set.h5")
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.strip().splitlines()) <= 3
    assert sorted(p.name for p in in_tmp.iterdir()) == ["set"]  # nothing written, no temporary file left


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing", "--out", "x.h5"], "missing: no such folder"),
        (["set", "--out", "nowhere/x.h5"], "nowhere/x.h5: the folder nowhere does not exist"),
        (["split", "--out", "x.h5", "--split", "test"], "split: has no test/ folder (it has train/)"),
        (
            ["mixed", "--out", "x.h5"],
            "mixed: train/ has classes ['a', 'b'], test/ has ['a', 'c']; they must be the same",
        ),
    ],
)
def test_import_usage_errors(in_tmp, dnn, args, message):
    make_classes(in_tmp / "set", {"a": 1, "b": 1})
    make_classes(in_tmp / "split" / "train", {"a": 1, "b": 1})
    make_classes(in_tmp / "mixed" / "train", {"a": 1, "b": 1})
    make_classes(in_tmp / "mixed" / "test", {"a": 1, "c": 1})
    result = dnn("data", "import", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_folder_set_errors_in_a_config(photos, imported, in_tmp, dnn):
    config = folder_config(in_tmp / "c.yaml", photos)
    result = dnn("train", "--config", config, "--set", f"data.train={photos}")
    assert result.exit_code == 2
    assert f"{photos}: holds train/ and test/; name one of them" in result.stderr
    result = dnn("train", "--config", config, "--set", "data.format=hdf5")
    assert result.exit_code == 2
    assert "train: is a folder, not an HDF5 file (a folder of pictures is data.format: folder)" in result.stderr
    result = dnn("train", "--config", config, "--set", f"data.train={imported[0]}")
    assert result.exit_code == 2
    assert (
        "photos.h5: not a folder (a folder data set has a subfolder of pictures per class; an HDF5 file is data.format: hdf5)"
        in result.stderr
    )
    result = dnn("train", "--config", config, "--set", "data.in_memory=false")
    assert result.exit_code == 2
    assert "data.in_memory: a folder set is decoded into memory; to read from disk, import it first" in result.stderr


def info_rows(result):
    """The rows of the info table as lists of cell texts."""
    assert result.exit_code == 0, result.output
    return [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines() if "│" in line]


def test_info_of_a_file_a_folder_and_the_cat_set(photos, imported, dnn, cat_data):
    rows = info_rows(dnn("data", "info", imported[0]))
    assert rows == [
        ["train", "300", "64 x 64 x 3", "uint8", "plain 150, shape 150"],
        ["test", "100", "64 x 64 x 3", "uint8", "plain 50, shape 50"],
    ]
    assert (
        "(lzf, 1 picture a chunk; pictures made to fit by squash)"
        in dnn("data", "info", imported[0]).stdout.splitlines()[0]
    )
    assert info_rows(dnn("data", "info", photos)) == [  # files are counted, broken ones too
        ["train", "303", "64 x 64 x 3", "uint8", "plain 150, shape 153"],
        ["test", "103", "64 x 64 x 3", "uint8", "plain 53, shape 50"],
    ]
    assert info_rows(dnn("data", "info", photos / "test", "--size", "32")) == [
        ["test", "103", "32 x 32 x 3", "uint8", "plain 53, shape 50"]
    ]
    assert info_rows(dnn("data", "info", cat_data / "train_catvnoncat.h5")) == [
        ["train", "209", "64 x 64 x 3", "uint8", "non-cat 137, cat 72"]
    ]


def test_info_of_a_file_without_pictures(in_tmp, dnn):
    with h5py.File("other.h5", "w") as f:
        f["weights"] = np.zeros(3)
    result = dnn("data", "info", "other.h5")
    assert result.exit_code == 2
    assert "other.h5: has neither 'train_set_x' nor 'test_set_x' pictures (the file has: weights)" in result.stderr


def test_pictures_outside_the_class_folders_are_left_out_with_a_warning(in_tmp, dnn):
    make_classes(in_tmp / "set", {"a": 2, "b": 3})
    Image.new("RGB", (8, 8)).save(in_tmp / "set" / "stray.png")
    result = dnn("data", "import", "set", "--out", "set.h5")
    assert result.exit_code == 0, result.output
    assert "Warning: set: 1 picture outside the class folders not used" in result.stderr
    assert read("set.h5", "train_set_y").tolist() == [0, 0, 1, 1, 1]
