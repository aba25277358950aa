"""Runs tracked in MLflow (``output.mlflow``), read back through MLflow's own client from a real `mlflow server`
with a SQLite store, started once for the session on 127.0.0.1; and a server that is down or refuses."""

import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from test_serve import free_port
from test_sweep import dask_cluster, sweep_file  # noqa: F401 (dask_cluster: a fixture, for the trials on Dask)

from conftest import ROOT, write_config
from dnncli.extras import install_command

pytest.importorskip("mlflow")

# No MLflow process of the tests sends usage data anywhere: the server, this process and the workers.
QUIET_MLFLOW = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
SERVER_START_SECONDS = 180  # a first start makes the SQLite store's tables; under load it takes a while
RUN_FILES = {"checkpoint.npz", "best.npz", "metrics.json", "config.yaml", "report.html"}
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
BROWSER_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]  # fmt: skip
# The MLflow UI's own settings (its local storage): the model-training view, its assistant's panel closed
UI_SETTINGS = """
localStorage.setItem("mlflow.workflowType_v1", JSON.stringify("machine_learning"));
localStorage.setItem("mlflow.assistant.panelOpen_v1", "false");
localStorage.setItem("mlflow.assistant.fab.autoOpenedOnFirstLoad_v1", "true");
"""
SCREENSHOT = ROOT / "docs" / "images" / "mlflow-run.png"  # written when DNN_DOCS_SCREENSHOTS is set
PAGE_SECONDS = 90  # at most, for the run page to show its metrics


