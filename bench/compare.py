"""dnn against PyTorch and scikit-learn on the reference job, side by side in one run.

    python bench/compare.py                 # 2500 iterations, 3 runs of each system
    python bench/compare.py --quick         # 200 iterations, 1 run: for iterating
    python bench/compare.py --optimizers    # the second table: every job of workers.JOBS, 500 iterations

The job is the course's cat network, [12288, 20, 7, 5, 1], ReLU, sigmoid output,
the ``course`` initialisation with seed 1, full-batch gradient descent at 0.0075;
on the course's cat files if they are here, on the built-in demo set otherwise.
Every run of every system is a fresh process (``workers.py``), so the peak memory
(the child's ``ru_maxrss``) is that system's own; the runs of the systems take
turns and the median is reported. Two more rows run the whole ``dnn train``
command on the same job, once as ``auto`` picks its path and once with
``training.fast_path=off``. The table goes to the terminal, the numbers and the
machine to ``bench/results/`` as JSON, and the table as Markdown beside it.

``--optimizers`` puts dnn's general path (``Trainer``) and, for gd and momentum,
its fast path (``FastTrainer``) beside PyTorch on the same network and weights for
every job of ``workers.JOBS``: momentum, Adam, RMSprop, shuffled mini-batches of 32 and 64
with gd, momentum and Adam, L2, dropout, and the reference job; ``--jobs`` picks
some. Its results go to ``optimizers-latest.json`` and ``.md``.

``--busy N`` starts N busy loops (``python3 -c "while True: pass"``) before the
first run and ends them after the last, so every system, PyTorch included, runs
on a machine that is that busy.
"""

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table
from workers import ADAM_RATE, JOBS, LEARNING_RATE, MOMENTUM, RMSPROP_RATE, fast_job

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
WORKER = HERE / "workers.py"
DTYPES = ("float64", "float32")

# name, label, what it needs installed
SYSTEMS = {
    "dnn-fast": ("dnn fast path (FastTrainer)", None),
    "dnn-general": ("dnn general path (Trainer)", None),
    "dnn-fast-own-threads": ("dnn fast path, BLAS's own threads (before)", None),
    "torch": ("PyTorch (CPU)", "torch"),
    "sklearn": ("scikit-learn MLPClassifier", "sklearn"),
    "cli-auto": ("dnn train (auto: fast path)", None),
    "cli-off": ("dnn train (fast_path off)", None),
}
DEFAULT_SYSTEMS = [name for name in SYSTEMS if name != "dnn-fast-own-threads"]
NUMBERS = (
    "ms_per_iteration",
    "page_faults_per_iteration",
    "total_s",
    "setup_s",
    "loop_s",
    "finish_s",
    "peak_mb",
    "wall_s",
    "others_cpu_share",
)


def cat_folder():
    """The course's files, found where the tests look: $DNN_CAT_DATA, data/cat/, ../shared/data/cat/."""
    for folder in (os.environ.get("DNN_CAT_DATA"), ROOT / "data" / "cat", ROOT.parent / "shared" / "data" / "cat"):
        if folder and all((Path(folder) / f"{s}_catvnoncat.h5").exists() for s in ("train", "test")):
            return Path(folder)
    return None


def pick_data(choice):
    """(name, train file, test file, config): the cat files, or the demo set made with `dnn data demo`."""
    folder = cat_folder() if choice in ("auto", "cat") else None
    if folder is not None:
        return "cat", folder / "train_catvnoncat.h5", folder / "test_catvnoncat.h5", ROOT / "configs" / "cat.yaml"
    if choice == "cat":
        raise SystemExit("the course's cat files are not here (set DNN_CAT_DATA or put them in data/cat/)")
    demo = RESULTS / "demo-data"
    if not (demo / "train.h5").exists():
        subprocess.run([sys.executable, "-m", "dnncli", "data", "demo", "--out", str(demo)], check=True)
    return "demo", demo / "train.h5", demo / "test.h5", ROOT / "configs" / "demo.yaml"


