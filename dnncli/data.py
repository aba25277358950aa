"""Data sets in the course's HDF5 layout, read with h5py and checked before use.

A train file holds pictures ``train_set_x`` (m, 64, 64, 3) uint8, labels
``train_set_y`` (m,) and class names ``list_classes``; a test file holds
``test_set_x`` and ``test_set_y``. The key names come from the config.
"""

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .atomic import atomic_path
from .errors import UserError

PIXEL_SCALE = 255.0  # pixels are divided by this before they reach the network


@dataclass
class Dataset:
    pictures: np.ndarray  # (m, *input_shape), uint8
    labels: np.ndarray  # (m,), int64
    classes: list
    source: str

    @property
    def m(self):
        return self.pictures.shape[0]

    @property
    def input_shape(self):
        return tuple(self.pictures.shape[1:])

    @property
    def features(self):
        return int(np.prod(self.input_shape))

    def rows(self, dtype=np.float64):
        """Examples as scaled rows, (m, features): exactly what the network sees."""
        return scale_pixels(self.pictures.reshape(self.m, -1), dtype)

    def subset(self, indices):
        return Dataset(self.pictures[indices], self.labels[indices], self.classes, self.source)


def scale_pixels(pixels, dtype=np.float64, divide_by=PIXEL_SCALE):
    """uint8 pixels to the network's input scale; the one place scaling happens.

    A checkpoint records ``divide_by`` in its header, so prediction scales as its training did.
    """
    return pixels.astype(dtype) / dtype(divide_by)


def open_hdf5(path):
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such data file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise UserError(f"{path}: not a readable HDF5 file ({e})") from None


def read_dataset(f, key, path, setting):
    if key not in f:
        have = ", ".join(sorted(f.keys())) or "nothing"
        raise UserError(f"{path}: no dataset {key!r} (the file has: {have}); set {setting} to its name")
    item = f[key]
    if not isinstance(item, h5py.Dataset):
        raise UserError(f"{path}: {key!r} is a group, not a dataset")
    try:
        return item[()]
    except (OSError, ValueError, TypeError) as e:
        raise UserError(f"{path}: cannot read dataset {key!r} ({e})") from None


def decode_classes(raw, path, key):
    raw = np.asarray(raw).ravel()
    names = []
    for item in raw:
        if isinstance(item, bytes):
            try:
                item = item.decode("utf-8")
            except UnicodeDecodeError:
                raise UserError(f"{path}: class names in {key!r} are not UTF-8 text") from None
        elif not isinstance(item, str):
            raise UserError(f"{path}: {key!r} must hold class names as strings, found {raw.dtype}")
        names.append(item)
    if len(set(names)) != len(names):
        raise UserError(f"{path}: {key!r} names a class twice: {names}")
    return names


def check_pictures(x, path, key):
    if x.dtype != np.uint8:
        raise UserError(f"{path}: {key!r} must hold uint8 pixels (0-255), found {x.dtype}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise UserError(f"{path}: {key!r} must be shaped (examples, height, width, channels), found {x.shape}")
    if x.ndim == 4 and x.shape[-1] not in (1, 3, 4):
        raise UserError(f"{path}: {key!r} must have 1, 3 or 4 colour channels last, found shape {x.shape}")


def check_labels(y, m, path, key):
    if y.ndim == 2 and 1 in y.shape:
        y = y.ravel()
    if y.ndim != 1:
        raise UserError(f"{path}: {key!r} must be a list of labels, found shape {y.shape}")
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iub":
        raise UserError(f"{path}: {key!r} must hold whole-number class labels, found {y.dtype}")
    if y.shape[0] != m:
        raise UserError(f"{path}: {m} pictures but {y.shape[0]} labels in {key!r}")
    return y.astype(np.int64)


def load_hdf5(path, x_key, y_key, classes_key, settings):
    """A checked ``Dataset`` from one HDF5 file; ``settings`` names the config keys for messages."""
    with open_hdf5(path) as f:
        x = read_dataset(f, x_key, path, settings[0])
        y = read_dataset(f, y_key, path, settings[1])
        classes = decode_classes(f[classes_key][()], path, classes_key) if classes_key in f else None
    check_pictures(x, path, x_key)
    y = check_labels(y, x.shape[0], path, y_key)
    if classes is None:
        classes = [str(i) for i in range(max(int(y.max()) + 1, 2))]
    if y.min() < 0 or y.max() >= len(classes):
        raise UserError(
            f"{path}: labels in {y_key!r} must lie in 0..{len(classes) - 1} ({len(classes)} classes), found {y.min()}..{y.max()}"
        )
    return Dataset(x, y, classes, str(path))


def load_split(config, split):
    """The train or test set a resolved config names; None for a test set it leaves out."""
    data = config["data"]
    if data[split] is None:
        return None
    keys = data["keys"]
    settings = (f"data.keys.{split}_x", f"data.keys.{split}_y")
    return load_hdf5(data[split], keys[f"{split}_x"], keys[f"{split}_y"], keys["classes"], settings)


def check_against_model(dataset, layers, output, what):
    """The first layer must take a flattened picture, the last must fit the classes."""
    if layers[0] != dataset.features:
        shape = "x".join(str(s) for s in dataset.input_shape)
        raise UserError(
            f"model.layers: the first size must equal the flattened input, {shape} = {dataset.features}, got {layers[0]} ({what}: {dataset.source})"
        )
    n = len(dataset.classes)
    if output == "sigmoid" and n != 2:
        raise UserError(
            f"model.output: sigmoid is for two classes, but {dataset.source} has {n}; use softmax with {n} output units"
        )
    if output == "softmax" and layers[-1] != n:
        raise UserError(
            f"model.layers: the last size must equal the number of classes, {n}, got {layers[-1]} ({dataset.source})"
        )


def check_same_classes(train, test):
    if (
        test is not None
        and test.classes != train.classes
        and test.classes != [str(i) for i in range(len(test.classes))]
    ):
        raise UserError(f"{test.source}: classes {test.classes} differ from the training set's {train.classes}")
    if test is not None and test.labels.size and test.labels.max() >= len(train.classes):
        raise UserError(
            f"{test.source}: labels go up to {test.labels.max()}, the training set has {len(train.classes)} classes"
        )
    if test is not None and test.input_shape != train.input_shape:
        raise UserError(f"{test.source}: pictures are {test.input_shape}, the training set's are {train.input_shape}")


def write_hdf5(path, split, pictures, labels, classes):
    """A file in the cat layout: ``<split>_set_x``, ``<split>_set_y``, ``list_classes``."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        f.create_dataset(f"{split}_set_x", data=pictures, dtype=np.uint8)
        f.create_dataset(f"{split}_set_y", data=np.asarray(labels, dtype=np.int64))
        f.create_dataset("list_classes", data=np.array([c.encode() for c in classes]))