class MlflowServer:
    """``mlflow server`` on a free port of 127.0.0.1, in a session of its own so that ``stop`` ends all of it."""

    def __init__(self, folder):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(folder / "mlflow-server.log", "w+")
        command = [
            sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.port),
            "--backend-store-uri", f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination", str(folder / "artifacts"), "--workers", "1",
        ]  # fmt: skip
        env = {**os.environ, **QUIET_MLFLOW, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.wait_until_ready()

    def wait_until_ready(self):
        import urllib.request

        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"mlflow server exited with {self.process.returncode}:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise AssertionError(f"mlflow server did not answer /health in {SERVER_START_SECONDS} s:\n{self.output()}")

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(self.process.pid, sig)  # the server's own process group: uvicorn's workers too
            except ProcessLookupError:
                break
            try:
                self.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        for name, value in QUIET_MLFLOW.items():
            patch.setenv(name, value)
        server = MlflowServer(tmp_path_factory.mktemp("mlflow"))
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def mlflow_env(monkeypatch):
    """No usage data sent, and the variables dnn sets for MLflow put back after the test."""
    from dnncli.run.tracking import BOUNDS

    for name in (*BOUNDS, "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in QUIET_MLFLOW.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def tracking(mlflow_server, mlflow_env, monkeypatch, request):
    """$MLFLOW_TRACKING_URI at the server, an experiment of the test's own, and MLflow's client to read it."""
    from mlflow.tracking import MlflowClient

    experiment = request.node.name.replace("[", "-").replace("]", "")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", experiment)
    client = MlflowClient(mlflow_server.url)
    client.experiment = experiment
    return client


def runs_of(client, query=""):
    experiment = client.get_experiment_by_name(client.experiment)
    return client.search_runs([experiment.experiment_id], query) if experiment else []


def history(client, run_id, key):
    return [(m.step, m.value) for m in sorted(client.get_metric_history(run_id, key), key=lambda m: m.step)]


def trained(dnn, config, *args):
    result = dnn("train", "--config", config, "--progress", "plain", *args)
    assert result.exit_code == 0, result.output
    return result, Path(result.stdout.strip().splitlines()[-1])


def metrics_of(folder):
    return json.loads((folder / "metrics.json").read_text())


def flat(config, prefix=""):
    for key, value in config.items():
        if isinstance(value, dict):
            yield from flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


# --- a run ----------------------------------------------------------------------


def test_a_tracked_run_has_its_config_costs_scores_and_files_in_mlflow(tracking, in_tmp, demo_data, dnn):
    training = {"iterations": 60, "log_every": 10, "validation_fraction": 0.2, "checkpoint_every": 20}
    config = write_config(in_tmp / "c.yaml", demo_data, training=training)
    result, folder = trained(dnn, config, "--mlflow")
    [run] = runs_of(tracking)
    saved = metrics_of(folder)
    assert saved["mlflow"]["run_id"] == run.info.run_id
    assert saved["mlflow"]["tracking_uri"] == os.environ["MLFLOW_TRACKING_URI"]
    assert run.info.status == "FINISHED" and run.info.run_name == f"t/{folder.name}"
    assert run.data.tags["dnn.folder"] == str(folder.resolve())
    assert run.data.tags["mlflow.source.name"] == "dnn train"
    # the config, every key, each value as --set takes it
    own = yaml.safe_load((folder / "config.yaml").read_text())
    params = run.data.params
    assert set(params) == {key for key, _ in flat(own)} - {"output.mlflow"}
    assert params["model.layers"] == "[12288, 8, 4, 1]" and params["training.learning_rate"] == "0.01"
    assert params["training.optimizer.name"] == "gd" and params["data.test"] == own["data"]["test"]
    # every logged record at its iteration, as metrics.json has it
    records = saved["costs"]
    assert [r["iteration"] for r in records] == [0, 10, 20, 30, 40, 50, 59]
    for key in ("cost", "validation_cost", "validation_accuracy"):
        assert history(tracking, run.info.run_id, key) == [(r["iteration"], r[key]) for r in records]
    layers = history(tracking, run.info.run_id, "gradient_norm/layer_1")
    assert layers == [(r["iteration"], r["gradient_norm"][0]) for r in records]
    # the final scores
    final = run.data.metrics
    for split in ("train", "test"):
        assert final[f"{split}_accuracy"] == saved[split]["accuracy"] and final[f"{split}_cost"] == saved[split]["cost"]
    assert final["validation_cost"] == saved["validation"]["cost"]
    assert final["best_validation_cost"] == saved["best_validation"]["cost"]
    assert final["best_iteration"] == saved["best_iteration"] and final["iterations_done"] == 60
    # the files, the checkpoint byte for byte, and the report page
    artifacts = {f.path for f in tracking.list_artifacts(run.info.run_id)}
    assert artifacts == RUN_FILES
    copy = Path(tracking.download_artifacts(run.info.run_id, "checkpoint.npz", str(in_tmp)))
    assert copy.read_bytes() == (folder / "checkpoint.npz").read_bytes()
    page = Path(tracking.download_artifacts(run.info.run_id, "report.html", str(in_tmp))).read_text()
    assert '<section id="test-set">' in page and str(folder) in page
    # the run's own output: its MLflow page, then the folder as the last line; nothing of MLflow's
    lines = result.stdout.strip().splitlines()
    page_url = f"{os.environ['MLFLOW_TRACKING_URI']}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}"
    assert lines[-2] == f"MLflow: {page_url}"
    assert "Warning" not in result.stderr and "View run" not in result.output


def test_a_resume_continues_the_same_mlflow_run(tracking, in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"iterations": 20, "log_every": 10})
    _, folder = trained(dnn, config, "--mlflow")
    [first] = runs_of(tracking)
    result = dnn("train", "--resume", folder, "--set", "training.iterations=40", "--quiet")
    assert result.exit_code == 0, result.output
    [run] = runs_of(tracking)  # still one run
    assert run.info.run_id == first.info.run_id == metrics_of(folder)["mlflow"]["run_id"]
    assert run.info.status == "FINISHED"
    records = metrics_of(folder)["costs"]
    assert [r["iteration"] for r in records] == [0, 10, 19, 20, 30, 39]
    assert history(tracking, run.info.run_id, "cost") == [(r["iteration"], r["cost"]) for r in records]
    assert history(tracking, run.info.run_id, "iterations_done") == [(19, 20), (39, 40)]
    checkpoint = Path(tracking.download_artifacts(run.info.run_id, "checkpoint.npz", str(in_tmp)))
    assert checkpoint.read_bytes() == (folder / "checkpoint.npz").read_bytes()  # the one at 40


def test_a_run_that_fails_ends_its_mlflow_run_failed_with_the_reason(tracking, in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"learning_rate": 100.0, "iterations": 50})
    result = dnn("train", "--config", config, "--quiet", "--mlflow")
    assert result.exit_code == 1 and "probably too high" in result.stderr
    [run] = runs_of(tracking)
    assert run.info.status == "FAILED"
    assert {f.path for f in tracking.list_artifacts(run.info.run_id)} == {"metrics.json"}
    sent = json.loads(Path(tracking.download_artifacts(run.info.run_id, "metrics.json", str(in_tmp))).read_text())
    assert sent["status"] == "failed" and "probably too high" in sent["error"]
    assert sent["mlflow"]["run_id"] == run.info.run_id


