"""Whatever a sweep file says, reading it and drawing its trials either works or is one ``UserError``: never another
exception, never a hang, never memory without bound.

The sweep file goes through what `dnn sweep` runs before its first trial: ``read_sweep`` (the schema, the
distributions, the base config, its data) and ``create`` (every trial drawn, its config checked, the folder
written). The trials themselves are not run here: test_sweep.py runs real ones. And whatever answers at a
scheduler's address is refused in one line, within the timeout.
"""

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import set_key, write_config
from dnncli.cli import main
from dnncli.config.schema import leaf_keys
from dnncli.errors import UserError
from dnncli.sweep.driver import create
from dnncli.sweep.spec import DISTRIBUTIONS, read_sweep

SETTINGS = settings(
    max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 40)), deadline=None, suppress_health_check=list(HealthCheck)
)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 40),
    st.sampled_from([0, -1, 2**31, 2**62, 2**63, 10**12, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e-300, 1e300, -1e308, 1e308, 5e-324]),
    st.text(max_size=8),
    st.sampled_from(["relu", "adam", "1e-3", "\x00", "grid", "random", "validation_cost", "test_accuracy"]),
)
values = st.one_of(scalars, st.lists(scalars, max_size=4), st.dictionaries(st.text(max_size=4), scalars, max_size=2))


def mostly(usual, other):
    """``usual`` four times in five (``st.one_of`` weighs every branch of nested strategies alike)."""
    return st.integers(0, 4).flatmap(lambda n: usual if n else other)


config_keys = st.sampled_from(sorted(leaf_keys()) + ["training.optimizer.beta1"])
parameter_keys = mostly(config_keys, st.sampled_from(["model", "", ".", "a=b", "training.", "training.optimizer.x"]))
numbers = st.one_of(st.integers(-3, 50), st.floats(-2, 2), st.sampled_from([0, 1e-300, 1e300, -1e308, 1e308, 2**62]))
distributions = mostly(
    st.one_of(
        st.builds(
            lambda kind, pair: {kind: sorted(pair)},
            st.sampled_from(DISTRIBUTIONS[:3]),
            st.lists(numbers, min_size=2, max_size=2),
        ),
        st.builds(lambda values: {"choice": values}, st.lists(st.one_of(numbers, scalars), min_size=1, max_size=4)),
    ),
    st.one_of(
        st.dictionaries(st.sampled_from([*DISTRIBUTIONS, "normal", ""]), st.lists(scalars, max_size=3), max_size=2),
        values,
    ),
)


SWEEP_KEYS = ["name", "metric", "method", "trials", "seed", "set", "halving", "halving.rungs", "halving.keep", "extra"]


@SETTINGS
@given(
    parameters=mostly(st.dictionaries(parameter_keys, distributions, min_size=1, max_size=3), values),
    changes=mostly(st.just([]), st.lists(st.tuples(st.sampled_from(SWEEP_KEYS), values), min_size=1, max_size=2)),
)
def test_any_sweep_file_reads_or_is_one_user_error(demo_data, parameters, changes):
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        base = write_config(folder / "base.yaml", demo_data, training={"iterations": 5, "validation_fraction": 0.2})
        spec = {"config": base.name, "trials": 3, "parameters": parameters, "dir": str(folder / "sweeps")}
        for key, value in changes:
            set_key(spec, key, value)
        path = folder / "sweep.yaml"
        path.write_text(yaml.safe_dump(spec))
        try:
            sweep_folder = create(read_sweep(path))
        except UserError as e:
            assert e.message.strip(), repr(e)
            event(e.message.replace(str(folder), "")[:70])
        else:
            event("created")
            assert (sweep_folder / "sweep.json").is_file()


# --- the index of a sweep folder, edited or broken by hand ------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 5),
    st.sampled_from([2**70, -1, 0.5, 1e308, "finished", "failed", "running", "choice", "../..", "/etc", "trial-001"]),
    st.floats(allow_nan=False),
    st.text(max_size=6),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