def busy_cpu_seconds():
    """CPU seconds the whole machine has spent busy since boot (all processes, all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


# A product on all BLAS threads takes about 0.55 of the time one thread takes on two free cores;
# above this, the threads are not working together.
THREADS_SLOWED = 0.8
PROBE = np.random.default_rng(0).random((400, 400))


def threads_slowdown():
    """Time of a product on all BLAS threads over the time of the same product on one.

    On this virtual machine the two cores at times stop working together for tens of
    seconds: a two-thread product then takes 4 to 17 times as long as usual, while
    /proc/stat and every process list show an idle machine (the host, not a process
    here, is busy). None with one core or without threadpoolctl (the bench extra).
    """
    if os.cpu_count() < 2 or importlib.util.find_spec("threadpoolctl") is None:
        return None
    from threadpoolctl import threadpool_limits

    def seconds():
        PROBE @ PROBE
        started = time.perf_counter()
        for _ in range(10):
            PROBE @ PROBE
        return time.perf_counter() - started

    with threadpool_limits(1, user_api="blas"):
        alone = seconds()
    return seconds() / alone


def wait_for_quiet(limit, console):
    """Wait up to ``limit`` seconds until, for 3 s in a row, other processes have used under 10% of
    the CPU and BLAS's threads work together (``threads_slowdown``)."""
    deadline = time.monotonic() + limit
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        before = busy_cpu_seconds()
        time.sleep(1)
        idle = busy_cpu_seconds() - before < 0.1 * os.cpu_count()
        slowdown = threads_slowdown()
        quiet = quiet + 1 if idle and (slowdown is None or slowdown < THREADS_SLOWED) else 0
    if quiet < 3:
        console.print(f"note: the machine did not become quiet within {limit:g}s; running anyway")


