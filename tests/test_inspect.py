import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from conftest import write_config
from dnncli.config.schema import SCHEMA, Field
from dnncli.data.hdf5 import write_hdf5
from dnncli.model import checkpoint

TIMINGS = ("started", "updated", "seconds")


def finding(output, what):
    """The text of a `dnn check` line, e.g. finding(out, "initial cost")."""
    return next(line.split(":", 1)[1].strip() for line in output.splitlines() if line.startswith(what + ":"))


# --- dnn check -----------------------------------------------------------------


def test_check_reports_the_initial_cost_that_training_starts_from(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("check", "--config", config)
    assert result.exit_code == 0, result.output
    assert not Path("runs").exists()  # a dry run writes nothing
    assert "300 examples of 64x64x3 = 12288 values; plain 150, shape 150" in finding(result.output, "train set")
    assert "98,353 parameters" in finding(result.output, "model")  # 12288*8+8 + 8*4+4 + 4*1+1
    initial = float(finding(result.output, "initial cost").split(";")[0])
    assert f"expected about ln 2 = {math.log(2):.6f}" in result.output
    assert "warning:" not in result.output
    assert result.output.splitlines()[-1] == f"ready: dnn train --config {config}"
    # the cost of the first training step is taken before the update: the same number
    trained = dnn("train", "--config", config, "--quiet")
    metrics = json.loads((Path(trained.stdout.strip()) / "metrics.json").read_text())
    assert round(metrics["costs"][0]["cost"], 6) == initial


def test_check_shows_where_a_yaml_error_is(in_tmp, dnn):
    (in_tmp / "bad.yaml").write_text("name: t\nmodel:\n  layers: [1, 2\n")
    result = dnn("check", "--config", in_tmp / "bad.yaml")
    assert result.exit_code == 2
    assert re.search(r"bad\.yaml: YAML error at line \d+, column \d+", result.stderr)


def test_check_suggests_the_key_meant(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"learning_rat": 0.1})
    result = dnn("check", "--config", config)
    assert result.exit_code == 2
    assert "training.learning_rat: unknown key (did you mean 'training.learning_rate'?)" in result.stderr


