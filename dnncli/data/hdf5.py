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
(docs/performance/data.md). Pictures made from files (``dnn data import``) say how
they were made to fit in the attribute ``fit`` of their dataset (``FIT``), so a
model trained on them has predict fit pictures the same way.
"""

import math
import os
from pathlib import Path

import h5py
import numpy as np

from ..config.schema import SCHEMA
from ..errors import UserError
from ..files import atomic_path, regular_file
from ..resources import available_memory
from ..text import gigabytes, plural
from .dataset import Dataset
from .disk import PicturesOnDisk, fits_in_memory
from .formats import COMPRESSION, FITS

MAX_CLASSES = 10_000  # class names a file may list, or labels may imply without them
MAX_CLASS_NAME_BYTES = 1_000
FIT = "fit"  # the attribute of a pictures dataset naming its data.fit


def open_hdf5(path):
    path = Path(path)
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder, not an HDF5 file (a folder of pictures is data.format: folder)")
    regular_file(path, "data file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise UserError(f"{path}: not a readable HDF5 file ({e})") from None


def holds(f, key):
    """Whether ``key`` names something in an open file (a broken or looping link names nothing)."""
    try:
        return key in f
    except (KeyError, RuntimeError, OSError, ValueError):
        return False


def find_dataset(f, key, path, setting):
    """The dataset ``key`` of an open file, refused unless its data is stored in the file itself."""
    if not holds(f, key):
        have = ", ".join(sorted(f.keys())) or "nothing"
        raise UserError(f"{path}: no dataset {key!r} (the file has: {have}); set {setting} to its name")
    check_links(f, key, path)
    try:
        item = f[key]
    except (KeyError, RuntimeError, OSError, ValueError) as e:
        raise UserError(f"{path}: cannot open {key!r} ({str(e).splitlines()[0]})") from None
    if not isinstance(item, h5py.Dataset):
        raise UserError(f"{path}: {key!r} is a group, not a dataset")
    if item.is_virtual:
        raise UserError(
            f"{path}: dataset {key!r} is virtual (its data lies in other files); dnn reads only data stored in the file"
        )
    if item.external:
        raise UserError(
            f"{path}: dataset {key!r} keeps its data in external files; dnn reads only data stored in the file"
        )
    if item.shape is None:
        raise UserError(f"{path}: dataset {key!r} is empty (it has no dataspace)")
    if item.size and not item.id.get_storage_size():
        raise UserError(f"{path}: dataset {key!r} declares {item.size:,} values but stores none")
    if item.chunks is not None and item.size:
        expected = math.prod(-(-n // c) for n, c in zip(item.shape, item.chunks, strict=True))
        if item.id.get_num_chunks() < expected:
            # the chunks never written read as fill values: a small file declaring a large set
            raise UserError(
                f"{path}: dataset {key!r} declares {item.size:,} values but stores only part of them "
                f"({item.id.get_num_chunks():,} of {expected:,} chunks)"
            )
    return item


def check_links(f, key, path):
    """Every link on the way to ``key`` stays in the file: an external link would open another file."""
    group = f
    parts = [p for p in key.split("/") if p]
    for i, part in enumerate(parts):
        link = group.get(part, getlink=True)
        if isinstance(link, h5py.ExternalLink):
            raise UserError(
                f"{path}: {'/'.join(parts[: i + 1])!r} is a link to {link.filename}; dnn reads only data stored in the file"
            )
        if i < len(parts) - 1:
            try:
                group = group[part]
            except (KeyError, RuntimeError, OSError, ValueError):
                return  # find_dataset says it cannot be opened
            if not isinstance(group, h5py.Group):
                return


def read_dataset(f, key, path, setting, item=None):
    item = find_dataset(f, key, path, setting) if item is None else item
    needed, available = item.size * item.dtype.itemsize, available_memory()
    if available is not None and needed > available:
        raise UserError(
            f"{path}: dataset {key!r} holds {gigabytes(needed)}, more than the {gigabytes(available)} of memory available"
        )
    try:
        return item[()]
    except (OSError, ValueError, TypeError, RuntimeError) as e:
        raise UserError(f"{path}: cannot read dataset {key!r} ({e})") from None


def read_classes(f, key, path):
    """The class names in ``key``, or None when the file has none; the shape is checked before reading."""
    if not holds(f, key):
        return None
    item = find_dataset(f, key, path, "data.keys.classes")
    if item.ndim > 2 or item.size > MAX_CLASSES:
        raise UserError(f"{path}: {key!r} must list at most {MAX_CLASSES:,} class names, found shape {item.shape}")
    if item.dtype.kind == "S" and item.dtype.itemsize > MAX_CLASS_NAME_BYTES:
        raise UserError(
            f"{path}: {key!r} holds names of {item.dtype.itemsize:,} bytes; at most {MAX_CLASS_NAME_BYTES:,}"
        )
    return decode_classes(read_dataset(f, key, path, "data.keys.classes", item), path, key)


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


def read_labels(f, key, m, path, setting):
    """The ``m`` labels in ``key`` as int64, their shape and type checked before a value is read."""
    item = find_dataset(f, key, path, setting)
    shape = item.shape
    if len(shape) == 2 and 1 in shape:
        shape = (shape[0] * shape[1],)
    if len(shape) != 1:
        raise UserError(f"{path}: {key!r} must be a list of labels, found shape {item.shape}")
    if item.dtype.kind not in "iubf":
        raise UserError(f"{path}: {key!r} must hold whole-number class labels, found {item.dtype}")
    if shape[0] != m:
        raise UserError(f"{path}: {plural(m, 'picture')} but {plural(shape[0], 'label')} in {key!r}")
    y = np.asarray(read_dataset(f, key, path, setting, item)).reshape(m)
    if y.dtype.kind == "f" and not (np.all(np.isfinite(y)) and np.all(y == np.round(y))):
        raise UserError(f"{path}: {key!r} must hold whole-number class labels, found {y.dtype}")
    return y


def label_range(y):
    """(lowest, highest) label as Python ints, exact whatever the dtype: a uint64 stays positive, 1e20 whole."""
    return int(y.min()), int(y.max())


def checked_labels(y, classes, path, key):
    """Labels in 0..len(classes)-1 as int64; without class names the labels imply them (0, 1, ...)."""
    low, high = label_range(y)
    if classes is None:
        if low >= 0 and high >= MAX_CLASSES:
            raise UserError(
                f"{path}: labels in {key!r} go up to {high} with no class names ({MAX_CLASSES:,} classes at most)"
            )
        classes = [str(i) for i in range(max(high + 1, 2))] if low >= 0 else ["0", "1"]
    if low < 0 or high >= len(classes):
        raise UserError(
            f"{path}: labels in {key!r} must lie in 0..{len(classes) - 1} ({len(classes)} classes), found {low}..{high}"
        )
    return y.astype(np.int64), classes


IN_MEMORY = SCHEMA["data"]["in_memory"].default  # a set's place when no config says: the config's default


def load_hdf5(path, x_key, y_key, classes_key, settings, in_memory=IN_MEMORY, dtype=np.float64):
    """A checked ``Dataset`` from one HDF5 file; ``settings`` names the config keys for messages.

    ``in_memory``: True loads the pictures, False leaves them on disk (the file stays
    open), "auto" loads them when they fit (``disk.fits_in_memory`` for ``dtype``).
    Shapes are checked before anything is read, and only data stored in the file is read.
    """
    f = open_hdf5(path)
    try:
        x = find_dataset(f, x_key, path, settings[0])
        check_pictures(x, path, x_key)
        y = read_labels(f, y_key, x.shape[0], path, settings[1])
        classes = read_classes(f, classes_key, path)
        fit = read_fit(x, path, x_key)
        if in_memory == "auto":
            in_memory = fits_in_memory(x, dtype)
        x = read_dataset(f, x_key, path, settings[0], x) if in_memory else PicturesOnDisk(x)
    except BaseException:
        f.close()
        raise
    if in_memory:
        f.close()
    y, classes = checked_labels(y, classes, path, y_key)
    return Dataset(x, y, classes, str(path), fit=fit)


def read_fit(x, path, key):
    """How the pictures of dataset ``x`` were made to fit (its attribute ``FIT``), or None when it does not say."""
    try:
        value = x.attrs.get(FIT)
    except (OSError, TypeError, ValueError, KeyError) as e:  # an attribute of a type h5py cannot read
        raise UserError(f"{path}: {key!r} has an attribute {FIT!r} that cannot be read ({e})") from None
    if value is None:
        return None
    value = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if not isinstance(value, str) or value not in FITS:
        raise UserError(f"{path}: {key!r} says its pictures were fitted by {value!r}; dnn knows {', '.join(FITS)}")
    return value


def create_pictures(f, key, m, input_shape, compression="lzf", fit=None):
    """An HDF5 dataset for ``m`` uint8 pictures, stored as this module's docstring says; ``fit``, when given, is
    how they were made to fit."""
    pictures = f.create_dataset(
        key,
        shape=(m, *input_shape),
        maxshape=(None, *input_shape),
        dtype=np.uint8,
        chunks=(1, *input_shape),
        compression=COMPRESSION[compression][0],
        compression_opts=COMPRESSION[compression][1],
    )
    if fit is not None:
        pictures.attrs[FIT] = fit
    return pictures


def write_labels(f, split, labels):
    f.create_dataset(f"{split}_set_y", data=np.asarray(labels, dtype=np.int64))


def write_classes(f, classes):
    f.create_dataset("list_classes", data=encode_classes(classes))


def write_hdf5(path, split, pictures, labels, classes, compression="lzf"):
    """A file in the cat layout, atomically: ``<split>_set_x``, ``<split>_set_y``, ``list_classes``."""
    pictures = np.asarray(pictures, dtype=np.uint8)
    with atomic_path(path, output=True) as tmp, h5py.File(tmp, "w") as f:
        create_pictures(f, f"{split}_set_x", len(pictures), pictures.shape[1:], compression)[...] = pictures
        write_labels(f, split, labels)
        write_classes(f, classes)


def encode_classes(classes):
    """Class names as the cat files store them: UTF-8 bytes, one fixed-length string each."""
    return np.array([c.encode() for c in classes])
