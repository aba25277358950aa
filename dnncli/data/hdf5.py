"""Data sets in the course's HDF5 layout, read with h5py and checked before use, and the one writer.

A train file holds pictures ``train_set_x`` (m, 64, 64, 3) uint8, labels
``train_set_y`` (m,) and class names ``list_classes``; a test file holds
``test_set_x`` and ``test_set_y``. The key names come from the config.

A set is loaded into memory, or left on disk and read a batch at a time
(``data.in_memory``, see ``disk``).

Written pictures (the demo sets, ``dnn data import``) are stored uint8, one
picture per chunk: a shuffled mini-batch then decompresses exactly the pictures
it uses, each once, and reading in order costs no more per picture (HDF5
suggests chunks of 10 KB to 1 MB; a 64 x 64 RGB picture is 12 KB). They are
compressed with LZF by default, which h5py always has and which reads fast;
gzip is for files other HDF5 tools must read, none for the fastest reads
(docs/performance.md).
"""

from pathlib import Path

import h5py
import numpy as np

from ..errors import UserError
from ..files import atomic_path
from .dataset import Dataset
from .disk import PicturesOnDisk, fits_in_memory
from .formats import COMPRESSION


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


def create_pictures(f, key, m, input_shape, compression="lzf"):
    """An HDF5 dataset for ``m`` uint8 pictures, stored as this module's docstring says."""
    return f.create_dataset(
        key,
        shape=(m, *input_shape),
        maxshape=(None, *input_shape),
        dtype=np.uint8,
        chunks=(1, *input_shape),
        compression=COMPRESSION[compression][0],
        compression_opts=COMPRESSION[compression][1],
    )


def write_labels(f, split, labels):
    f.create_dataset(f"{split}_set_y", data=np.asarray(labels, dtype=np.int64))


def write_classes(f, classes):
    f.create_dataset("list_classes", data=encode_classes(classes))


def write_hdf5(path, split, pictures, labels, classes, compression="lzf"):
    """A file in the cat layout, atomically: ``<split>_set_x``, ``<split>_set_y``, ``list_classes``."""
    pictures = np.asarray(pictures, dtype=np.uint8)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        create_pictures(f, f"{split}_set_x", len(pictures), pictures.shape[1:], compression)[...] = pictures
        write_labels(f, split, labels)
        write_classes(f, classes)


def encode_classes(classes):
    """Class names as the cat files store them: UTF-8 bytes, one fixed-length string each."""
    return np.array([c.encode() for c in classes])
