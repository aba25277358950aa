"""The training examples a run hands the engine: scaled rows in memory, or read from disk a batch at a time,
so memory follows the batch size, not the number of examples."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..data.augment import augment_pictures
from ..data.dataset import scale_pixels
from ..engine import ArraySource
from ..engine.trainer import PieceOrder
from ..model.score import targets_of

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


class PieceSource:
    """The engine's source for a table read from disk a piece at a time (``streamed.StreamedSet``).

    It gives the trainer its own order (``batch_order``: the engine's ``PieceOrder`` over its pieces, a window
    of ``WINDOW_PIECES`` pieces at a time), and keeps in memory only the pieces of the windows in play,
    encoded by the table's encoder as a table in memory is: those the current batch draws from, and those of
    the window after it, which a thread reads and encodes while the network works on this one's batches
    (pyarrow and NumPy let go of the GIL). So memory follows the window, not the table.
    """

    def __init__(self, dataset, net, dtype):
        self.dataset = dataset
        self.net = net
        self.dtype = dtype
        self.m = dataset.m
        self.order = None
        self.pieces = {}  # piece -> (rows (n, features), targets (outputs, n)) in memory
        self.keep = set()  # pieces of the windows in play
        self.coming = []  # (pieces, future of their {piece: (rows, targets)}) being read by the thread
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dnn-read-ahead")

    def batch_order(self, seed, batch_size):
        piece = self.dataset.piece_rows
        self.order = PieceOrder(seed, self.m, batch_size, piece, self.dataset.window_pieces)
        return NoticedOrder(self.order, self)

    def encoded(self, pieces):
        """{piece: (rows, targets)} of ``pieces``, read and encoded at once."""
        part = self.dataset.read(pieces, self.dtype)
        rows, targets = part.rows(self.dtype), targets_of(self.net, part, self.dtype)
        ends = np.cumsum([min(self.dataset.piece_rows, self.m - p * self.dataset.piece_rows) for p in pieces])
        starts = np.concatenate([[0], ends[:-1]])
        return {int(p): (rows[a:b], targets[:, a:b]) for p, a, b in zip(pieces, starts, ends, strict=True)}

    def noticed(self, iteration):
        """The trainer asks for ``iteration``'s batch: keep the pieces of its windows and the next, and start
        reading those of the next."""
        windows, after = self.order.windows_of(iteration)
        now = {int(p) for epoch, j in windows for p in self.order.window_pieces(epoch, j)}
        ahead = {int(p) for p in self.order.window_pieces(*after)}
        self.keep = now | ahead
        self.read_ahead(ahead)

    def read_ahead(self, pieces):
        pending = {p for wanted, _ in self.coming for p in wanted}
        missing = sorted(pieces - self.pieces.keys() - pending)
        if missing:
            self.coming.append((set(missing), self._reader.submit(self.encoded, missing)))

    def arrived(self, needed=()):
        """Pieces the thread has read (waiting for those ``needed``), kept; those out of play let go."""
        for wanted, future in list(self.coming):
            if future.done() or wanted & set(needed):
                self.pieces.update(future.result())
                self.coming.remove((wanted, future))
        for piece in [p for p in self.pieces if p not in self.keep and p not in needed]:
            del self.pieces[piece]

    def take(self, indices):
        owner = indices // self.dataset.piece_rows
        needed = {int(p) for p in np.unique(owner)}
        self.arrived(needed)
        missing = sorted(needed - self.pieces.keys())
        if missing:
            self.pieces.update(self.encoded(missing))
        X = np.empty((len(indices), self.dataset.features), dtype=self.dtype)
        Y = np.empty((self.net.layers[-1], len(indices)), dtype=self.dtype, order="F")  # as a set in memory gives
        for piece in needed:
            rows, targets = self.pieces[piece]
            at = np.flatnonzero(owner == piece)
            within = indices[at] - piece * self.dataset.piece_rows
            X[at] = rows[within]
            Y[:, at] = targets[:, within]
        return X.T, Y

    def will_take(self, indices):
        self.read_ahead({int(p) for p in np.unique(indices // self.dataset.piece_rows)})

    def everything(self):
        part = self.dataset.read(range(self.dataset.pieces.count), self.dtype)
        return part.rows(self.dtype).T, targets_of(self.net, part, self.dtype)


class NoticedOrder:
    """A ``PieceOrder`` that tells its source which iteration's batch is asked for."""

    def __init__(self, order, source):
        self.order = order
        self.source = source
        self.full = order.full

    def indices(self, iteration):
        self.source.noticed(iteration)
        return self.order.indices(iteration)


def training_source(net, dataset, dtype, augment=None, seed=0):
    """The training examples of ``dataset`` for the engine: ``example_source``, or a ``PieceSource`` for a table
    read from disk a piece at a time (its targets come with its pieces)."""
    if hasattr(dataset, "piece_rows"):
        return PieceSource(dataset, net, dtype)
    return example_source(dataset, targets_of(net, dataset, dtype), dtype, augment, seed)


def example_source(dataset, targets, dtype, augment=None, seed=0):
    """Training examples for the engine: scaled rows in memory, or read from disk a batch at a time;
    with ``augment`` (``data.augment``'s settings), pictures augmented afresh at every iteration."""
    if augment is not None:
        return AugmentedSource(dataset, targets, dtype, augment, seed)
    if dataset.on_disk:
        return DiskSource(dataset, targets, dtype)
    return ArraySource(dataset.rows(dtype), targets)
