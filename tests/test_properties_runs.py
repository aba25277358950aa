"""Whatever a run folder holds, `dnn runs` lists it and the newest-run commands say one line: never a traceback;
and wherever a signal lands, a run leaves nothing or a folder to resume.

metrics.json of any JSON (deep nesting, any dates, huge numbers), config.yaml of any text, runs/latest of any
bytes, and stray temporary files, through the real CLI (``catch_exceptions=False``: anything escaping fails).
"""

import json
import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import metrics_of, set_key, write_config
from dnncli.cli import main
from dnncli.config.load import load
from dnncli.errors import Interrupted
from dnncli.model import checkpoint
from dnncli.run.signals import SIGNALS, StopSignals
from dnncli.run.train import start

SETTINGS = settings(
    max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 15)), deadline=None, suppress_health_check=list(HealthCheck)
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2026-13-40", "running", "killed"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = ["status", "started", "costs", "iterations", "iterations_done", "train", "test", "seconds", "process", "name"]
metrics_objects = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=len(KEYS))


def invoke(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, **kwargs)


@SETTINGS
@given(
    metrics=st.one_of(metrics_objects, json_values),
    depth=st.sampled_from([0, 1000, 100_000]),
    config=st.text(max_size=100),
    latest=st.binary(max_size=40),
    temporary=st.booleans(),
)
def test_any_run_folder_leaves_the_listing_standing(metrics, depth, config, latest, temporary):
    root = Path(tempfile.mkdtemp(prefix="dnn-runs-prop-"))
    try:
        folder = root / "runs" / "x" / "1"
        folder.mkdir(parents=True)
        text = "[" * depth + json.dumps(metrics) + "]" * depth
        (folder / "metrics.json").write_text(text)
        (folder / "config.yaml").write_text(config)
        (root / "runs" / "latest").write_bytes(latest)
        if temporary:
            (folder / ".checkpoint.npz.0123abcd.tmp").write_bytes(b"\0" * 100)
        listed = invoke("runs", root / "runs", "--json")
        assert listed.exit_code == 0, listed.output
        (row,) = json.loads(listed.stdout)
        assert row["run"] == str(folder)
        table = invoke("runs", root / "runs")
        assert table.exit_code == 0, table.output
        summary = invoke("summary", env={"DNN_RUNS": str(root / "runs")})
        assert summary.exit_code in (0, 2) and "Traceback" not in summary.output
        assert summary.exit_code == 0 or len(summary.stderr.strip().splitlines()) == 1, summary.stderr
    finally:
        shutil.rmtree(root, ignore_errors=True)


@SETTINGS
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(KEYS + ["train.accuracy", "validation.cost", "best_iteration"]), json_values),
        min_size=1,
        max_size=3,
    ),
    command=st.sampled_from(["report", "plot", "resume", "evaluate"]),
)
def test_any_metrics_of_a_real_run_are_shown_or_one_line(validated_run, changes, command):
    metrics = json.loads((validated_run / "metrics.json").read_text())
    for key, value in changes:
        set_key(metrics, key, value)
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        shutil.copytree(validated_run, run)
        (run / "metrics.json").write_text(json.dumps(metrics))
        args = {
            "report": ["report", run, "--out", Path(folder) / "page.html"],
            "plot": ["plot", run, "--out", Path(folder) / "plot.png"],
            "resume": ["train", "--resume", run, "--quiet"],
            "evaluate": ["evaluate", "--run", run, "--json", "-"],
        }[command]
        result = invoke(*args)
        assert result.exit_code in (0, 2), result.output
        assert "Traceback" not in result.output
        if result.exit_code == 2:
            lines = [line for line in result.stderr.strip().splitlines() if not line.startswith("Warning: ")]
            assert len(lines) == 1 and lines[0].startswith("Error: ") and "unexpected" not in lines[0], result.stderr


@pytest.fixture(scope="module")
def picture_folder(tmp_path_factory, demo_data):
    """train/<class>/ with the demo set's first 24 pictures as files: one block to decode."""
    import h5py
    from test_folders import save_picture

    root = tmp_path_factory.mktemp("signal_photos")
    with h5py.File(demo_data / "train.h5", "r") as f:
        pictures, labels = f["train_set_x"][:24], f["train_set_y"][:24]
    for i, (pixels, label) in enumerate(zip(pictures, labels, strict=True)):
        (root / "train" / str(label)).mkdir(parents=True, exist_ok=True)
        save_picture(pixels, root / "train" / str(label) / f"{i:02d}", i)
    return root