def test_tracking_turned_on_at_a_resume_logs_the_run_so_far(tracking, in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"iterations": 20, "log_every": 10})
    _, folder = trained(dnn, config)
    assert runs_of(tracking) == [] and "mlflow" not in metrics_of(folder)
    result = dnn("train", "--resume", folder, "--set", "training.iterations=30", "--mlflow", "--quiet")
    assert result.exit_code == 0, result.output
    [run] = runs_of(tracking)
    records = metrics_of(folder)["costs"]
    assert history(tracking, run.info.run_id, "cost") == [(r["iteration"], r["cost"]) for r in records]
    assert yaml.safe_load((folder / "config.yaml").read_text())["output"]["mlflow"] is True


# --- the run's page in a real browser ------------------------------------------------


def test_the_run_page_shows_the_run_in_chromium(tracking, mlflow_server, in_tmp, demo_data, dnn, tmp_path, monkeypatch):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("no chromium on this machine")
    sync_api = pytest.importorskip("playwright.sync_api")
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "demo")  # the demo's run, as the guide shows it
    training = {"learning_rate": 0.0075, "iterations": 300, "log_every": 20, "validation_fraction": 0.2}
    model = {"layers": [12288, 20, 7, 5, 1]}
    config = write_config(in_tmp / "c.yaml", demo_data, name="demo", model=model, training=training)
    _, folder = trained(dnn, config, "--mlflow")
    run = metrics_of(folder)["mlflow"]
    url = f"{mlflow_server.url}/#/experiments/{run['experiment_id']}/runs/{run['run_id']}"
    outside = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=BROWSER_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 1400})
            context.route(  # the page gets the server's answers only: nothing leaves this machine
                "**/*",
                lambda route: (
                    route.continue_()
                    if route.request.url.startswith(mlflow_server.url)
                    else (outside.append(route.request.url), route.abort())
                ),
            )
            context.add_init_script(UI_SETTINGS)
            page = context.new_page()
            page.goto(url)
            for text in (f"demo/{folder.name}", "test_accuracy", "validation_cost", "dnn train", "Finished"):
                page.get_by_text(text, exact=True).first.wait_for(timeout=PAGE_SECONDS * 1000)
            shot = tmp_path / "mlflow-run.png"
            page.screenshot(path=shot)
        finally:
            browser.close()
    assert outside == []
    with Image.open(shot) as image:
        assert image.size == (1280, 1400)
        assert len(np.unique(np.asarray(image.convert("L").resize((64, 64))))) > 20  # not a blank page
    if os.environ.get("DNN_DOCS_SCREENSHOTS"):
        shutil.copyfile(shot, SCREENSHOT)


# --- a sweep ----------------------------------------------------------------------


def two_trials(folder, demo_data):
    """test_sweep's small sweep, two trials of the learning rate."""
    rate = {"training.learning_rate": {"log_uniform": [1.0e-3, 1.0e-1]}}
    return sweep_file(folder, demo_data, trials=2, parameters=rate)