SWEEP_INDEX_KEYS = ["metric", "minimise", "rungs", "keep", "parameters", "overrides", "driver", "format", "trials"]
TRIAL_KEYS = ["trial", "folder", "values", "seed", "status", "rung", "iterations_done", "metric", "error", "attempts"]


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory, demo_data):
    """A finished sweep of two short trials: its folder."""
    folder = tmp_path_factory.mktemp("small_sweep")
    base = write_config(
        folder / "base.yaml", demo_data, training={"iterations": 5, "log_every": 5, "validation_fraction": 0.2}
    )
    spec = {
        "config": base.name,
        "trials": 2,
        "parameters": {
            "training.learning_rate": {"log_uniform": [1e-3, 1e-1]},
            "model.layers": {"choice": [[12288, 4, 1], [12288, 3, 1]]},
        },
        "dir": str(folder / "sweeps"),
    }
    (folder / "sweep.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(main, ["sweep", str(folder / "sweep.yaml"), "--workers", "1", "--progress", "quiet"])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip().splitlines()[-1]).parent


@SETTINGS
@given(
    top=st.lists(st.tuples(st.sampled_from(SWEEP_INDEX_KEYS), json_values), max_size=2),
    rows=st.lists(st.tuples(st.integers(0, 1), st.sampled_from(TRIAL_KEYS), json_values), max_size=3),
    command=st.sampled_from(["runs", "runs --json", "report", "plot", "sweep --resume"]),
    linked=st.booleans(),
)
def test_any_sweep_index_is_shown_or_one_line(small_sweep, top, rows, command, linked):
    index = json.loads((small_sweep / "sweep.json").read_text())
    for key, value in top:
        index[key] = value
    for i, key, value in rows:
        if isinstance(index.get("trials"), list) and len(index["trials"]) > i and isinstance(index["trials"][i], dict):
            index["trials"][i][key] = value
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "sweep"
        shutil.copytree(small_sweep, copy)
        (copy / "sweep.json").write_text(json.dumps(index))
        if linked:  # a trial's folder a link to another's: never written through
            shutil.rmtree(copy / "trial-001")
            (copy / "trial-001").symlink_to("trial-002")
        name, *options = command.split()
        out = ["--out", str(Path(folder) / ("page.html" if name == "report" else "plot.png"))]
        args = [name, str(copy), *options, *(out if name in ("report", "plot") else [])]
        if name == "sweep":
            args = ["sweep", "--resume", str(copy), "--workers", "1", "--progress", "quiet"]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
            assert "unexpected" not in lines[0]
        event(f"{command}: exit {result.exit_code}")
        if linked and name != "runs":
            assert result.exit_code == 2


@settings(SETTINGS, max_examples=int(os.environ.get("DNN_FUZZ_EXAMPLES", 15)))
@given(answer=st.binary(max_size=200), after_a_request=st.booleans())
def test_whatever_answers_at_a_scheduler_address_is_one_line_within_the_timeout(answer, after_a_request):
    """A listener on 127.0.0.1 that sends any bytes (at once, or only once spoken to, as a web server does) is
    refused in one line naming the address; never a hang, never an attempt to allocate what a length says."""
    pytest.importorskip("distributed")
    from dnncli.errors import UserError
    from dnncli.sweep.cluster import greet

    listener = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"

    def serve():
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                if after_a_request:
                    connection.recv(1024)
                connection.sendall(answer)
                connection.recv(1024)  # holds the connection open until the other side closes it

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    length = int.from_bytes(answer[:8], "little")
    framed = len(answer) >= 8 and 0 < length <= len(answer) - 8  # what a scheduler's greeting looks like
    try:
        greet(address, 0.2)
        assert framed, answer  # taken for a scheduler: only what is framed as its greeting
    except UserError as refused:
        line = refused.message
        assert line.startswith(f"--address {address}: ") and "\n" not in line and len(line) < 400, line
    finally:
        listener.close()
        thread.join(timeout=10)
