"""The first layer's two big products on the cat job's shapes, in each operand order.

    python bench/products.py                                         # default threads
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python bench/products.py    # one thread

X is held as rows, (m, n) = (209, 12288), as ``ArraySource`` keeps it; W1 is
(20, 12288), dZ1 (20, 209). Each product is timed in wall-clock milliseconds,
the median of 5 rounds of 10 calls, so run it on a quiet machine. PyTorch's CPU
products (torch.nn.Linear computes x W^T) are timed beside NumPy's when torch is
installed. This is what chose ``network.times``; the last two rows
ask whether reading each block of X once for the backward product of one
iteration and the forward product of the next would pay.
"""

import importlib.util
import statistics
import time

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


def main():
    rng = np.random.default_rng(0)
    torch = importlib.import_module("torch") if importlib.util.find_spec("torch") else None
    table = Table(title="first-layer products, ms per call", title_justify="left")
    for name in ("product", "dtype", "NumPy (OpenBLAS)", "PyTorch" if torch else None):
        if name:
            table.add_column(name, justify="left" if name in ("product", "dtype") else "right")
    for dtype in (np.float64, np.float32):
        rows = rng.random((M, N)).astype(dtype)
        W = rng.normal(size=(HIDDEN, N)).astype(dtype)
        dZ = rng.normal(size=(HIDDEN, M)).astype(dtype)
        mine = products(rows, W, dZ)
        theirs = products(*(torch.from_numpy(a) for a in (rows, W, dZ))) if torch else {}
        for name, product in mine.items():
            cells = [name, np.dtype(dtype).name, f"{milliseconds(product):.2f}"]
            if torch:
                cells.append(f"{milliseconds(theirs[name]):.2f}")
            table.add_row(*cells)
    Console(highlight=False).print(table)


if __name__ == "__main__":
    main()