@pytest.mark.parametrize("workers", ["local", "dask"])
def test_a_sweep_is_a_parent_run_with_a_child_run_per_trial_wherever_the_trials_run(
    workers, tracking, in_tmp, demo_data, dnn, monkeypatch, request
):
    for name, value in ONE_THREAD.items():
        monkeypatch.setenv(name, value)
    where = ["--workers", "2"] if workers == "local" else ["--address", request.getfixturevalue("dask_cluster")]
    result = dnn("sweep", two_trials(in_tmp, demo_data), *where, "--mlflow", "--progress", "plain")
    assert result.exit_code == 0, result.output
    sweep = Path(result.stdout.strip().splitlines()[-1]).parent
    index = json.loads((sweep / "sweep.json").read_text())
    [parent] = runs_of(tracking, "tags.`mlflow.source.name` = 'dnn sweep' and tags.`mlflow.runName` = 's/1'")
    assert index["mlflow"]["run_id"] == parent.info.run_id and parent.info.status == "FINISHED"
    assert parent.data.params["parameters.training.learning_rate"] == "log_uniform"
    best = min(row["metric"] for row in index["trials"])
    assert parent.data.metrics["best_validation_cost"] == best
    assert {f.path for f in tracking.list_artifacts(parent.info.run_id)} == {"sweep.json", "sweep.yaml", "report.html"}
    children = runs_of(tracking, f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert sorted(child.info.run_name for child in children) == ["trial-001", "trial-002"]
    for child in children:
        row = next(row for row in index["trials"] if row["folder"] == child.info.run_name)
        trial = sweep / row["folder"]
        assert metrics_of(trial)["mlflow"]["run_id"] == child.info.run_id
        assert child.data.tags["dnn.folder"] == str(trial.resolve())
        assert float(child.data.params["training.learning_rate"]) == row["values"]["training.learning_rate"]
        assert child.data.metrics["validation_cost"] == row["metric"]
        assert {f.path for f in tracking.list_artifacts(child.info.run_id)} == RUN_FILES - {"report.html"}
    assert f"MLflow: {tracking.tracking_uri}/#/experiments/" in result.stdout
    assert f"({'local' if workers == 'local' else 'dask'})" in result.stderr


# --- a server that is down or refuses ---------------------------------------------------


class Refusing(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_error(403, "no")

    do_POST = do_GET  # noqa: N815

    def log_message(self, *args):
        pass


@pytest.fixture
def refusing_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def silent_server():
    """A port that takes connections and never answers."""
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen(16)
        yield f"http://127.0.0.1:{listening.getsockname()[1]}"


SERVERS = {  # what is at the tracking URI -> the warning's reason
    "down": "Connection refused",
    "refusing": "it answered HTTP 403",
    "silent": "no answer in time",
}


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_down_refusing_or_silent_is_one_warning_and_the_run_goes_on(
    server, refusing_server, silent_server, mlflow_env, in_tmp, demo_data, dnn, monkeypatch
):
    uri = {"down": f"http://127.0.0.1:{free_port()}", "refusing": refusing_server, "silent": silent_server}[server]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "1")  # the user's own setting wins over dnn's 10 s
    config = write_config(in_tmp / "c.yaml", demo_data, training={"iterations": 20, "validation_fraction": 0.2})
    result, folder = trained(dnn, config, "--mlflow")
    why = SERVERS[server]
    warnings = [line for line in result.stderr.splitlines() if "Warning" in line or "MLflow" in line]
    assert warnings == [f"Warning: MLflow at {uri}: {why}; training goes on without it"]
    saved = metrics_of(folder)
    assert saved["status"] == "finished" and saved["iterations_done"] == 20 and "mlflow" not in saved
    assert {p.name for p in folder.glob("[!.]*")} == {"checkpoint.npz", "best.npz", "metrics.json", "config.yaml"}
    assert "MLflow" not in result.stdout


def test_a_sweep_with_its_server_down_is_one_warning_and_every_trial_finishes(
    mlflow_env, in_tmp, demo_data, dnn, monkeypatch
):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{free_port()}")
    result = dnn("sweep", two_trials(in_tmp, demo_data), "--workers", "2", "--mlflow", "--progress", "quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"Warning: MLflow at {os.environ['MLFLOW_TRACKING_URI']}: Connection refused; training goes on without it"
    ]
    index = json.loads(Path(result.stdout.strip().splitlines()[-1]).parent.joinpath("sweep.json").read_text())
    assert [row["status"] for row in index["trials"]] == ["finished", "finished"] and "mlflow" not in index


# --- what a user can get wrong ------------------------------------------------------------


def test_true_without_a_tracking_uri_is_one_line_before_anything_is_made(in_tmp, demo_data, dnn, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("train", "--config", config, "--mlflow")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: output.mlflow: true tracks at $MLFLOW_TRACKING_URI, which is not set; "
        "set it, or give the URI (output.mlflow: http://HOST:5000)"
    )
    assert not (in_tmp / "runs").exists()


def test_without_the_extra_a_tracked_run_is_one_line_naming_the_install(in_tmp, demo_data, dnn, monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # what an interpreter without mlflow finds
    config = write_config(in_tmp / "c.yaml", demo_data, output={"mlflow": "http://127.0.0.1:5000"})
    result = dnn("train", "--config", config)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: output.mlflow: tracking runs in MLflow needs mlflow (the optional mlflow extra); install it with: "
        + install_command("mlflow")
    )
    assert not (in_tmp / "runs").exists()


@pytest.mark.parametrize("value", [5, "", [1], "http://a\tb", "mlruns", "./mlruns", "C:/mlruns", "127.0.0.1:5000"])
def test_output_mlflow_is_true_false_or_a_uri_with_its_scheme(in_tmp, demo_data, dnn, value):
    config = write_config(in_tmp / "c.yaml", demo_data, output={"mlflow": value})
    result = dnn("train", "--config", config)
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"Error: {config}: output.mlflow: must be true, false, or a tracking URI with its scheme, "
        "such as http://127.0.0.1:5000 or sqlite:///mlflow.db, got "
    )
    assert len(result.stderr.splitlines()) == 1


