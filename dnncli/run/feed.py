"""The training examples a run hands the engine: scaled rows in memory, or read from disk a batch at a time,
so memory follows the batch size, not the number of examples."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..data.augment import augment_pictures
from ..data.dataset import scale_pixels
from ..engine import ArraySource

AUGMENT_STREAM = 4  # the random stream of data.augment, beside shuffling (0), dropout (1), validation (2)


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


class AugmentedSource:
    """The engine's source of training pictures augmented afresh at every iteration (``data.augment``).

    The trainer says which iteration comes (``at``, the engine's ``Varies``); a batch's pictures
    are augmented with a generator seeded by the run's seed and that iteration, then scaled
    by the one scaling, so a resumed run sees the very pictures it would have seen. A set on
    disk is read when a batch is asked for (no read-ahead).
    """

    def __init__(self, dataset, targets, dtype, augment, seed):
        self.dataset = dataset
        self.targets = targets
        self.dtype = dtype
        self.augment = dict(augment)
        self.seed = seed
        self.m = dataset.m
        self.iteration = 0

    def at(self, iteration):
        self.iteration = iteration

    def augmented(self, pixels):
        rng = np.random.default_rng([self.seed, AUGMENT_STREAM, self.iteration])
        pictures = augment_pictures(pixels, rng, **self.augment)
        return scale_pixels(pictures.reshape(len(pictures), -1), self.dtype).T

    def everything(self):
        return self.augmented(self.dataset.pixels()), self.targets

    def take(self, indices):
        return self.augmented(self.dataset.subset(indices).pixels()), self.targets[:, indices]


def example_source(dataset, targets, dtype, augment=None, seed=0):
    """Training examples for the engine: scaled rows in memory, or read from disk a batch at a time;
    with ``augment`` (``data.augment``'s settings), pictures augmented afresh at every iteration."""
    if augment is not None:
        return AugmentedSource(dataset, targets, dtype, augment, seed)
    if dataset.on_disk:
        return DiskSource(dataset, targets, dtype)
    return ArraySource(dataset.rows(dtype), targets)
