"""Tables side by side: reading a CSV into the network's inputs, an epoch of training beside PyTorch and
scikit-learn, and a 2 GB CSV streamed from disk.

    python bench/tables.py                        # all three parts (the 2 GB file is made, then deleted)
    python bench/tables.py --parts read,epoch     # without the 2 GB file
    python bench/tables.py --rows 200000 --repeats 5 --epochs 3

The table is generated (``generate``): ``--rows`` rows of ten numbers (one with 5% missing cells), three
category columns (4, 12 and 30 categories), a boolean and a yes/no label that depends on them; dnn encodes it
to 57 inputs. Every measurement is a fresh process (``--worker``), so its peak memory (``ru_maxrss`` of that
child) is its own; the systems take turns, ``--repeats`` times, and the medians are reported, with the
machine's load.

- read: CSV text to the encoded matrix, MB of CSV a second. dnn: the table a run trains on (``load_table_sets``:
  read, split, fitted, encoded), and its phases; beside pyarrow's ``read_csv`` alone (the floor under dnn's
  reading) and pandas' ``read_csv`` with scikit-learn's ``ColumnTransformer`` (the same encoding).
- epoch: seconds an epoch of [57, 256, 128, 1], ReLU, a sigmoid output, Adam (0.001), batches of 256, on the
  encoded rows. dnn: the ``dnn train`` loop (``train.start``), its table in memory and streamed from disk
  (one window, so the very batches of memory); PyTorch (CPU): the same first weights and the same batches
  in dnn's order, ``BCEWithLogitsLoss``; scikit-learn's ``MLPClassifier``: the same layers, adam, batches of
  256, one epoch per ``fit`` (``max_iter=1``, ``warm_start``), its own shuffle. Each epoch is timed; the
  first is left out (start-up: BLAS threads, torch's first calls).
- stream: a CSV of ``--stream-gigabytes`` (2) made in a temporary folder, one epoch of the same network
  streamed from it (``data.in_memory: false``), and its peak memory; the file is deleted afterwards.
"""

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
LAYERS = ["auto", 256, 128, 1]
BATCH = 256
RATE = 0.001
SEED = 1
CATEGORIES = {"city": 30, "device": 4, "plan": 12}
GENERATE_ROWS = 500_000  # rows made at a time


def generate(path, rows, seed=0, at_least=0):
    """A CSV of ``rows`` generated rows (see the module's doc), or more, until it holds ``at_least`` bytes;
    returns its size in bytes."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    rng = np.random.default_rng(seed)
    scales, shifts = rng.uniform(0.5, 100, 10), rng.uniform(-50, 50, 10)
    names = {column: pa.array([f"{column}{i}" for i in range(n)]) for column, n in CATEGORIES.items()}
    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(str(path), schema_of(pa), write_options=options) as writer:
        done = 0
        while done < rows or Path(path).stat().st_size < at_least:
            n = min(GENERATE_ROWS, rows - done) if done < rows else GENERATE_ROWS
            done += n
            x = np.round(rng.normal(size=(n, 10)) * scales + shifts, 3)
            codes = {column: rng.integers(0, k, n) for column, k in CATEGORIES.items()}
            member = rng.random(n) < 0.3
            score = x[:, 0] / 50 - x[:, 1] / 80 + (codes["device"] == 0) - (codes["plan"] % 3 == 1) + member
            label = np.where(score + rng.normal(0, 1, n) > 0.5, "yes", "no")
            columns = {f"x{i}": pa.array(x[:, i]) for i in range(10)}
            columns["x3"] = pa.array(x[:, 3], mask=rng.random(n) < 0.05)
            columns.update({c: pa.DictionaryArray.from_arrays(codes[c].astype(np.int32), names[c]) for c in CATEGORIES})
            columns["member"] = pa.array(member)
            columns["label"] = pa.array(label)
            writer.write_table(pa.table(columns).cast(schema_of(pa)))
    return Path(path).stat().st_size


def schema_of(pa):
    fields = [(f"x{i}", pa.float64()) for i in range(10)] + [(c, pa.string()) for c in CATEGORIES]
    return pa.schema(fields + [("member", pa.bool_()), ("label", pa.string())])


def config_of(csv, dtype, in_memory, epochs, folder, window=65_536):
    return {
        "name": "bench",
        "seed": SEED,
        "dtype": dtype,
        "data": {"train": str(csv), "target": "label", "in_memory": in_memory, "shuffle_window": window},
        "model": {"layers": LAYERS},
        "training": {
            "optimizer": "adam", "learning_rate": RATE, "batch_size": BATCH, "epochs": epochs,
            "log_every": 10**9, "checkpoint_every": None,
        },
        "output": {"dir": str(folder / "runs")},
    }  # fmt: skip


# --- the workers: one measurement in a process of its own, one JSON line out -------------------------------


def peak_mb():
    """This process's peak resident memory (VmHWM), MB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_dnn(csv, folder, dtype="float64"):
    """dnn's table for a run, in memory, a phase at a time as ``load_table_sets`` goes, encoded in ``dtype``."""
    from dnncli.config import load as configs
    from dnncli.data.encoding import TableSpec, encoded_set, fit_encoder
    from dnncli.data.table_sets import split_tables

    path = folder / "read.yaml"
    path.write_text(yaml.safe_dump(config_of(csv, dtype, True, 1, folder)))
    config = configs.load(path)
    marks = [time.perf_counter()]
    tables = split_tables(config)
    marks.append(time.perf_counter())
    encoder = fit_encoder(tables.train, TableSpec.of(config["data"]), tables.file)
    marks.append(time.perf_counter())
    train = encoded_set(tables.train, encoder, dtype=np.dtype(dtype).type)
    marks.append(time.perf_counter())
    read, fit, encode = np.diff(marks)
    return {"seconds": marks[-1] - marks[0], "read_s": read, "fit_s": fit, "encode_s": encode, "inputs": train.features}


