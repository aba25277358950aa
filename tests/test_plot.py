import sys
from pathlib import Path

import pytest
from PIL import Image

from conftest import train_quietly, write_config
from dnncli.extras import install_command


def test_plot_of_two_runs_is_a_png(in_tmp, demo_data, dnn):
    pytest.importorskip("matplotlib")
    config = write_config(in_tmp / "c.yaml", demo_data)
    _, plain = train_quietly(dnn, config)
    _, validated = train_quietly(dnn, config, "--set", "training.validation_fraction=0.2")
    result = dnn("plot", plain, validated, "--out", "both.png")
    assert result.exit_code == 0, result.output
    assert result.stdout == "both.png\n"
    with Image.open("both.png") as picture:
        assert picture.format == "PNG" and picture.size == (1000, 600)
    assert dnn("plot", plain).stdout == "cost.png\n" and Path("cost.png").exists()


def test_plot_errors(in_tmp, demo_data, dnn):
    pytest.importorskip("matplotlib")
    Path("runs/t/1").mkdir(parents=True)
    result = dnn("plot", "runs/t/1")
    assert result.exit_code == 2 and "runs/t/1: no metrics.json" in result.stderr
    assert dnn("plot", "nowhere").exit_code == 2
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data))
    result = dnn("plot", folder, "--out", "curve.txt")
    assert result.exit_code == 2 and "curve.txt: cannot write a .txt picture" in result.stderr
    assert not Path("curve.txt").exists()


def test_plot_without_matplotlib_says_how_to_get_it(in_tmp, demo_data, dnn, monkeypatch):
    _, folder = train_quietly(dnn, write_config(in_tmp / "c.yaml", demo_data))
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # import of it fails, as when it is not installed
    result = dnn("plot", folder)
    assert result.exit_code == 2
    assert (
        f"Error: dnn plot needs matplotlib (the optional plot extra); install it with: {install_command('plot')}"
        in result.stderr
    )
