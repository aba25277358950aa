"""Training from an HDF5 file bigger than it is sensible to load: peak memory and throughput.

    python bench/streaming.py                  # a 2 GB file; deleted afterwards
    python bench/streaming.py --gigabytes 0.3  # quicker, for trying things
    python bench/streaming.py --keep --dir /big/disk

Makes an HDF5 set of at least ``--gigabytes`` on disk, stored as ``dnn data import``
stores pictures (``folders.create_pictures``), from the built-in demo pictures
turned, shifted, brightened and sprinkled with noise. Then three runs of the real
``dnn train`` code (``train.start``), each in a process of its own, training the
cat network [12288, 20, 7, 5, 1] in mini-batches of 256:

- one epoch streaming the whole file (``data.in_memory: false``),
- ``--subset-epochs`` epochs of the first ``--subset`` examples in memory
  (``data.in_memory: true``),
- the same streamed, for a like-for-like ratio.

The two subset runs take turns ``--repeat`` times and their medians are
reported, since other processes on the machine make single runs noisy;
``--quiet-below L`` waits before each run until the one-minute load average is
below L (at most ``--max-wait`` seconds), and every run records the load it met.
On a busy machine BLAS's own threads make the times swing most (they wait for
one another while other processes hold the cores): ``--blas-threads 1`` runs
every worker on one BLAS thread, the steadiest comparison.

First, ``storage_costs`` compares how import could store pictures: LZF, gzip,
or no compression, one picture a chunk, on the course's cat pictures when they
are found (else the demo's): the size, and the time to read a picture in
shuffled batches of 256 as training does, and in order.

Peak memory is the worker's own high-water mark, ``VmHWM`` in /proc/self/status
(not ``ru_maxrss`` seen from here: Linux counts into it what a child held between
fork and exec, a copy of this bigger process). Throughput is examples per second
of the training loop (the first to the last step), without loading the set
before it and scoring it after.
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import yaml

from dnncli.config import load as configs
from dnncli.data.demo import CLASSES, SEED, SIZE, pictures
from dnncli.data.disk import PicturesOnDisk
from dnncli.data.formats import COMPRESSION
from dnncli.data.hdf5 import create_pictures, encode_classes
from dnncli.report.progress import QuietReporter
from dnncli.run import train
from dnncli.run.signals import StopSignals

ROOT = Path(__file__).resolve().parents[1]

BLOCK = 2048  # pictures made and written at a time
SHAPE = (SIZE, SIZE, 3)
BATCH = 256


def base_pictures(count=600):
    rng = np.random.default_rng([SEED, 99])
    labels = rng.permutation(np.arange(count) % 2)
    return pictures(labels, 2, rng), labels


def perturbed(base, labels, rng):
    """A block of BLOCK pictures: random bases, half mirrored, the block shifted, each brightened, with noise."""
    chosen = rng.integers(0, len(base), size=BLOCK)
    block = base[chosen]
    mirrored = rng.random(BLOCK) < 0.5
    block[mirrored] = block[mirrored, :, ::-1]
    block = np.roll(block, tuple(rng.integers(-4, 5, size=2)), axis=(1, 2)).astype(np.int16)
    block += rng.integers(-20, 21, size=(BLOCK, 1, 1, 1), dtype=np.int16)
    block += rng.integers(-3, 4, size=block.shape, dtype=np.int16)
    return np.clip(block, 0, 255).astype(np.uint8), labels[chosen]


def generate(path, gigabytes, compression="lzf"):
    """Writes blocks until the file holds at least ``gigabytes`` on disk; returns the number of examples."""
    base, base_labels = base_pictures()
    rng = np.random.default_rng([SEED, 100])
    labels = []
    with h5py.File(path, "w") as f:
        x = create_pictures(f, "train_set_x", 0, SHAPE, compression)
        while f.id.get_filesize() < gigabytes * 1e9:
            block, block_labels = perturbed(base, base_labels, rng)
            m = x.shape[0]
            x.resize(m + BLOCK, axis=0)
            x[m:] = block
            labels.append(block_labels)
        f.create_dataset("train_set_y", data=np.concatenate(labels).astype(np.int64))
        f.create_dataset("list_classes", data=encode_classes(CLASSES))
        return x.shape[0]


def copy_first(source, path, count, compression="lzf"):
    with h5py.File(source, "r") as f, h5py.File(path, "w") as g:
        x = create_pictures(g, "train_set_x", count, SHAPE, compression)
        for start in range(0, count, BLOCK):
            x[start : start + BLOCK] = f["train_set_x"][start : min(start + BLOCK, count)]
        g.create_dataset("train_set_y", data=f["train_set_y"][:count])
        g.create_dataset("list_classes", data=f["list_classes"][()])


def cat_pictures():
    """The course's 209 cat training pictures where the tests look for them, else None."""
    for folder in (os.environ.get("DNN_CAT_DATA"), ROOT / "data" / "cat", ROOT.parent / "shared" / "data" / "cat"):
        path = Path(folder or "") / "train_catvnoncat.h5"
        if folder and path.exists():
            with h5py.File(path, "r") as f:
                return f["train_set_x"][()], "the course's cat pictures"
    return base_pictures()[0], "the demo pictures"