def read_streamed(csv, folder):
    """dnn's one pass over a table read from disk (``data.in_memory: false``), then every training row
    encoded, a piece at a time, as training reads them (float64)."""
    from dnncli.config import load as configs
    from dnncli.data.table_sets import load_table_sets

    path = folder / "streamed.yaml"
    path.write_text(yaml.safe_dump(config_of(csv, "float64", False, 1, folder)))
    config = configs.load(path)
    began = time.perf_counter()
    train = load_table_sets(config, with_test=False).train
    passed = time.perf_counter()
    for first in range(0, train.pieces.count, 8):
        train.read(range(first, min(first + 8, train.pieces.count)))
    ended = time.perf_counter()
    return {"seconds": ended - began, "pass_s": passed - began, "encode_s": ended - passed, "inputs": train.features}


def read_pyarrow(csv, folder):
    import pyarrow.csv as pacsv

    began = time.perf_counter()
    pacsv.read_csv(csv)
    return {"seconds": time.perf_counter() - began}


def read_pandas(csv, folder):
    """pandas' reader and scikit-learn's encoding of the same columns (dense, float64, as dnn's)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    began = time.perf_counter()
    frame = pd.read_csv(csv)
    numbers = [f"x{i}" for i in range(10)]
    transformer = ColumnTransformer(
        [
            ("numbers", make_pipeline(StandardScaler(), SimpleImputer(strategy="constant", fill_value=0.0, add_indicator=True)), numbers),
            ("categories", OneHotEncoder(sparse_output=False, handle_unknown="ignore"), list(CATEGORIES)),
            ("member", "passthrough", ["member"]),
        ]
    )  # fmt: skip
    matrix = transformer.fit_transform(frame).astype(np.float64)
    (frame["label"] == "yes").to_numpy()
    return {"seconds": time.perf_counter() - began, "inputs": matrix.shape[1]}


class EpochClock:
    """A reporter that notes when each epoch of the loop ends."""

    def __init__(self, epochs):
        from dnncli.report.progress import QuietReporter

        self.reporter = QuietReporter()
        self.epochs = epochs
        self.marks = []

    def __getattr__(self, name):
        return getattr(self.reporter, name)

    def start(self, total, done, *rest):
        self.steps = total // self.epochs
        self.marks = [time.perf_counter()]

    def update(self, iteration, cost):
        if (iteration + 1) % self.steps == 0:
            self.marks.append(time.perf_counter())


def epoch_dnn(csv, folder, dtype, epochs, in_memory, own_threads=False):
    """Epochs of the ``dnn train`` loop (``train.start``), the table in memory or streamed from disk; with
    ``own_threads``, BLAS's own thread count for every step (``run.threads`` not limiting it)."""
    from dnncli.config import load as configs
    from dnncli.run import threads, train
    from dnncli.run.signals import StopSignals

    if own_threads:
        threads.ONE_THREAD_BELOW = 0

    path = folder / f"epoch-{in_memory}.yaml"
    path.write_text(yaml.safe_dump(config_of(csv, dtype, in_memory, epochs, folder)))
    config = configs.load(path)
    began = time.perf_counter()
    clock = EpochClock(epochs)
    with StopSignals() as stop:
        result = train.start(config, clock, stop)
    ended = time.perf_counter()
    return {
        "epoch_s": list(np.diff(clock.marks)),
        "seconds": ended - began,
        "train_accuracy": result.final["train"]["accuracy"],
        "train_cost": result.final["train"]["cost"],
        "fast_path": result.fast_path,
    }