def test_an_untracked_run_never_imports_mlflow(in_tmp, demo_data):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"iterations": 3})
    probe = f"""
import sys
from dnncli.cli import main
try:
    main(["train", "--config", {str(config)!r}, "--quiet"], prog_name="dnn")
except SystemExit:
    pass
print("mlflow" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=in_tmp)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "False"


def test_an_interrupted_run_is_killed_in_mlflow_and_its_resume_finishes_it(tracking, in_tmp, demo_data, dnn):
    config = write_config(
        in_tmp / "c.yaml", demo_data, model={"layers": [12288, 2, 1]},
        training={"learning_rate": 0.001, "iterations": 10**6, "batch_size": 64, "log_every": 5},
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "dnncli", "train", "--config", str(config), "--progress", "jsonl", "--mlflow"],
        cwd=in_tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for line in process.stdout:  # the signal once the run has logged: never by timing
            event = json.loads(line)
            if event.get("iteration", 0) >= 10:
                process.send_signal(signal.SIGINT)
                break
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    folder = in_tmp / "runs" / "t" / "1"
    [run] = runs_of(tracking)
    assert run.info.status == "KILLED" and metrics_of(folder)["status"] == "interrupted"
    done = metrics_of(folder)["iterations_done"]
    resumed = dnn("train", "--resume", folder, "--set", f"training.iterations={done + 10}", "--quiet")
    assert resumed.exit_code == 0, resumed.output
    [again] = runs_of(tracking)
    assert again.info.run_id == run.info.run_id and again.info.status == "FINISHED"
    assert history(tracking, run.info.run_id, "iterations_done")[-1] == (done + 9, done + 10)