def storage_costs(folder, count=2560, rounds=3):
    """Per compression: size on disk against the raw pixels, microseconds a picture read shuffled and in order."""
    pictures, source = cat_pictures()
    pictures = np.resize(pictures, (count, *pictures.shape[1:]))
    order = np.random.default_rng(0).permutation(count)
    rows = []
    for compression in COMPRESSION:
        path = folder / f"storage-{compression}.h5"
        with h5py.File(path, "w") as f:
            create_pictures(f, "x", count, SHAPE, compression)[:] = pictures
        with h5py.File(path, "r") as f:
            on_disk = PicturesOnDisk(f["x"])
            shuffled = best_of(rounds, read_batches, on_disk, order)
            in_order = best_of(rounds, read_batches, on_disk, np.arange(count))
        size = path.stat().st_size / pictures.nbytes
        rows.append((compression, size, shuffled / count * 1e6, in_order / count * 1e6))
        path.unlink()
    print(f"storage, on {count} of {source} (one picture a chunk; best of {rounds}):")
    for name, size, shuffled, in_order in rows:
        print(
            f"  {name:5} size {size:.2f} of the pixels, read {shuffled:5.1f} us a picture shuffled, {in_order:5.1f} in order"
        )
    return rows


def read_batches(on_disk, order):
    for k in range(0, len(order), BATCH):
        on_disk.read(order[k : k + BATCH])


def best_of(rounds, work, *args):
    """The shortest of ``rounds`` timings of ``work(*args)``, in seconds."""
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        work(*args)
        times.append(time.perf_counter() - began)
    return min(times)


class Clock(QuietReporter):
    """A reporter that only notes when the loop starts and when its last step ends."""

    def start(self, total, done, *rest):
        self.started = self.last = time.perf_counter()

    def update(self, iteration, cost):
        self.last = time.perf_counter()


def worker(config_path):
    """One training run in this process; its timings as JSON on stdout."""
    began = time.perf_counter()
    config = configs.load(config_path)
    clock = Clock()
    with StopSignals() as stop:
        run = train.start(config, clock, stop)
    ended = time.perf_counter()
    loop = clock.last - clock.started
    final = run.final
    examples = final["train"]["examples"] * config["training"]["epochs"]
    result = {
        "examples": examples,
        "iterations": run.iterations_done,
        "on_disk": config["data"]["in_memory"] is False,
        "setup_s": clock.started - began,
        "loop_s": loop,
        "score_and_save_s": ended - clock.last,
        "examples_per_s": examples / loop,
        "train_accuracy": final["train"]["accuracy"],
        "peak_mb": peak_memory() / 2**20,
    }
    print(json.dumps(result))


