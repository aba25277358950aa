"""`dnn lr-find`: the range test never writes a run, writes its curve, and its suggestion trains better than a
hundred times more and a hundredth of it."""

import json
import math
from pathlib import Path

from conftest import CAT_FILES, CONFIGS, metrics_of, write_config


def range_test(dnn, config, folder, *args):
    result = dnn("lr-find", "--config", config, "--out", folder / "curve.json", *args)
    assert result.exit_code == 0, result.output
    return result, json.loads((folder / "curve.json").read_text())


def test_the_range_test_writes_its_curve_and_no_run(dnn, in_tmp, demo_data):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result, curve = range_test(dnn, config, in_tmp, "--steps", "40")
    assert sorted(p.name for p in in_tmp.iterdir()) == ["c.yaml", "curve.json", "curve.png"]  # no runs/
    assert (in_tmp / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rates = curve["rates"]
    assert rates == sorted(rates) and math.isclose(rates[0], 1e-7)
    assert len(rates) == len(curve["costs"]) == len(curve["smoothed"]) <= 40
    assert curve["suggestion"] in rates and curve["minimum_rate"] in rates
    assert curve["rule"].startswith("steepest descent of the smoothed cost")
    last = result.stdout.strip().splitlines()[-1]
    assert last == f"suggested learning rate: {curve['suggestion']:.3g} ({curve['rule']})"
    assert f"that rate / 10: {curve['minimum_over_10']:.3g}" in result.stdout


def test_the_range_test_stops_when_the_cost_runs_away(dnn, in_tmp, demo_data):
    config = write_config(
        in_tmp / "c.yaml", demo_data, training={"learning_rate": 0.01, "optimizer": "adam", "iterations": 1}
    )
    result, curve = range_test(dnn, config, in_tmp, "--start", "1e-4", "--end", "1e4", "--steps", "60")
    assert len(curve["rates"]) < 60
    assert "passed 4 times its best" in curve["stopped"] or "the cost became" in curve["stopped"]
    assert curve["suggestion"] < curve["rates"][-1]


def test_the_range_test_follows_the_cost_without_the_l2_term(dnn, in_tmp, demo_data):
    """Large rates shrink the L2 term by driving the weights toward zero; the curve must not take that for learning."""
    curves = []
    for l2 in (0, 5):
        config = write_config(in_tmp / f"c{l2}.yaml", demo_data, training={"l2": l2, "batch_size": 16})
        curves.append(range_test(dnn, config, in_tmp, "--steps", "5")[1])
    plain, penalised = curves
    assert math.isclose(plain["costs"][0], penalised["costs"][0], rel_tol=1e-9)  # the same weights, the same batch
    assert plain["costs"][1] != penalised["costs"][1]  # the L2 term is in the updates


def test_bad_bounds_are_one_line(dnn, in_tmp, demo_data):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("lr-find", "--config", config, "--start", "1", "--end", "0.1")
    assert result.exit_code == 2
    assert "need 0 < start < end" in result.stderr


def test_rates_across_the_whole_float_range_are_finite_and_evenly_spaced_in_logs():
    from dnncli.run.lrfind import rates

    tried = rates(1e-300, 1e300, 7)  # end / start overflows a float
    assert tried[0] == 1e-300 and tried[-1] == 1e300
    steps = [math.log10(b) - math.log10(a) for a, b in zip(tried, tried[1:], strict=False)]
    assert all(math.isclose(step, 100, rel_tol=1e-9) for step in steps)


def test_a_start_that_diverges_at_once_says_how_fast_the_rate_grows(dnn, in_tmp, demo_data):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("lr-find", "--config", config, "--start", "1e3", "--end", "1e299", "--steps", "5")
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith("Error: --start 1000: the ") and "within 3 steps; start lower" in line
    assert line.endswith("or take more --steps (each now multiplies the rate by 1e+74)")
    assert not (in_tmp / "lr-find.json").exists()


def final_cost(dnn, root, config, cat, rate, iterations, *sets):
    """The training cost after ``iterations`` at ``rate`` (infinite for a run that diverged)."""
    result = dnn(
        "train",
        "--config",
        config,
        "--quiet",
        "--set",
        f"data.train={cat / CAT_FILES[0]}",
        "--set",
        f"data.test={cat / CAT_FILES[1]}",
        "--set",
        f"training.learning_rate={rate}",
        "--set",
        f"training.iterations={iterations}",
        "--set",
        "training.epochs=null",
        "--set",
        f"training.log_every={iterations}",
        "--set",
        "training.checkpoint_every=null",
        "--set",
        f"output.dir={root / 'runs'}",
        *sets,
    )
    if result.exit_code == 1:
        return math.inf
    assert result.exit_code == 0, result.output
    return metrics_of(Path(result.stdout.strip().splitlines()[-1]))["train"]["cost"]


def suggestion_and_costs(dnn, root, cat, config, iterations, *sets):
    """The range test's suggestion on ``config``, and the training costs at a hundredth of it, at it and at a
    hundred times it after ``iterations``."""
    data = ["--set", f"data.train={cat / CAT_FILES[0]}", "--set", f"data.test={cat / CAT_FILES[1]}"]
    _, curve = range_test(dnn, config, root, *data, *sets)
    rate = curve["suggestion"]
    return rate, [final_cost(dnn, root, config, cat, r, iterations, *sets) for r in (rate / 100, rate, rate * 100)]


def test_the_suggested_rate_beats_a_hundred_times_more_and_less(dnn, in_tmp, cat_data):
    """On the cat job with gradient descent."""
    rate, costs = suggestion_and_costs(dnn, in_tmp, cat_data, CONFIGS / "cat.yaml", 1500)
    assert costs[1] < costs[0] and costs[1] < costs[2], (rate, costs)


def test_with_adam_on_mini_batches_the_suggested_rate_beats_a_hundred_times_more_and_less(dnn, in_tmp, cat_data):
    """Adam on mini-batches of 64 (no L2): a hundred times the suggestion kills the network within a few hundred
    updates, and a dead network's cost stops at that of predicting the share of cats (0.644); the suggestion
    learns steadily and is below that by 1000 updates (README, lr-find)."""
    sets = ["--set", "training.batch_size=64", "--set", "training.l2=0"]
    rate, costs = suggestion_and_costs(dnn, in_tmp, cat_data, CONFIGS / "cat-adam.yaml", 1000, *sets)
    assert costs[1] < costs[0] and costs[1] < costs[2], (rate, costs)


def test_without_matplotlib_the_curve_is_drawn_in_text():
    from dnncli.report.plot import rate_curve_text
    from dnncli.run.lrfind import RangeTest, rates

    tried = rates(1e-6, 1.0, 30)
    smoothed = [0.7 - 0.01 * i for i in range(20)] + [0.5 + 0.05 * i for i in range(10)]
    lines = rate_curve_text(RangeTest(tried, smoothed, smoothed, "test", tried[10], tried[19]))
    assert lines[-1].strip().startswith("1.0e-06") and lines[-1].endswith("1.0e+00  rate (log)")
    assert any("▁" in line or "█" in line for line in lines)


def column_heights(lines):
    """Eighths of a cell filled in each column of a block chart of ``cost_curve``."""
    from dnncli.report.progress import BLOCKS

    rows = [line.split("┤" if "┤" in line else "│", 1)[1] for line in lines if "┤" in line or "│" in line]
    return [sum(BLOCKS.index(row[c]) for row in rows) for c in range(len(rows[0]))]


def test_the_text_chart_cuts_off_the_rise_at_the_end_as_the_picture_does():
    """A descent from 1 to 0.5, then the rise to 4 times the best that ends the test: the descent fills the chart."""
    from dnncli.report.plot import rate_curve_text, rate_curve_view
    from dnncli.run.lrfind import RangeTest

    smoothed = [1.0 - 0.5 * i / 39 for i in range(40)] + [0.5 + 1.5 * i / 19 for i in range(1, 20)]
    found = RangeTest([10 ** (i / 10 - 7) for i in range(59)], smoothed, smoothed, "x", 1e-5, 1e-4)
    low, high = rate_curve_view(found)
    assert low < 0.5 < 1.0 < high < 1.1  # the view the picture is drawn with (ax.set_ylim)
    lines = rate_curve_text(found)
    heights = column_heights(lines)
    top = max(heights)
    middle = heights[round(20 / 58 * (len(heights) - 1))]  # smoothed cost about 0.75: half way down the descent
    assert heights[0] >= 0.9 * top and heights[-1] == top  # the start near the top, the rise cut off at it
    assert 0.35 * top <= middle <= 0.65 * top  # unclipped, 0.75 of a 0.5..2 range would be a sixth of it
    assert lines[0].strip() == "cost  (the rise at the end, up to 2.0000, is cut off at the top)"
