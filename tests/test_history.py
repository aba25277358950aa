import json
import shutil
from pathlib import Path

from conftest import metrics_of, train_quietly, write_config


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

    table = dnn("runs")
    assert table.exit_code == 0, table.output
    lines = table.stdout.splitlines()
    line = next(line for line in lines if line.strip().startswith(str(first)))
    metrics = metrics_of(first)
    assert (
        "12288-8-4-1" in line and f"{metrics['costs'][-1]['cost']:.6f}" in line and line.rstrip().endswith("finished")
    )
    assert any(line.startswith("* runs/t/4: no metrics.json") for line in lines)


def test_runs_of_one_name_and_of_nothing(in_tmp, demo_data, dnn):
    assert dnn("runs").exit_code == 2  # no runs/ folder at all
    Path("runs").mkdir()
    empty = dnn("runs")
    assert empty.exit_code == 0 and "no runs under runs/ yet" in empty.stdout
    assert json.loads(dnn("runs", "--json").stdout) == []
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data))
    rows = json.loads(dnn("runs", "runs/t", "--json").stdout)
    assert [row["run"] for row in rows] == [str(folder)]