def peak_memory():
    """This process's peak resident memory in bytes (Linux)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise SystemExit("no VmHWM in /proc/self/status: the benchmark measures memory on Linux")


def wait_for_quiet(below, max_wait):
    """Waits until the one-minute load average is below ``below`` or ``max_wait`` seconds have passed."""
    deadline = time.monotonic() + max_wait
    while below is not None and os.getloadavg()[0] >= below and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def run_worker(folder, name, data_file, in_memory, epochs, blas_threads=None):
    config = {
        "name": name,
        "seed": 1,
        "data": {"train": str(data_file), "in_memory": in_memory},
        "model": {"layers": [12288, 20, 7, 5, 1]},
        "training": {
            "learning_rate": 0.0075,
            "epochs": epochs,
            "batch_size": BATCH,
            "log_every": 10**9,
            "checkpoint_every": None,
        },
        "output": {"dir": str(folder / "runs")},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config))
    env = dict(os.environ)
    if blas_threads:
        env.update({name: str(blas_threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    child = subprocess.run(
        [sys.executable, __file__, "--worker", str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    if child.returncode != 0:
        raise SystemExit(f"{name}: the worker failed (exit code {child.returncode})")
    return json.loads(child.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gigabytes", type=float, default=2.0, help="size of the file on disk (default 2)")
    parser.add_argument("--subset", type=int, default=10_000, help="examples of the in-memory run (default 10000)")
    parser.add_argument("--compression", choices=list(COMPRESSION), default="lzf", help="of the files (default lzf)")
    parser.add_argument("--subset-epochs", type=int, default=5, help="epochs of the subset runs (default 5)")
    parser.add_argument("--repeat", type=int, default=3, help="turns of the two subset runs (default 3)")
    parser.add_argument("--blas-threads", type=int, help="BLAS threads of the workers (default: the library's own)")
    parser.add_argument("--quiet-below", type=float, help="wait for a one-minute load average below this")
    parser.add_argument("--max-wait", type=float, default=600, help="seconds to wait for quiet at most (default 600)")
    parser.add_argument("--dir", help="where the files go (default: a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the files")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)

    sys.stdout.reconfigure(line_buffering=True)  # progress shows in a log file too
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the files are deleted on kill too
    folder = Path(tempfile.mkdtemp(prefix="dnn-streaming-", dir=args.dir))
    needed = args.gigabytes * 1e9 * 1.1 + args.subset * np.prod(SHAPE)
    free = shutil.disk_usage(folder).free
    if free < needed + 1e9:  # and a gigabyte to spare
        shutil.rmtree(folder)
        raise SystemExit(
            f"{folder.parent}: {free / 1e9:.1f} GB free; the benchmark needs {needed / 1e9:.1f} GB and 1 to spare"
        )
    big, small = folder / "big.h5", folder / "subset.h5"
    try:
        storage = storage_costs(folder)
        began = time.perf_counter()
        m = generate(big, args.gigabytes, args.compression)
        seconds = time.perf_counter() - began
        size = big.stat().st_size
        print(
            f"generated {big}: {m} examples, {size / 1e9:.2f} GB on disk in {seconds:.0f}s ({size / 1e6 / seconds:.0f} MB/s)"
        )
        copy_first(big, small, args.subset, args.compression)
        turns = [
            ("subset-in-memory", small, True, args.subset_epochs),
            ("subset-streamed", small, False, args.subset_epochs),
        ]
        runs = {}
        for name, data_file, in_memory, epochs in [*turns * args.repeat, ("whole-file-streamed", big, False, 1)]:
            load = wait_for_quiet(args.quiet_below, args.max_wait)
            r = {**run_worker(folder, name, data_file, in_memory, epochs, args.blas_threads), "load_average": load}
            runs.setdefault(name, []).append(r)
            print(
                f"{name:20} {r['examples']:>7} examples seen  {r['examples_per_s']:7.0f} examples/s  "
                f"peak {r['peak_mb']:6.0f} MB  (set-up {r['setup_s']:.1f}s, loop {r['loop_s']:.1f}s, "
                f"score and save {r['score_and_save_s']:.1f}s; load average {load:.1f} before)"
            )
        speed = {name: statistics.median(r["examples_per_s"] for r in results) for name, results in runs.items()}
        peak = {name: max(r["peak_mb"] for r in results) for name, results in runs.items()}
        print()
        for name, results in runs.items():
            print(f"{name:20} median {speed[name]:7.0f} examples/s  peak {peak[name]:6.0f} MB  ({len(results)} runs)")
        print(f"in memory / streamed, the same subset: {speed['subset-in-memory'] / speed['subset-streamed']:.2f}")
        print(
            f"in memory (subset) / streamed (whole file): {speed['subset-in-memory'] / speed['whole-file-streamed']:.2f}"
        )
        summary = {"file_gb": size / 1e9, "examples": m, "generate_s": seconds, "storage": storage}
        summary.update(blas_threads=args.blas_threads, compression=args.compression)
        print(json.dumps({**summary, "median_examples_per_s": speed, "peak_mb": peak, "runs": runs}))
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