def test_check_finds_a_first_layer_that_does_not_fit_the_pictures(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("check", "--config", config, "--set", "model.layers=[4096, 8, 1]")
    assert result.exit_code == 2
    assert "model.layers: the first size must equal the flattened input, 64x64x3 = 12288, got 4096" in result.stderr
    assert not Path("runs").exists()


def test_check_finds_an_output_that_does_not_fit_the_classes(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, model={"layers": [12288, 8, 3], "output": "softmax"})
    result = dnn("check", "--config", config)
    assert result.exit_code == 2
    assert "the last size must equal the number of classes, 2, got 3" in result.stderr


def test_check_finds_labels_out_of_range(in_tmp, demo_data, dnn):
    pictures = np.zeros((4, 64, 64, 3), dtype=np.uint8)
    write_hdf5(in_tmp / "train.h5", "train", pictures, [0, 1, 2, 1], ["a", "b"])
    config = write_config(in_tmp / "c.yaml", demo_data, data={"train": str(in_tmp / "train.h5"), "test": None})
    result = dnn("check", "--config", config)
    assert result.exit_code == 2
    assert "must lie in 0..1 (2 classes), found 0..2" in result.stderr


def test_check_finds_an_output_folder_it_cannot_write(in_tmp, demo_data, dnn):
    (in_tmp / "taken").write_text("a file, not a folder")
    config = write_config(in_tmp / "c.yaml", demo_data, output={"dir": str(in_tmp / "taken" / "runs")})
    result = dnn("check", "--config", config)
    assert result.exit_code == 2
    assert "output.dir: cannot write run folders under" in result.stderr


def test_check_warns_of_an_initial_cost_far_above_ln_k(in_tmp, demo_data, dnn):
    # white pictures give every example the same large output under he initialisation (seed 1)
    pictures = np.full((6, 64, 64, 3), 255, dtype=np.uint8)
    write_hdf5(in_tmp / "white.h5", "train", pictures, [0, 1] * 3, ["a", "b"])
    config = write_config(
        in_tmp / "c.yaml",
        demo_data,
        data={"train": str(in_tmp / "white.h5"), "test": None},
        model={"layers": [12288, 8, 1], "init": "he"},
    )
    result = dnn("check", "--config", config)
    assert result.exit_code == 0, result.output
    initial = float(finding(result.output, "initial cost").split(";")[0])
    assert initial > 1.5 * math.log(2)
    assert f"the initial cost is {initial / math.log(2):.1f} times ln 2" in finding(result.output, "warning")


# --- dnn config show, dnn init-config --------------------------------------------


def test_config_show_fills_every_default(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("config", "show", "--config", config, "--set", "training.optimizer=adam")
    assert result.exit_code == 0, result.output
    shown = yaml.safe_load(result.stdout)

    def keys(schema, prefix=""):
        for key, spec in schema.items():
            yield from keys(spec, f"{prefix}{key}.") if isinstance(spec, dict) else [prefix + key]

    for key in keys(SCHEMA):
        node = shown
        for part in key.split("."):
            node = node[part]
    assert shown["training"]["optimizer"]["name"] == "adam" and "beta1" in shown["training"]["optimizer"]


def test_training_from_config_show_gives_the_same_run(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"validation_fraction": 0.2, "keep_prob": 0.9})
    shown = dnn("config", "show", "--config", config).stdout
    (in_tmp / "shown.yaml").write_text(shown)
    first = Path(dnn("train", "--config", config, "--quiet").stdout.strip())
    second = Path(dnn("train", "--config", in_tmp / "shown.yaml", "--quiet").stdout.strip())
    assert first != second
    a, b = checkpoint.load(first / "checkpoint.npz"), checkpoint.load(second / "checkpoint.npz")
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    ma, mb = (json.loads((f / "metrics.json").read_text()) for f in (first, second))
    assert {k: v for k, v in ma.items() if k not in TIMINGS} == {k: v for k, v in mb.items() if k not in TIMINGS}
    assert (first / "config.yaml").read_text() == (second / "config.yaml").read_text() == shown


def test_init_config_writes_a_starter_that_checks(in_tmp, demo_data, dnn):
    (in_tmp / "data").mkdir()
    (in_tmp / "data" / "demo").symlink_to(demo_data)
    result = dnn("init-config")
    assert result.exit_code == 0, result.output
    text = (in_tmp / "dnn.yaml").read_text()
    data = yaml.safe_load(text)

    def fields(schema):
        for spec in schema.values():
            yield from fields(spec) if isinstance(spec, dict) else [spec]

    assert all(f"# {spec.help}" in text for spec in fields(SCHEMA) if isinstance(spec, Field))
    assert data["data"]["train"] == "data/demo/train.h5"
    checked = dnn("check", "--config", "dnn.yaml")
    assert checked.exit_code == 0, checked.output


def test_init_config_refuses_to_overwrite_without_force(in_tmp, dnn):
    (in_tmp / "mine.yaml").write_text("precious: true\n")
    result = dnn("init-config", "mine.yaml")
    assert result.exit_code == 2
    assert "mine.yaml: already exists; pass --force to overwrite it" in result.stderr
    assert (in_tmp / "mine.yaml").read_text() == "precious: true\n"
    assert dnn("init-config", "mine.yaml", "--force").exit_code == 0
    assert "learning_rate: 0.0075" in (in_tmp / "mine.yaml").read_text()


def test_init_config_in_a_subfolder_points_at_the_same_data(in_tmp, dnn):
    assert dnn("init-config", "configs/mine.yaml").exit_code == 0
    data = yaml.safe_load((in_tmp / "configs" / "mine.yaml").read_text())
    assert data["data"]["train"] == "../data/demo/train.h5"


# --- dnn summary -----------------------------------------------------------------


def test_summary_of_a_run_counts_the_checkpoints_weights(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    folder = dnn("train", "--config", config, "--quiet").stdout.strip()
    result = dnn("summary")  # the latest run
    assert result.exit_code == 0, result.output
    params = checkpoint.load(Path(folder) / "checkpoint.npz").params
    total = sum(p.size for p in params.values())
    assert f"network of {folder}" in result.stdout
    assert f"{total:,} parameters, {total * 8 / 1024:.1f} KiB of weights (float64)" in result.stdout
    for name, p in params.items():
        if name.startswith("W"):
            assert f"({p.shape[0]}, {p.shape[1]})" in result.stdout
    assert dnn("summary", "--run", folder).stdout == result.stdout


def test_summary_of_a_config(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data)
    result = dnn("summary", "--config", config, "--set", "model.layers=[12288, 3, 2]", "--set", "model.output=softmax")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if re.match(r"│ \d", line)]
    assert rows[0][1:5] == ["1", "│", "3", "│"] and "softmax" in rows[1]
    assert "36,875 parameters" in result.stdout  # 12288*3+3 + 3*2+2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--run", "nowhere"], "nowhere: no such run folder"),
        ([], "no runs yet under runs/"),
        (["--run", ".", "--config", "c.yaml"], "give --run DIR or --config FILE, not both"),
    ],
)
def test_summary_errors(in_tmp, dnn, args, message):
    result = dnn("summary", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_summary_of_a_folder_with_only_a_checkpoint(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, dtype="float32")
    folder = Path(dnn("train", "--config", config, "--quiet").stdout.strip())
    (in_tmp / "model").mkdir()
    (in_tmp / "model" / "checkpoint.npz").write_bytes((folder / "checkpoint.npz").read_bytes())
    result = dnn("summary", "--run", in_tmp / "model")
    assert result.exit_code == 0, result.output
    assert "98,353 parameters" in result.stdout and "(float32)" in result.stdout