def thread_settings(threads):
    """The environment of every child: the same BLAS/OpenMP thread count for all systems, if asked."""
    if not threads:
        return None
    return {
        **os.environ,
        **{name: str(threads) for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")},
    }


def run_measured(command, env=None):
    """Run a command: its stdout, wall time, peak memory (ru_maxrss of that child alone)
    and the share of the machine's CPU that other processes used meanwhile."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        busy = busy_cpu_seconds()
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - started
        others = busy_cpu_seconds() - busy - usage.ru_utime - usage.ru_stime
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"{' '.join(map(str, command))} failed:\n{err.read().decode(errors='replace')}")
        return out.read().decode(), {
            "wall_s": wall,
            "peak_mb": usage.ru_maxrss / 1024,
            "others_cpu_share": max(0.0, others) / (wall * os.cpu_count()),
        }


def run_worker(system, dtype, iterations, data, env, job="gd"):
    command = [sys.executable, WORKER, system, dtype, str(iterations), data[1], data[2], job]
    stdout, measured = run_measured(command, env)
    return {**json.loads(stdout.strip().splitlines()[-1]), **measured}


def run_cli(path, dtype, iterations, data, env):
    """The whole `dnn train` command on the job; numbers from its metrics.json."""
    with tempfile.TemporaryDirectory() as runs:
        command = [sys.executable, "-m", "dnncli", "train", "--config", data[3], "--quiet"]
        for key, value in (
            ("data.train", data[1]),
            ("data.test", data[2]),
            ("dtype", dtype),
            ("training.iterations", iterations),
            ("training.fast_path", f"'{path}'"),  # quoted: YAML reads a bare off as false
            ("output.dir", runs),
        ):
            command += ["--set", f"{key}={value}"]
        stdout, measured = run_measured(command, env)
        metrics = json.loads((Path(stdout.strip().splitlines()[-1]) / "metrics.json").read_text())
    return {
        **measured,
        "ms_per_iteration": 1000 * metrics["seconds"] / iterations,
        "total_s": measured["wall_s"],
        "fast_path": metrics["fast_path"],
        "cost": metrics["train"]["cost"],
        "train_accuracy": metrics["train"]["accuracy"],
        "test_accuracy": metrics["test"]["accuracy"],
    }


def run_one(system, dtype, iterations, data, env, job="gd"):
    if system.startswith("cli-"):
        return run_cli(system.removeprefix("cli-"), dtype, iterations, data, env)
    return run_worker(system, dtype, iterations, data, env, job)


def run_key(run):
    return run["job"], run["system"], run["dtype"], run.get("busy", 0)


def summarise(runs):
    """One row per (job, system, dtype, busy loops): medians of the timings, the rest from the runs (equal
    unless noted)."""
    rows = []
    for key in dict.fromkeys(run_key(r) for r in runs):
        mine = [r for r in runs if run_key(r) == key]
        row = {"job": key[0], "system": key[1], "dtype": key[2], "busy": key[3], "runs": len(mine)}
        for name in NUMBERS:
            values = [r[name] for r in mine if name in r]
            if values:
                row[name] = statistics.median(values)
        for name in ("cost", "train_accuracy", "test_accuracy", "dtype_kept", "fast_path", "threads"):
            if name in mine[0]:
                row[name] = statistics.median(r[name] for r in mine) if name == "cost" else mine[0][name]
        rows.append(row)
    for row in rows:
        peers = {
            r["system"]: r for r in rows if (r["job"], r["dtype"], r["busy"]) == (row["job"], row["dtype"], row["busy"])
        }
        quiet = [r for r in rows if run_key(r)[:3] == run_key(row)[:3] and r["busy"] == 0]
        if row["busy"] and quiet:
            row["total_vs_quiet"] = row["total_s"] / quiet[0]["total_s"]
        if "dnn-general" in peers:
            row["per_iteration_vs_dnn_general"] = row["ms_per_iteration"] / peers["dnn-general"]["ms_per_iteration"]
        if "dnn-fast" in peers and not row["system"].startswith("cli-"):
            row["total_vs_dnn_fast"] = row["total_s"] / peers["dnn-fast"]["total_s"]
    return rows


def machine():
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "numpy": np.__version__,
        "load_average_at_start": os.getloadavg(),
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        info["lscpu"] = {
            k.strip(): v.strip()
            for k, _, v in (line.partition(":") for line in lscpu.splitlines())
            if k.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache")
        }
    except (OSError, subprocess.CalledProcessError):
        pass
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas['name']} {blas['version']}"
    except (TypeError, KeyError):
        pass
    if importlib.util.find_spec("threadpoolctl"):
        from threadpoolctl import threadpool_info

        info["blas_threads"] = [
            {k: p.get(k) for k in ("internal_api", "version", "num_threads", "architecture")} for p in threadpool_info()
        ]
    for package in ("torch", "scikit-learn"):
        try:
            info[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return info


def fmt(value, spec):
    return "" if value is None else format(value, spec)


COLUMNS = (
    ("system", "left", lambda r: SYSTEMS[r["system"]][0]),
    ("dtype", "left", lambda r: r["dtype"]),
    ("ms / iteration", "right", lambda r: fmt(r.get("ms_per_iteration"), ".3f")),
    ("total s", "right", lambda r: fmt(r.get("total_s"), ".2f")),
    ("peak MB", "right", lambda r: fmt(r.get("peak_mb"), ".0f")),
    ("final cost", "right", lambda r: fmt(r.get("cost"), ".6f")),
    ("train acc", "right", lambda r: fmt(r.get("train_accuracy"), ".4f")),
    ("test acc", "right", lambda r: fmt(r.get("test_accuracy"), ".2f")),
    ("ms/it ÷ dnn general", "right", lambda r: fmt(r.get("per_iteration_vs_dnn_general"), ".2f")),
    ("total ÷ dnn fast", "right", lambda r: fmt(r.get("total_vs_dnn_fast"), ".1f")),
)


def title(report):
    s = report["settings"]
    return (
        f"[12288, 20, 7, 5, 1] on the {s['data']} set, "
        + ("dnn's paths and PyTorch, " if report["kind"] == "optimizers" else "")
        + f"{s['iterations']} iterations, median of {s['repeats']} run{'s' if s['repeats'] > 1 else ''}"
        + (f", {s['threads']} thread{'s' if s['threads'] > 1 else ''}" if s["threads"] != "default" else "")
        + (f", beside {' and '.join(map(str, s['busy']))} busy loops" if s.get("busy", [0]) != [0] else "")
    )


def paths_agree(summary):
    """Relative difference of the two paths' final costs, per dtype."""
    costs = {(r["system"], r["dtype"]): r["cost"] for r in summary}
    return {
        dtype: abs(costs[("dnn-fast", dtype)] - costs[("dnn-general", dtype)]) / costs[("dnn-general", dtype)]
        for dtype in DTYPES
        if ("dnn-fast", dtype) in costs and ("dnn-general", dtype) in costs
    }


def caption(report):
    share = report["machine"]["others_cpu_share"]
    others = f"Other processes used {share:.0%} of the machine's CPU during the runs."
    slowed = report["machine"].get("runs_with_threads_slowed")
    if slowed is not None and report["settings"]["threads"] == "default":
        others += (
            f" BLAS's two threads were slowed (a product on both took over {THREADS_SLOWED:g} of its time "
            f"on one) just before or after {slowed} of the {len(report['runs'])} runs."
        )
    if report["kind"] == "optimizers":
        return (
            "ms / it: the training loop alone, per iteration. PyTorch ÷ dnn above 1: dnn is faster. gd and "
            f"momentum ({MOMENTUM}) at lr {LEARNING_RATE:g}, Adam at {ADAM_RATE:g}, RMSprop at {RMSPROP_RATE:g}; batches shuffled by dnn's "
            "epoch_order, PyTorch given the same order. Final cost: each system's own loss on the whole "
            "training set after the last update, without the L2 term and without dropout. Same cost: their "
            f"relative difference, within {SAME_COST:g} in float64 (in float32 trajectories drift apart by "
            "themselves, so only the difference is shown); dropout masks differ between the frameworks, so "
            "that job compares time only. Page faults: minor faults of the process during the loop, per "
            f"iteration. {others}"
        )
    agree = "".join(
        f" Final cost, fast path vs general path, {dtype}: {difference:.1e} relative."
        for dtype, difference in report["paths_agree"].items()
    )
    return (
        "ms / iteration: the training loop alone. total s: set-up + loop + final weights, without imports and "
        "data loading; for `dnn train`, the whole process. peak MB: ru_maxrss of the process (MiB). "
        f"{others}{agree}"
    )


def side_by_side(summary):
    """One row per (job, dtype): dnn's general path beside PyTorch, their time ratio and final costs."""
    rows = []
    for job, dtype, busy in dict.fromkeys((r["job"], r["dtype"], r["busy"]) for r in summary):
        pair = {r["system"]: r for r in summary if (r["job"], r["dtype"], r["busy"]) == (job, dtype, busy)}
        dnn, fast, torch = pair.get("dnn-general", {}), pair.get("dnn-fast", {}), pair.get("torch", {})
        row = {"job": job, "dtype": dtype, "busy": busy, "dnn": dnn, "fast": fast, "torch": torch}
        if dnn and torch:
            row["torch_over_dnn"] = torch["ms_per_iteration"] / dnn["ms_per_iteration"]
            row["cost_difference"] = abs(torch["cost"] - dnn["cost"]) / dnn["cost"]
        if fast and torch:
            row["torch_over_fast"] = torch["ms_per_iteration"] / fast["ms_per_iteration"]
        if fast and dnn:
            row["fast_cost_difference"] = abs(fast["cost"] - dnn["cost"]) / dnn["cost"]
        rows.append(row)
    return rows


def agreement(row):
    """Whether the final costs show the same work: in float64 they must agree to rounding;
    float32 trajectories drift apart by themselves, so there the difference is only shown."""
    if "cost_difference" not in row:
        return ""
    difference = f"{row['cost_difference']:.0e}"
    if JOBS[row["job"]].keep_prob < 1:
        return f"time only ({difference})"
    if row["dtype"] == "float32":
        return f"({difference})"
    return f"{'yes' if row['cost_difference'] < SAME_COST else 'NO'} ({difference})"


SAME_COST = 1e-9  # relative, float64

OPTIMIZER_COLUMNS = (
    ("job", "left", lambda r: JOBS[r["job"]].label),
    ("dtype", "left", lambda r: r["dtype"]),
    ("dnn ms / it", "right", lambda r: fmt(r["dnn"].get("ms_per_iteration"), ".3f")),
    ("PyTorch ms / it", "right", lambda r: fmt(r["torch"].get("ms_per_iteration"), ".3f")),
    ("PyTorch ÷ dnn", "right", lambda r: fmt(r.get("torch_over_dnn"), ".2f")),
    ("dnn fast ms / it", "right", lambda r: fmt(r["fast"].get("ms_per_iteration"), ".3f")),
    ("PyTorch ÷ dnn fast", "right", lambda r: fmt(r.get("torch_over_fast"), ".1f")),
    ("fast ≟ general cost", "right", lambda r: fmt(r.get("fast_cost_difference"), ".0e")),
    ("dnn final cost", "right", lambda r: fmt(r["dnn"].get("cost"), ".6f")),
    ("PyTorch final cost", "right", lambda r: fmt(r["torch"].get("cost"), ".6f")),
    ("same cost", "right", agreement),
    ("page faults / it, dnn", "right", lambda r: fmt(r["dnn"].get("page_faults_per_iteration"), ".0f")),
    ("PyTorch", "right", lambda r: fmt(r["torch"].get("page_faults_per_iteration"), ".0f")),
)


BUSY_COLUMNS = (
    ("busy loops", "right", lambda r: str(r["busy"])),
    ("total ÷ quiet", "right", lambda r: fmt(r.get("total_vs_quiet"), ".2f")),
)


def layout(report):
    """The columns and rows of the report's table; with busy loops, how many, and the time over the quiet one."""
    busy = report["settings"].get("busy", [0]) != [0]
    if report["kind"] == "optimizers":
        return OPTIMIZER_COLUMNS + BUSY_COLUMNS[:1] * busy, report["side_by_side"]
    return COLUMNS + BUSY_COLUMNS * busy, report["summary"]


def rich_table(report):
    columns, rows = layout(report)
    table = Table(title=title(report), caption=caption(report), title_justify="left", caption_justify="left")
    for name, justify, _ in columns:
        table.add_column(name, justify=justify)
    for row in rows:
        table.add_row(*(cell(row) for _, _, cell in columns))
    return table


def markdown_table(report):
    columns, rows = layout(report)
    lines = [f"**{title(report)}**", ""]
    lines.append("| " + " | ".join(name for name, _, _ in columns) + " |")
    lines.append("| " + " | ".join("---:" if justify == "right" else "---" for _, justify, _ in columns) + " |")
    for row in rows:
        lines.append("| " + " | ".join(cell(row) for _, _, cell in columns) + " |")
    return "\n".join(lines + ["", caption(report), ""])


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--optimizers",
        action="store_true",
        help="the second table: dnn's general path beside PyTorch on every job of --jobs (default 500 iterations)",
    )
    parser.add_argument(
        "--jobs", default=",".join(JOBS), help=f"with --optimizers, comma-separated, from {', '.join(JOBS)}"
    )
    parser.add_argument("--quick", action="store_true", help="200 iterations, 1 run: for iterating")
    parser.add_argument("--iterations", type=int, help="iterations per run (default 2500, optimizers 500, quick 200)")
    parser.add_argument("--repeats", type=int, help="runs of each system (default 3, quick 1)")
    parser.add_argument(
        "--systems", default=",".join(DEFAULT_SYSTEMS), help=f"comma-separated, from {', '.join(SYSTEMS)}"
    )
    parser.add_argument("--dtypes", default=",".join(DTYPES), help="comma-separated: float64,float32")
    parser.add_argument("--data", choices=("auto", "cat", "demo"), default="auto", help="auto: cat if present")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON and Markdown results")
    parser.add_argument(
        "--threads", type=int, help="BLAS/OpenMP threads for every system (default: each library's own choice)"
    )
    parser.add_argument(
        "--busy",
        default="0",
        metavar="N[,N...]",
        help="run everything beside N busy loops (python3 -c 'while True: pass'); a list takes turns, e.g. 0,2",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each run, wait up to this long for other processes to leave the CPU",
    )
    args = parser.parse_args(argv)
    args.iterations = args.iterations or (200 if args.quick else 500 if args.optimizers else 2500)
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.systems = (
        ["dnn-fast", "dnn-general", "torch"] if args.optimizers else [s for s in args.systems.split(",") if s]
    )
    args.jobs = [j for j in args.jobs.split(",") if j] if args.optimizers else ["gd"]
    args.dtypes = [d for d in args.dtypes.split(",") if d]
    args.busy = [int(n) for n in args.busy.split(",") if n]
    for names, table in ((args.systems, SYSTEMS), (args.jobs, JOBS), (args.dtypes, DTYPES)):
        for name in names:
            if name not in table:
                parser.error(f"unknown {name!r}; choose from {', '.join(table)}")
    return args


