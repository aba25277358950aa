"""A labelled data set of uint8 pictures, in memory or on disk, and the one pixel scaling."""

import hashlib
import os
from dataclasses import dataclass

import numpy as np

from ..config.build import DataShape
from ..errors import UserError
from .disk import PicturesOnDisk

PIXEL_SCALE = 255.0  # pixels are divided by this before they reach the network
READ_BATCH = 32  # examples at a time when a set is scored or classified: bounds the memory of a scaled copy
FINGERPRINT_PICTURES = 16  # pictures, evenly spaced, that a set's fingerprint reads beside all its labels


@dataclass
class Dataset:
    pictures: object  # (m, *input_shape) uint8: an array, or ``PicturesOnDisk`` read when needed
    labels: np.ndarray  # (m,), int64
    classes: list
    path: str  # the file or folder it was read from
    files: list = None  # for a folder set, each example's file relative to ``path`` ("cat/001.jpg")
    fit: str = None  # how its pictures were made the set's size (data.fit), where known: a folder set's, an import's

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

    @property
    def counts(self):
        """Examples of each class."""
        return np.bincount(self.labels, minlength=len(self.classes))

    def data_shape(self):
        shape = "x".join(str(s) for s in self.input_shape)
        return DataShape(
            self.features, len(self.classes), False, f"the flattened input, {shape} = {self.features}", str(self.path)
        )

    def pixels(self):
        """The pictures as a uint8 array (read from the file for a set on disk)."""
        return self.pictures.read() if self.on_disk else self.pictures

    def rows(self, dtype=np.float64):
        """Examples as scaled rows, (m, features): exactly what the network sees."""
        return scale_pixels(self.pixels().reshape(self.m, -1), dtype)

    def subset(self, indices):
        """Some of the examples: a copy in memory, a view on disk."""
        files = None if self.files is None else [self.files[i] for i in np.asarray(indices)]
        return Dataset(self.pictures[indices], self.labels[indices], self.classes, self.path, files, self.fit)

    def parts(self):
        """The set ``READ_BATCH`` examples at a time, in order: views of a set on disk, copies of one in memory.

        Scoring a part at a time keeps one part's scaled copy in memory, not the whole set's.
        """
        for start in range(0, self.m, READ_BATCH):
            yield self.subset(np.arange(start, min(start + READ_BATCH, self.m)))


@dataclass
class Sets:
    """The sets a run trains, validates and tests on (None for one it has not), what tells its training set from
    another (``identity``, ``encoding.table_identity``), and a table's fitted encoder (None for pictures)."""

    train: object
    validation: object
    test: object
    identity: dict
    encoder: object = None


VALIDATION_STREAM = 2  # the random stream of training.validation_fraction, beside shuffling (0) and dropout (1)
TEST_STREAM = 5  # the random stream of a table's data.test_fraction, beside validation's


def held_out(m, fraction, seed):
    """(kept, held out) indices of ``m`` examples: ``fraction`` of them (at least one, never all) held out, chosen
    by the seed; both in order. ``training.validation_fraction``'s split, for pictures and tables alike."""
    count = min(max(1, round(fraction * m)), m - 1)
    order = np.random.default_rng([seed, VALIDATION_STREAM]).permutation(m)
    return np.sort(order[count:]), np.sort(order[:count])


def identity(dataset):
    """What tells a data set from another, cheaply: its path, size on disk, examples and a fingerprint.

    The fingerprint hashes every label, the classes, the picture shape and ``FINGERPRINT_PICTURES`` pictures
    spread over the set, so it reads a few pictures of a big set on disk, not the set.
    """
    path = dataset.path
    try:
        size = os.path.getsize(path) if os.path.isfile(path) else None
    except OSError:
        size = None
    sample = np.unique(np.linspace(0, max(dataset.m - 1, 0), min(FINGERPRINT_PICTURES, dataset.m)).astype(np.int64))
    digest = hashlib.sha256()
    digest.update(repr((list(dataset.classes), dataset.input_shape, dataset.m)).encode("utf-8"))
    digest.update(np.ascontiguousarray(dataset.labels, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(dataset.subset(sample).pixels()).tobytes())
    return {"path": str(path), "size": size, "examples": dataset.m, "fingerprint": digest.hexdigest()[:16]}


def scale_pixels(pixels, dtype=np.float64, divide_by=PIXEL_SCALE):
    """uint8 pixels to the network's input scale; the one place scaling happens.

    A checkpoint records ``divide_by`` in its header, so prediction scales as its training did.
    """
    rows = pixels.astype(dtype)
    rows /= dtype(divide_by)  # in place: one float copy of the pictures at a time, not two
    return rows


def check_same_classes(train, test):
    if (
        test is not None
        and test.classes != train.classes
        and test.classes != [str(i) for i in range(len(test.classes))]
    ):
        raise UserError(f"{test.path}: classes {test.classes} differ from the training set's {train.classes}")
    if test is not None and test.labels.size and test.labels.max() >= len(train.classes):
        raise UserError(
            f"{test.path}: labels go up to {test.labels.max()}, the training set has {len(train.classes)} classes"
        )
    if test is not None and test.input_shape != train.input_shape:
        raise UserError(f"{test.path}: pictures are {test.input_shape}, the training set's are {train.input_shape}")
