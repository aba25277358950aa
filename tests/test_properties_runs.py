"""Whatever a run folder holds, `dnn runs` lists it and the newest-run commands say one line: never a traceback.

metrics.json of any JSON (deep nesting, any dates, huge numbers), config.yaml of any text, runs/latest of any
bytes, and stray temporary files, through the real CLI (``catch_exceptions=False``: anything escaping fails).
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import set_key, write_config
from dnncli.cli import main

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


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, demo_data):
    """A finished short run with a validation set: its folder."""
    folder = tmp_path_factory.mktemp("small_run")
    config = write_config(
        folder / "c.yaml", demo_data, training={"iterations": 6, "log_every": 2, "validation_fraction": 0.2}
    )
    result = invoke("train", "--config", config, "--quiet", "--set", f"output.dir={folder / 'runs'}")
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1])


@SETTINGS
@given(
    changes=st.lists(
        st.tuples(st.sampled_from(KEYS + ["train.accuracy", "validation.cost", "best_iteration"]), json_values),
        min_size=1,
        max_size=3,
    ),
    command=st.sampled_from(["report", "plot", "resume", "evaluate"]),
)
def test_any_metrics_of_a_real_run_are_shown_or_one_line(small_run, changes, command):
    metrics = json.loads((small_run / "metrics.json").read_text())
    for key, value in changes:
        set_key(metrics, key, value)
    with tempfile.TemporaryDirectory() as folder:
        run = Path(folder) / "run"
        shutil.copytree(small_run, run)
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