@settings(SETTINGS, max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 10)))
@given(
    point=st.sampled_from(["decoding", "start", "update", "finish"]),
    first=st.sampled_from(SIGNALS),
    second=st.none() | st.sampled_from(SIGNALS),
    folder_set=st.booleans(),
)
def test_a_signal_at_any_point_leaves_a_run_to_resume_or_nothing(
    demo_data, picture_folder, point, first, second, folder_set
):
    """Wherever one or two signals land, the run leaves no folder, or one that resumes to its end."""
    from test_signals import Signalling

    before = {sig: signal.getsignal(sig) for sig in SIGNALS}
    data = {"format": "folder", "train": str(picture_folder / "train"), "test": None} if folder_set else {}
    with tempfile.TemporaryDirectory() as root:
        root = Path(root)
        training = {"learning_rate": 0.001, "iterations": 30, "batch_size": 64, "log_every": 5}
        config = write_config(
            root / "c.yaml",
            demo_data,
            model={"layers": [12288, 2, 1]},
            training=training,
            **({"data": data} if data else {}),
        )
        reporter = Signalling(**{point: [first] + ([second] if second else [])})
        outcome = None
        try:
            with StopSignals() as stop:
                start(load(config, [f"output.dir={root / 'runs'}"]), reporter, stop)
        except (Interrupted, KeyboardInterrupt) as e:
            outcome = e
        finally:
            for sig, handler in before.items():
                signal.signal(sig, handler)
        event(f"{point}: {type(outcome).__name__}")
        folders = list((root / "runs" / "t").glob("*")) if (root / "runs" / "t").exists() else []
        if isinstance(outcome, Interrupted) and outcome.folder is None:
            assert not folders  # stopped while starting
            return
        (folder,) = folders
        assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")]
        status = metrics_of(folder)["status"]
        assert status == {Interrupted: "interrupted", KeyboardInterrupt: "running"}.get(type(outcome), "finished")
        if (folder / "checkpoint.npz").exists():
            assert checkpoint.load(folder / "checkpoint.npz").iteration <= 30
        if status != "finished" and (folder / "checkpoint.npz").exists():
            resumed = invoke("train", "--resume", folder, "--quiet")
            assert resumed.exit_code == 0, resumed.output
            assert metrics_of(folder)["status"] == "finished"


@SETTINGS
@given(
    command=st.sampled_from(["export", "evaluate", "plot", "init-config"]),
    target=st.sampled_from(["checkpoint.npz", "best.npz", "metrics.json", "config.yaml", "data/test.h5"]),
    absolute=st.booleans(),
    detours=st.lists(st.sampled_from([".", "..", "folder link"]), max_size=3),
    links=st.integers(0, 2),
)
def test_no_spelling_of_a_path_lets_an_output_replace_an_input_or_a_runs_file(
    validated_run, demo_data, command, target, absolute, detours, links
):
    """The path of a run's file or of the data a command reads, spelled any way: refused, the file unchanged
    (a data file is an input of evaluate only)."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        run = root / "runs" / "t" / "1"
        shutil.copytree(validated_run, run)
        shutil.copytree(demo_data, root / "data", ignore=shutil.ignore_patterns("samples"))
        config = (run / "config.yaml").read_text().replace(str(demo_data), str(root / "data"))
        (run / "config.yaml").write_text(config)
        real = (root / target) if target.startswith("data/") else run / target
        before = real.read_bytes()
        parent = real.parent
        spelled = parent if absolute else Path(os.path.relpath(parent, root))
        for i, detour in enumerate(detours):
            if detour == "..":
                spelled = spelled / ".." / parent.name
            elif detour == "folder link":
                (root / f"to-folder-{i}").symlink_to(parent)
                spelled = root / f"to-folder-{i}" if absolute else Path(f"to-folder-{i}")
            else:
                spelled = spelled / "."
        path = spelled / real.name
        for i in range(links):
            link = root / f"link-{i}.png"
            link.symlink_to(path if Path(path).is_absolute() else root / path)
            path = link if absolute else Path(link.name)
        args = {
            "export": ("export", "--run", run, "--out", path),
            "evaluate": ("evaluate", "--run", run, "--json", path),
            "plot": ("plot", run, "--out", path),
            "init-config": ("init-config", path, "--force"),
        }[command]
        cwd = os.getcwd()
        os.chdir(root)
        try:
            result = invoke(*args)
        finally:
            os.chdir(cwd)
        if target.startswith("data/") and command != "evaluate":
            return  # not an input of this command: written as asked (over a copy)
        assert real.read_bytes() == before
        assert result.exit_code == 2, result.output
        (line,) = result.stderr.strip().splitlines()
        assert line.endswith("writing would replace it: give another name") or "picture; use .png" in line, line
