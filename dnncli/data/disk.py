"""Data sets bigger than memory: pictures left in an HDF5 file and read when needed, and the rule that
decides which sets stay on disk.

``PicturesOnDisk`` stands for the pictures of one HDF5 dataset, or some of them:
indexing it with example numbers gives a view (nothing is read), ``read`` reads.

Reads go in file order: h5py's fancy indexing needs increasing indices (and is
slow for a long list), so the wanted examples are sorted, read as runs of
consecutive examples (one read per run) and put back in the order asked for. In
a file written by ``dnn data import`` every picture is a chunk of its own, so a
shuffled batch decompresses exactly the pictures it uses, once each.
"""

import numpy as np

from ..errors import UserError
from ..resources import MEMORY_SHARE, available_memory


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
            try:
                out[order[begin:end]] = self.dataset[first : first + end - begin]
            except (OSError, ValueError, TypeError, RuntimeError) as e:
                # a damaged chunk says so as it does when the set is loaded at once (hdf5.read_dataset)
                where, key = self.dataset.file.filename, self.dataset.name.lstrip("/")
                raise UserError(f"{where}: cannot read dataset {key!r} ({e})") from None
        return out


def memory_needed(pictures, dtype):
    """Bytes a set takes in memory for training: its uint8 pictures and their scaled rows in ``dtype``."""
    values = int(np.prod(pictures.shape))
    return values * (pictures.dtype.itemsize + np.dtype(dtype).itemsize)


def fits_in_memory(pictures, dtype, available=None):
    """``data.in_memory: auto``: whether a set needs at most half the available memory."""
    available = available_memory() if available is None else available
    return available is None or memory_needed(pictures, dtype) <= MEMORY_SHARE * available
