"""The first layer's two big products on the cat job's shapes, in each operand order.

    python bench/products.py                                         # default threads
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python bench/products.py    # one thread
    python bench/products.py --batch 32                              # a shuffled mini-batch

X is held as rows, (m, n) = (209, 12288), as ``ArraySource`` keeps it; W1 is
(20, 12288), dZ1 (20, 209). Each product is timed in wall-clock milliseconds,
the median of 5 rounds of 10 calls, so run it on a quiet machine. PyTorch's CPU
products (torch.nn.Linear computes x W^T) are timed beside NumPy's when torch is
installed. This is what chose ``network.times``; the last two rows
ask whether reading each block of X once for the backward product of one
iteration and the forward product of the next would pay.

With ``--batch B`` the products take B rows gathered in a shuffled order, as
``ArraySource.take`` hands a mini-batch out, and three more rows time the gather
itself beside a plain copy of B contiguous rows (the least a copy of the batch
can cost) and a gather into a buffer kept from step to step.
"""

import argparse
import importlib.util
import statistics
import time
from functools import partial

import numpy as np
from rich.console import Console
from rich.table import Table

M, N, HIDDEN = 209, 12288, 20


def milliseconds(product, rounds=5, calls=10):
    product()
    medians = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            product()
        medians.append((time.perf_counter() - started) / calls * 1000)
    return statistics.median(medians)


BLOCK = 1024


def products(rows, W, dZ):
    """name -> product, for NumPy arrays or torch tensors alike."""
    return {
        "forward W1 X (W1 @ rows.T)": lambda: W @ rows.T,
        "forward (rows W1^T)^T": lambda: (rows @ W.T).T,
        "backward dZ1 X^T (dZ1 @ rows)": lambda: dZ @ rows,
        "backward (X dZ1^T)^T": lambda: (rows.T @ dZ.T).T,
        "both, one after the other": lambda: (dZ @ rows, W @ rows.T),
        f"both, fused by {BLOCK} features": lambda: fused(rows, W, dZ),
    }


def fused(rows, W, dZ):
    """dW1 = dZ1 X^T and the next Z1 = W1 X block by block of features, each block of X read once."""
    Z = 0
    dW = []
    for start in range(0, rows.shape[1], BLOCK):
        block = rows[:, start : start + BLOCK]
        dW.append(dZ @ block)
        Z = Z + W[:, start : start + BLOCK] @ block.T
    return dW, Z


def torch_index_select(*args, **kwargs):
    return importlib.import_module("torch").index_select(*args, **kwargs)


def gathers(rows, indices, kept):
    """name -> a mini-batch gathered from all the rows, for NumPy arrays or torch tensors alike."""
    batch = len(indices)
    if isinstance(rows, np.ndarray):
        copy, into_kept = rows[:batch].copy, partial(np.take, rows, indices, axis=0, out=kept)
    else:
        copy, into_kept = rows[:batch].clone, partial(torch_index_select, rows, 0, indices, out=kept)
    return {
        f"gather {batch} rows (fancy indexing)": lambda: rows[indices],
        f"copy {batch} contiguous rows": copy,
        f"gather {batch} rows into a kept buffer": into_kept,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, help="the products on B shuffled rows, and the gather itself")
    batch = parser.parse_args(argv).batch
    rng = np.random.default_rng(0)
    torch = importlib.import_module("torch") if importlib.util.find_spec("torch") else None
    title = "first-layer products" + (f" on a shuffled batch of {batch}" if batch else "") + ", ms per call"
    table = Table(title=title, title_justify="left")
    for name in ("product", "dtype", "NumPy (OpenBLAS)", "PyTorch" if torch else None):
        if name:
            table.add_column(name, justify="left" if name in ("product", "dtype") else "right")
    for dtype in (np.float64, np.float32):
        rows = rng.random((M, N)).astype(dtype)
        W = rng.normal(size=(HIDDEN, N)).astype(dtype)
        if batch is None:
            dZ = rng.normal(size=(HIDDEN, M)).astype(dtype)
            mine = products(rows, W, dZ)
            theirs = products(*(torch.from_numpy(a) for a in (rows, W, dZ))) if torch else {}
        else:
            indices = rng.permutation(M)[:batch]
            dZ = rng.normal(size=(HIDDEN, batch)).astype(dtype)
            kept = np.empty((batch, N), dtype)
            mine = {**products(rows[indices], W, dZ), **gathers(rows, indices, kept)}
            if torch:
                rows_t, W_t, dZ_t, indices_t, kept_t = map(torch.from_numpy, (rows, W, dZ, indices, kept.copy()))
                theirs = {**products(rows_t[indices_t], W_t, dZ_t), **gathers(rows_t, indices_t, kept_t)}
        # one library after the other: each one's idle threads spin for a while after a product,
        # and would take the cores from the other's threads if the two took turns
        timings = [{name: milliseconds(product) for name, product in side.items()} for side in (mine, theirs)]
        for name in mine:
            table.add_row(name, np.dtype(dtype).name, *(f"{side[name]:.2f}" for side in timings if side))
    Console(highlight=False).print(table)


if __name__ == "__main__":
    main()
