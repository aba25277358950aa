import json
import shutil
from pathlib import Path

from conftest import metrics_of, train_quietly, write_config

TERMINAL = {"TTY_COMPATIBLE": "1", "NO_COLOR": "1", "COLUMNS": "250"}
PIPE = {"TTY_COMPATIBLE": "0", "FORCE_COLOR": None}


def test_runs_lists_every_run_newest_first_and_survives_broken_ones(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    _, first = train_quietly(dnn, config)
    _, second = train_quietly(dnn, config, "--set", "training.learning_rate=0.02", "--set", "training.iterations=20")
    failed, _ = train_quietly(dnn, config, "--set", "training.learning_rate=1e300")
    diverged = Path("runs/t/3")
    assert failed.exit_code == 1 and diverged.is_dir()
    broken = {"empty": "runs/t/4", "bad json": "runs/t/5", "not an object": "runs/other/1", "bad yaml": "runs/other/2"}
    for folder in broken.values():
        Path(folder).mkdir(parents=True)
    Path("runs/t/5/metrics.json").write_text("{not json")
    Path("runs/other/1/metrics.json").write_text("[1, 2]")
    shutil.copy(first / "metrics.json", "runs/other/2/metrics.json")
    Path("runs/other/2/config.yaml").write_text("model: [unclosed\n")

    result = dnn("runs", "--json")
    assert result.exit_code == 0, result.output
    rows = {row["run"]: row for row in json.loads(result.stdout)}
    assert set(rows) == {str(first), str(second), str(diverged), *broken.values()}
    order = [row["run"] for row in json.loads(result.stdout)]
    assert order.index(str(second)) < order.index(str(first))  # newest first
    for folder in (first, second):
        row, metrics = rows[str(folder)], metrics_of(folder)
        assert row["status"] == "finished" and row["problem"] is None
        assert row["final_cost"] == metrics["costs"][-1]["cost"]
        assert row["train_accuracy"] == metrics["train"]["accuracy"]
        assert row["test_accuracy"] == metrics["test"]["accuracy"]
        assert row["layers"] == [12288, 8, 4, 1] and row["iterations"] == metrics["iterations"]
    assert rows[str(second)]["learning_rate"] == 0.02
    assert rows[str(diverged)]["status"] == "failed"
    assert rows["runs/t/4"]["status"] == "broken" and "no metrics.json" in rows["runs/t/4"]["problem"]
    assert "not readable JSON" in rows["runs/t/5"]["problem"]
    assert "not an object" in rows["runs/other/1"]["problem"]
    assert "YAML error" in rows["runs/other/2"]["problem"]

    table = dnn("runs", env=TERMINAL)
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    line = next(line for line in lines if line.strip().startswith(str(first)))
    metrics = metrics_of(first)
    assert (
        "12288-8-4-1" in line and f"{metrics['costs'][-1]['cost']:.6f}" in line and line.rstrip().endswith("finished")
    )
    assert any(line.startswith("* runs/t/4: no metrics.json") for line in lines)
    assert "resumed" not in lines[1] and "best val" not in lines[1]  # no run has them: no such column

    piped = dnn("runs", env=PIPE)
    assert piped.exit_code == 0, piped.output
    header, *lines = [line.split("\t") for line in piped.stdout.splitlines()]
    assert header == [
        "run",
        "started",
        "task",
        "layers",
        "lr",
        "iter",
        "last cost",
        "train cost",
        "train",
        "test",
        "balanced",
        "baseline",
        "time",
        "status",
        "problem",
    ]
    assert all(len(line) == len(header) for line in lines) and len(lines) == len(rows)
    cells = {line[0]: dict(zip(header, line, strict=True)) for line in lines}
    assert cells[str(first)]["layers"] == "12288-8-4-1" and cells[str(first)]["status"] == "finished"
    assert cells[str(first)]["balanced"] == f"{metrics['test']['balanced_accuracy']:.4f}"
    assert (
        cells[str(first)]["last cost"] == f"{metrics['costs'][-1]['cost']:.6f}" and cells[str(first)]["problem"] == ""
    )
    assert cells["runs/t/4"]["status"] == "broken" and cells["runs/t/4"]["problem"].startswith(
        "runs/t/4: no metrics.json"
    )


def test_runs_of_one_name_and_of_nothing(in_tmp, demo_data, dnn):
    assert dnn("runs").exit_code == 2  # no runs/ folder at all
    Path("runs").mkdir()
    empty = dnn("runs")
    assert empty.exit_code == 0 and "no runs under runs/ yet" in empty.stdout
    assert json.loads(dnn("runs", "--json").stdout) == []
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data))
    rows = json.loads(dnn("runs", "runs/t", "--json").stdout)
    assert [row["run"] for row in rows] == [str(folder)]


def test_a_resumed_run_keeps_its_first_start_and_says_when_it_was_resumed(in_tmp, demo_data, dnn):
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data, training={"iterations": 10}))
    before = metrics_of(folder)
    assert "resumed" not in before
    metrics = dict(before, started="2020-01-02T03:04:05+00:00")  # so a start kept cannot be a start made again
    (folder / "metrics.json").write_text(json.dumps(metrics))
    result = dnn("train", "--resume", folder, "--quiet", "--set", "training.iterations=20")
    assert result.exit_code == 0, result.output
    after = metrics_of(folder)
    assert after["started"] == "2020-01-02T03:04:05+00:00" and after["resumed"] >= before["started"]
    [row] = json.loads(dnn("runs", "--json").stdout)
    assert row["started"] == "2020-01-02T03:04:05+00:00" and row["resumed"] == after["resumed"]
    header, line = [line.split("\t") for line in dnn("runs", env=PIPE).stdout.splitlines()]
    cells = dict(zip(header, line, strict=True))
    assert cells["started"].startswith("2020-01-0") and cells["resumed"][:4] == after["resumed"][:4]