def encoded_rows(csv, folder, dtype):
    """(network, first weights, rows (m, inputs), labels) of the table as dnn encodes it, for the peers."""
    from dnncli.config import load as configs
    from dnncli.config.build import initial_params
    from dnncli.run.job import prepare

    path = folder / "peers.yaml"
    path.write_text(yaml.safe_dump(config_of(csv, dtype, True, 1, folder)))
    config = configs.load(path)
    job = prepare(config, with_test=False)
    return job.net, initial_params(job.net, config, job.dtype), job.train.rows(job.dtype), job.train.labels


def epoch_torch(csv, folder, dtype, epochs, threads=None):
    import torch

    if threads:
        torch.set_num_threads(threads)
    from dnncli.engine.trainer import epoch_order, steps_per_epoch

    net, params, rows, labels = encoded_rows(csv, folder, dtype)
    kind = {"float64": torch.float64, "float32": torch.float32}[dtype]
    X, Y = torch.from_numpy(rows), torch.from_numpy(labels.astype(dtype)).reshape(-1, 1)
    modules = []
    for l in range(1, len(net.layers)):
        linear = torch.nn.Linear(net.layers[l - 1], net.layers[l], dtype=kind)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(params[f"W{l}"]))
            linear.bias.copy_(torch.from_numpy(params[f"b{l}"].ravel()))
        modules += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules[:-1])
    loss_function = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=RATE, betas=(0.9, 0.999), eps=1e-8)
    m = len(labels)
    marks = [time.perf_counter()]
    for epoch in range(epochs):
        order = torch.from_numpy(epoch_order(SEED, epoch, m))
        for k in range(steps_per_epoch(m, BATCH)):
            batch = order[k * BATCH : (k + 1) * BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_function(model(X[batch]), Y[batch])
            loss.backward()
            optimizer.step()
            loss.item()  # every system hands back the cost of each step
        marks.append(time.perf_counter())
    with torch.no_grad():
        accuracy = ((model(X)[:, 0] > 0).numpy() == labels).mean()
    return {"epoch_s": list(np.diff(marks)), "train_accuracy": float(accuracy), "threads": torch.get_num_threads()}


def epoch_sklearn(csv, folder, dtype, epochs, threads=None):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits

    net, params, rows, labels = encoded_rows(csv, folder, dtype)
    model = MLPClassifier(
        hidden_layer_sizes=tuple(net.layers[1:-1]), activation="relu", solver="adam", learning_rate_init=RATE,
        alpha=0.0, batch_size=BATCH, max_iter=1, warm_start=True, shuffle=True, tol=0.0, random_state=SEED,
    )  # fmt: skip
    marks = [time.perf_counter()]
    with warnings.catch_warnings(), threadpool_limits(threads, user_api="blas"):
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(epochs):
            model.fit(rows, labels)
            marks.append(time.perf_counter())
    return {"epoch_s": list(np.diff(marks)), "train_accuracy": float(model.score(rows, labels))}


def stream_dnn(csv, folder, dtype):
    """One epoch streamed from a big file: the pass, the loop, the final scores, and the peak memory."""
    result = epoch_dnn(csv, folder, dtype, 1, False)
    return result


WORKERS = {
    "read-dnn": lambda a: read_dnn(a.csv, a.folder),
    "read-dnn-float32": lambda a: read_dnn(a.csv, a.folder, "float32"),
    "read-dnn-streamed": lambda a: read_streamed(a.csv, a.folder),
    "read-pyarrow": lambda a: read_pyarrow(a.csv, a.folder),
    "read-pandas": lambda a: read_pandas(a.csv, a.folder),
    "epoch-dnn": lambda a: epoch_dnn(a.csv, a.folder, a.dtype, a.epochs, True),
    "epoch-dnn-streamed": lambda a: epoch_dnn(a.csv, a.folder, a.dtype, a.epochs, False),
    "epoch-dnn-own-threads": lambda a: epoch_dnn(a.csv, a.folder, a.dtype, a.epochs, True, own_threads=True),
    "epoch-torch": lambda a: epoch_torch(a.csv, a.folder, a.dtype, a.epochs),
    "epoch-torch-1-thread": lambda a: epoch_torch(a.csv, a.folder, a.dtype, a.epochs, threads=1),
    "epoch-sklearn": lambda a: epoch_sklearn(a.csv, a.folder, a.dtype, a.epochs),
    "epoch-sklearn-1-thread": lambda a: epoch_sklearn(a.csv, a.folder, a.dtype, a.epochs, threads=1),
    "stream-dnn": lambda a: stream_dnn(a.csv, a.folder, a.dtype),
}
NEEDS = {
    "read-pandas": "pandas",
    "epoch-torch": "torch",
    "epoch-torch-1-thread": "torch",
    "epoch-sklearn": "sklearn",
    "epoch-sklearn-1-thread": "sklearn",
}
EPOCH_SYSTEMS = [
    "epoch-dnn", "epoch-dnn-streamed", "epoch-dnn-own-threads", "epoch-torch", "epoch-torch-1-thread",
    "epoch-sklearn", "epoch-sklearn-1-thread",
]  # fmt: skip


def worker(args):
    result = WORKERS[args.worker](args)
    print(json.dumps({**result, "peak_mb": peak_mb()}, default=float))


# --- the driver ----------------------------------------------------------------------------------------------


def run_worker(name, csv, folder, dtype="float64", epochs=1):
    """A worker's result, with its wall time, its peak memory seen from here and the load it met."""
    load = os.getloadavg()[0]
    command = [sys.executable, __file__, "--worker", name, "--csv", str(csv), "--folder", str(folder)]
    command += ["--dtype", dtype, "--epochs", str(epochs)]
    began = time.perf_counter()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(command, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{name} failed:\n{err.read().decode(errors='replace')}")
        result = json.loads(out.read().decode().strip().splitlines()[-1])
    shutil.rmtree(folder / "runs", ignore_errors=True)
    return {**result, "wall_s": time.perf_counter() - began, "maxrss_mb": usage.ru_maxrss / 1024, "load": load}


def available(name):
    import importlib.util

    need = NEEDS.get(name)
    return need is None or importlib.util.find_spec(need) is not None


def median_of(runs, key):
    return statistics.median(r[key] for r in runs)


def read_part(args, csv, folder, size):
    names = [
        n for n in ("read-dnn", "read-dnn-float32", "read-dnn-streamed", "read-pyarrow", "read-pandas") if available(n)
    ]
    runs = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names:
            r = run_worker(name, csv, folder)
            runs[name].append(r)
            print(f"  read {repeat + 1}/{args.repeats} {name:14} {r['seconds']:6.2f}s  {size / 1e6 / r['seconds']:6.1f} MB/s  "
                  f"peak {r['peak_mb']:5.0f} MB  (load {r['load']:.1f})")  # fmt: skip
    summary = {}
    for name, results in runs.items():
        seconds = median_of(results, "seconds")
        summary[name] = {"seconds": seconds, "mb_per_s": size / 1e6 / seconds, "peak_mb": median_of(results, "peak_mb")}
        for phase in ("read_s", "fit_s", "encode_s", "pass_s"):
            if phase in results[0]:
                summary[name][phase] = median_of(results, phase)
    return {"runs": runs, "summary": summary}


def epoch_part(args, csv, folder):
    names = [n for n in args.systems if available(n)]
    summary, runs = {}, {}
    for dtype in args.dtypes:
        for repeat in range(args.repeats):
            for name in names:
                r = run_worker(name, csv, folder, dtype, args.epochs)
                runs.setdefault(f"{name} {dtype}", []).append(r)
                later = r["epoch_s"][1:] or r["epoch_s"]
                print(f"  epoch {repeat + 1}/{args.repeats} {name:18} {dtype}  {statistics.median(later):6.2f}s an epoch "
                      f"(first {r['epoch_s'][0]:.2f}s)  train accuracy {r['train_accuracy']:.4f}  peak {r['peak_mb']:5.0f} MB  "
                      f"(load {r['load']:.1f})")  # fmt: skip
        for name in names:
            results = runs[f"{name} {dtype}"]
            epochs = [s for r in results for s in (r["epoch_s"][1:] or r["epoch_s"])]
            summary[f"{name} {dtype}"] = {
                "epoch_s": statistics.median(epochs),
                "epochs_timed": len(epochs),
                "train_accuracy": median_of(results, "train_accuracy"),
                "peak_mb": median_of(results, "peak_mb"),
            }
        dnn = summary[f"epoch-dnn {dtype}"]["epoch_s"]
        for name in names:
            summary[f"{name} {dtype}"]["vs_dnn"] = summary[f"{name} {dtype}"]["epoch_s"] / dnn
    return {"runs": runs, "summary": summary}


def stream_part(args, folder):
    big = folder / "big.csv"
    began = time.perf_counter()
    # made by a process of its own, so that this one stays small: a child's ru_maxrss counts its parent's memory
    # between fork and exec
    subprocess.run([sys.executable, __file__, "--make", str(big), str(args.stream_gigabytes)], check=True)
    made = time.perf_counter() - began
    size = big.stat().st_size
    print(f"  made {big}: {size / 1e9:.2f} GB in {made:.0f}s")
    try:
        r = run_worker("stream-dnn", big, folder, args.stream_dtype)
    finally:
        big.unlink()
    print(f"  one epoch streamed: {r['epoch_s'][0]:.0f}s, {r['wall_s']:.0f}s in all; peak {r['peak_mb']:.0f} MB "
          f"(ru_maxrss {r['maxrss_mb']:.0f} MB)")  # fmt: skip
    return {"bytes": size, "generate_s": made, **r}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="read,epoch,stream", help="comma-separated: read, epoch, stream")
    parser.add_argument("--rows", type=int, default=200_000, help="rows of the table (default 200,000)")
    parser.add_argument("--read-rows", type=int, default=2_000_000, help="rows of the table read (default 2,000,000)")
    parser.add_argument("--repeats", type=int, default=3, help="turns of every system (default 3)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs a run, the first not counted (default 3)")
    parser.add_argument("--dtypes", default="float32,float64", help="comma-separated (default float32,float64)")
    parser.add_argument("--systems", default=",".join(EPOCH_SYSTEMS), help="of the epoch part, comma-separated")
    parser.add_argument("--stream-gigabytes", type=float, default=2.0, help="size of the streamed CSV (default 2)")
    parser.add_argument("--stream-dtype", default="float64", help="dtype of the streamed run (default float64)")
    parser.add_argument("--dir", help="where the files go (default: a temporary folder)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--make", nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dtype", default="float64", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args)
    if args.make:
        return generate(args.make[0], 0, seed=2, at_least=float(args.make[1]) * 1e9)
    args.dtypes = [d for d in args.dtypes.split(",") if d]
    args.systems = [s for s in args.systems.split(",") if s]
    parts = [p for p in args.parts.split(",") if p]
    sys.stdout.reconfigure(line_buffering=True)
    folder = Path(tempfile.mkdtemp(prefix="dnn-tables-", dir=args.dir))
    report = {"load_average_at_start": os.getloadavg(), "rows": args.rows, "repeats": args.repeats}
    try:
        if "read" in parts:
            csv = folder / "read.csv"
            size = generate(csv, args.read_rows)
            print(f"read: {args.read_rows:,} rows, {size / 1e6:.0f} MB")
            report["read"] = {"rows": args.read_rows, "bytes": size, **read_part(args, csv, folder, size)}
            csv.unlink()
        if "epoch" in parts:
            csv = folder / "epoch.csv"
            generate(csv, args.rows)
            print(f"epoch: {args.rows:,} rows, [57, 256, 128, 1], Adam, batches of {BATCH}")
            report["epoch"] = epoch_part(args, csv, folder)
        if "stream" in parts:
            print(f"stream: a {args.stream_gigabytes:g} GB CSV, one epoch streamed")
            report["stream"] = stream_part(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report["load_average_at_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tables-latest.json").write_text(json.dumps(report, indent=1, default=float))
    print(
        json.dumps(
            {k: v.get("summary", v) if isinstance(v, dict) else v for k, v in report.items()}, indent=1, default=float
        )
    )


if __name__ == "__main__":
    main()
