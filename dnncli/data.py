"""Data sets in the course's HDF5 layout, read with h5py and checked before use.

A train file holds pictures ``train_set_x`` (m, 64, 64, 3) uint8, labels
``train_set_y`` (m,) and class names ``list_classes``; a test file holds
``test_set_x`` and ``test_set_y``. The key names come from the config.

A set is loaded into memory, or left on disk and read a batch at a time
(``data.in_memory``, see ``streaming``); a folder of pictures is decoded into
memory (``data.format: folder``, see ``folders``).
"""

from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from .atomic import atomic_path
from .errors import UserError
from .resources import available_memory, gigabytes
from .streaming import PicturesOnDisk, fits_in_memory, memory_needed

PIXEL_SCALE = 255.0  # pixels are divided by this before they reach the network
READ_BATCH = 32  # examples at a time when a set is scored or classified (3 MiB of float64 cat rows)


@dataclass
class Dataset:
    pictures: object  # (m, *input_shape) uint8: an array, or ``PicturesOnDisk`` read when needed
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

    @property
    def on_disk(self):
        return isinstance(self.pictures, PicturesOnDisk)

    def pixels(self):
        """The pictures as a uint8 array (read from the file for a set on disk)."""
        return self.pictures.read() if self.on_disk else self.pictures

    def rows(self, dtype=np.float64):
        """Examples as scaled rows, (m, features): exactly what the network sees."""
        return scale_pixels(self.pixels().reshape(self.m, -1), dtype)

    def subset(self, indices):
        """Some of the examples: a copy in memory, a view on disk."""
        return Dataset(self.pictures[indices], self.labels[indices], self.classes, self.source)

    def parts(self):
        """The set ``READ_BATCH`` examples at a time, in order: views of a set on disk, copies of one in memory.

        Scoring a part at a time keeps one part's scaled copy in memory, not the whole set's.
        """
        for start in range(0, self.m, READ_BATCH):
            yield self.subset(np.arange(start, min(start + READ_BATCH, self.m)))


def scale_pixels(pixels, dtype=np.float64, divide_by=PIXEL_SCALE):
    """uint8 pixels to the network's input scale; the one place scaling happens.

    A checkpoint records ``divide_by`` in its header, so prediction scales as its training did.
    """
    rows = pixels.astype(dtype)
    rows /= dtype(divide_by)  # in place: one float copy of the pictures at a time, not two
    return rows


def open_hdf5(path):
    path = Path(path)
    if not path.exists():
        raise UserError(f"{path}: no such data file")
    if path.is_dir():
        raise UserError(f"{path}: is a folder, not an HDF5 file (a folder of pictures is data.format: folder)")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise UserError(f"{path}: not a readable HDF5 file ({e})") from None


def find_dataset(f, key, path, setting):
    if key not in f:
        have = ", ".join(sorted(f.keys())) or "nothing"
        raise UserError(f"{path}: no dataset {key!r} (the file has: {have}); set {setting} to its name")
    item = f[key]
    if not isinstance(item, h5py.Dataset):
        raise UserError(f"{path}: {key!r} is a group, not a dataset")
    return item


def read_dataset(f, key, path, setting):
    item = find_dataset(f, key, path, setting)
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


def load_hdf5(path, x_key, y_key, classes_key, settings, in_memory="auto", dtype=np.float64):
    """A checked ``Dataset`` from one HDF5 file; ``settings`` names the config keys for messages.

    ``in_memory``: True loads the pictures, False leaves them on disk (the file stays
    open), "auto" loads them when they fit (``streaming.fits_in_memory`` for ``dtype``).
    """
    f = open_hdf5(path)
    try:
        x = find_dataset(f, x_key, path, settings[0])
        check_pictures(x, path, x_key)
        y = read_dataset(f, y_key, path, settings[1])
        classes = decode_classes(f[classes_key][()], path, classes_key) if classes_key in f else None
        if in_memory == "auto":
            in_memory = fits_in_memory(x, dtype)
        x = read_dataset(f, x_key, path, settings[0]) if in_memory else PicturesOnDisk(x)
    except BaseException:
        f.close()
        raise
    if in_memory:
        f.close()
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
    if data["format"] == "folder":
        from .folders import load_folder  # folders builds on this module

        return load_folder(data[split], (data["size"], data["size"], 3))
    keys = data["keys"]
    settings = (f"data.keys.{split}_x", f"data.keys.{split}_y")
    return load_hdf5(
        data[split],
        keys[f"{split}_x"],
        keys[f"{split}_y"],
        keys["classes"],
        settings,
        data["in_memory"],
        config["dtype"],
    )


def check_streamable(dataset, config):
    """A set left on disk is read a batch at a time, so training on it needs a batch size."""
    if dataset.on_disk and config["training"]["batch_size"] is None:
        reason = ""
        if config["data"]["in_memory"] == "auto":
            needed, available = memory_needed(dataset.pictures, config["dtype"]), available_memory()
            reason = f" (it needs about {gigabytes(needed)}, more than half the {gigabytes(available)} available)"
        raise UserError(
            f"data.in_memory: {dataset.source} is read from disk{reason}, which needs training.batch_size; set one, e.g. 256"
        )


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
        f.create_dataset("list_classes", data=encode_classes(classes))


def encode_classes(classes):
    """Class names as the cat files store them: UTF-8 bytes, one fixed-length string each."""
    return np.array([c.encode() for c in classes])