def run_plan(args, plan, data, console):
    """Every run of the plan, the systems taking turns, ``args.repeats`` times."""
    runs = []
    for repeat in range(args.repeats):
        for busy in args.busy:
            with busy_loops(busy):
                for job, system, dtype in plan:
                    if args.wait_quiet and not busy:
                        wait_for_quiet(args.wait_quiet, console)
                    console.print(f"run {repeat + 1}/{args.repeats}: {system} {dtype} {job}, {busy} busy", style="dim")
                    paths = [str(p) for p in data]
                    slowdown_before = threads_slowdown()
                    result = run_one(system, dtype, args.iterations, paths, thread_settings(args.threads), job)
                    result.update(threads_slowdown_before=slowdown_before, threads_slowdown_after=threads_slowdown())
                    runs.append(
                        {"job": job, "system": system, "dtype": dtype, "busy": busy, "repeat": repeat, **result}
                    )
    return runs


@contextmanager
def busy_loops(count):
    """``count`` processes that keep a core busy each, for as long as the block runs."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    try:
        time.sleep(0.5 * bool(loops))  # let them start
        yield
    finally:
        for loop in loops:
            loop.kill()
            loop.wait()


def main(argv=None):
    args = parse_args(argv)
    console = Console(highlight=False, width=max(160, Console().width))
    systems = []
    for name in args.systems:
        needs = SYSTEMS[name][1]
        if needs and importlib.util.find_spec(needs) is None:
            console.print(f"skipping {SYSTEMS[name][0]}: {needs} is not installed (make bench installs it)")
        else:
            systems.append(name)
    data = pick_data(args.data)
    info = machine()
    plan = [
        (job, system, dtype)
        for dtype in args.dtypes
        for job in args.jobs
        for system in systems
        if not system.startswith("dnn-fast") or fast_job(job)
    ]
    runs = run_plan(args, plan, data, console)
    info["load_average_at_end"] = os.getloadavg()
    info["others_cpu_share"] = statistics.mean(r["others_cpu_share"] for r in runs)
    info["runs_with_threads_slowed"] = sum(
        any(
            r[f"threads_slowdown_{when}"] is not None and r[f"threads_slowdown_{when}"] > THREADS_SLOWED
            for when in ("before", "after")
        )
        for r in runs
    )
    kind = "optimizers" if args.optimizers else "compare"
    report = {
        "kind": kind,
        "command": " ".join([Path(sys.argv[0]).name, *(argv if argv is not None else sys.argv[1:])]),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "settings": {
            "data": data[0],
            "train": str(data[1]),
            "test": str(data[2]),
            "iterations": args.iterations,
            "repeats": args.repeats,
            "threads": args.threads or "default",
            "busy": args.busy,
            "jobs": {name: asdict(JOBS[name]) for name in args.jobs},
        },
        "machine": info,
        "summary": summarise(runs),
        "runs": runs,
    }
    report["paths_agree"] = paths_agree(report["summary"])
    report["side_by_side"] = side_by_side(report["summary"])
    console.print(rich_table(report))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    latest = "latest" if kind == "compare" else f"{kind}-latest"
    for name in (f"{kind}-{stamp}", latest):
        (args.out / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
        (args.out / f"{name}.md").write_text(markdown_table(report))
    console.print(f"results: {args.out / f'{kind}-{stamp}.json'} (and {latest}.json, {latest}.md)")


if __name__ == "__main__":
    main()
