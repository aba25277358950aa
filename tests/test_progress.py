import json
import os

import pytest

from conftest import metrics_of, write_config
from dnncli.report.progress import JsonlReporter, PlainReporter


def test_auto_progress_off_a_terminal_is_plain_lines(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"validation_fraction": 0.2})
    result = dnn("train", "--config", config)  # --progress auto; CliRunner's stderr is not a terminal
    assert result.exit_code == 0, result.output
    assert "\x1b[" not in result.stderr  # no terminal control codes
    lines = result.stderr.splitlines()
    logged = [line for line in lines if line.startswith("iteration ")]
    costs = metrics_of(result.stdout.splitlines()[-1])["costs"]
    assert len(logged) == len(costs) == 4
    for line, record in zip(logged, costs, strict=True):
        assert line.startswith(f"iteration {record['iteration']:>2}/30  cost {record['cost']:.6f}")
        assert f"val cost {record['validation_cost']:.4f}" in line
        assert "dead " in line and "|grad| " in line
    # then the cost curve, highest cost at the top
    # what the end of training says (a baseline not beaten, here after 30 iterations) comes before it
    curve = [line for line in lines[lines.index(logged[-1]) + 1 :] if not line.startswith("Warning: ")]
    top = max(r["cost"] for r in costs)
    assert curve[1].startswith(f"{top:.4f} ┤█") and curve[-1].split()[-1] == "iteration"


def test_jsonl_progress_parses_back_to_the_metrics_records(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"validation_fraction": 0.2})
    result = dnn("train", "--config", config, "--progress", "jsonl")
    assert result.exit_code == 0, result.output
    *stream, folder = result.stdout.splitlines()  # the last line of standard output is the run folder
    events = [json.loads(line) for line in stream]
    assert events[0] == {"event": "start", "iterations": 30, "done": 0}
    assert events[-1] == {"event": "end", "status": "finished"}
    logged = [{k: v for k, v in e.items() if k != "event"} for e in events if e["event"] == "log"]
    assert logged == metrics_of(folder)["costs"]
    assert set(logged[0]) >= {"iteration", "cost", "validation_cost", "validation_accuracy", "dead_relu"}
    assert result.stderr == ""  # no curve, no lines: stdout carries everything


def test_rich_progress_prints_the_logged_lines_and_the_curve(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("train", "--config", config, "--progress", "rich")
    assert result.exit_code == 0, result.output
    costs = metrics_of(result.stdout.splitlines()[-1])["costs"]
    for record in costs:
        assert f"cost {record['cost']:.6f}  dead " in result.stderr
    assert "┤█" in result.stderr and "└──" in result.stderr


def test_quiet_draws_no_curve(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 0
    assert result.stderr == ""


def test_a_resumed_run_draws_its_whole_curve(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"checkpoint_every": 10})
    first = dnn("train", "--config", config, "--quiet")
    folder = first.stdout.strip()
    result = dnn("train", "--resume", folder, "--set", "training.iterations=50", "--progress", "plain")
    assert result.exit_code == 0, result.output
    assert [r["iteration"] for r in metrics_of(folder)["costs"]] == [0, 10, 20, 29, 30, 40, 49]
    assert result.stderr.splitlines()[-1].split()[:2] == ["0", "49"]


@pytest.mark.parametrize("kind", [PlainReporter, JsonlReporter])
def test_a_reader_that_goes_away_does_not_stop_training(kind):
    read, write = os.pipe()
    os.close(read)  # `dnn train ... | head -2`: head has exited
    with open(write, "w") as stream:
        reporter = kind(stream)
        reporter.start(10, 0)
        reporter.log({"iteration": 0, "cost": 0.7})  # a BrokenPipeError here would end the run unsaved
        reporter.log({"iteration": 9, "cost": 0.6})
        reporter.finish("finished")
        assert reporter.stream is None
