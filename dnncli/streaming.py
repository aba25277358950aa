"""Data sets bigger than memory: pictures read from an HDF5 file a batch at a time.

``PicturesOnDisk`` stands for the pictures of one HDF5 dataset, or some of them:
indexing it with example numbers gives a view (nothing is read), ``read`` reads.
``DiskSource`` hands the engine's ``Trainer`` its mini-batches from such a set,
read and scaled one batch at a time, so memory follows the batch size, not the
number of examples.

Reads go in file order: h5py's fancy indexing needs increasing indices (and is
slow for a long list), so the wanted examples are sorted, read as runs of
consecutive examples (one read per run) and put back in the order asked for. In
a file written by ``dnn data import`` every picture is a chunk of its own, so a
shuffled batch decompresses exactly the pictures it uses, once each.
"""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .engine import ArraySource
from .resources import available_memory

MEMORY_SHARE = 0.5  # data.in_memory: auto loads a set when it needs at most this share of the available memory


class PicturesOnDisk:
    """Examples ``indices`` (all by default) of an open HDF5 dataset of pictures, (m, *input_shape)."""

    def __init__(self, dataset, indices=None):
        self.dataset = dataset
        self.indices = np.arange(dataset.shape[0]) if indices is None else np.asarray(indices)

    @property
    def shape(self):
        return (len(self.indices), *self.dataset.shape[1:])

    @property
    def dtype(self):
        return self.dataset.dtype

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, indices):
        return PicturesOnDisk(self.dataset, self.indices[indices])

    def read(self, indices=None):
        """The pictures (all of this view, or its ``indices``) as an array, in the order asked for."""
        wanted = self.indices if indices is None else self.indices[indices]
        order = np.argsort(wanted, kind="stable")
        ascending = wanted[order]
        out = np.empty((len(wanted), *self.dataset.shape[1:]), dtype=self.dataset.dtype)
        if len(wanted) == 0:
            return out
        # runs of consecutive examples, ascending[begin:end], each read at once
        begins = np.flatnonzero(np.diff(ascending, prepend=-2) != 1)
        ends = np.append(begins[1:], len(ascending))
        for begin, end in zip(begins, ends, strict=True):
            first = int(ascending[begin])
            out[order[begin:end]] = self.dataset[first : first + end - begin]
        return out


class DiskSource:
    """The engine's source of examples (``m``, ``take``, ``everything``) for a ``Dataset`` on disk.

    A batch is read and scaled by ``Dataset.rows``, the same function that scales a
    set in memory, so both give the network the very same numbers.

    The trainer says which batch comes next (``will_take``), and a thread reads it
    while the network works on the current one: h5py lets go of the GIL while HDF5
    reads and decompresses, and NumPy's products do too. One batch is read ahead, so
    memory holds two batches at most.
    """

    def __init__(self, dataset, targets, dtype):
        self.dataset = dataset
        self.targets = targets
        self.dtype = dtype
        self.m = dataset.m
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dnn-read-ahead")
        self._ahead = None  # (indices, future of their rows)

    def everything(self):
        return self.dataset.rows(self.dtype).T, self.targets

    def read(self, indices):
        return self.dataset.subset(indices).rows(self.dtype)

    def will_take(self, indices):
        self._ahead = (indices, self._reader.submit(self.read, indices))

    def take(self, indices):
        ahead, self._ahead = self._ahead, None
        if ahead is not None and np.array_equal(ahead[0], indices):
            rows = ahead[1].result()
        else:
            if ahead is not None:
                ahead[1].cancel()
            rows = self.read(indices)
        return rows.T, self.targets[:, indices]


def example_source(dataset, targets, dtype):
    """Training examples for the engine: scaled rows in memory, or read from disk a batch at a time."""
    if dataset.on_disk:
        return DiskSource(dataset, targets, dtype)
    return ArraySource(dataset.rows(dtype), targets)


def memory_needed(pictures, dtype):
    """Bytes a set takes in memory for training: its uint8 pictures and their scaled rows in ``dtype``."""
    values = int(np.prod(pictures.shape))
    return values * (pictures.dtype.itemsize + np.dtype(dtype).itemsize)


def fits_in_memory(pictures, dtype, available=None):
    """``data.in_memory: auto``: whether a set needs at most half the available memory."""
    available = available_memory() if available is None else available
    return available is None or memory_needed(pictures, dtype) <= MEMORY_SHARE * available
