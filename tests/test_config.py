"""Config mistakes end in one line on stderr naming the key, and exit code 2."""

import pytest
import yaml

from conftest import write_config
from dnncli.config import load as configs


def error_line(result):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def train(dnn, path, *sets):
    args = ["train", "--config", path, "--quiet"]
    for s in sets:
        args += ["--set", s]
    return dnn(*args)


@pytest.mark.parametrize(
    "sets,expected",
    [
        (["training.learning_rat=0.1"], "unknown key (did you mean 'training.learning_rate'?)"),
        (["training.learning_rate=-1"], "training.learning_rate: must be greater than 0, got -1"),
        (["training.learning_rate=0"], "training.learning_rate: must be greater than 0"),
        (["training.learning_rate=fast"], "training.learning_rate: must be a number, got 'fast'"),
        (["training.iterations=0"], "training.iterations: must be at least 1"),
        (["training.iterations=2.5"], "training.iterations: must be a whole number"),
        (["model.layers=[12288, 0, 1]"], "model.layers: must hold positive whole numbers only"),
        (["model.layers=[12288, -3, 1]"], "model.layers: must hold positive whole numbers only"),
        (["model.layers=12288"], "model.layers: must be a list of at least two sizes"),
        (["model.activation=relux"], "model.activation: must be one of"),
        (["model.init=kaiming"], "model.init: must be one of course, he, xavier, small, got 'kaiming'"),
        (
            ["model.layers=[100, 20, 1]"],
            "model.layers: the first size must equal the flattened input, 64x64x3 = 12288, got 100",
        ),
        (["model.output=sigmoid", "model.layers=[12288, 20, 2]"], "model.layers: a sigmoid output has one unit"),
        (["model.layers=[12288, 20, 3]"], "model.layers: the last size must equal the number of classes, 2, got 3"),
        (["model.layers=[12288, 1000000000000, 1]"], "model.layers: training this network needs at least"),
        (["dtype=float16"], "dtype: must be one of float64, float32"),
        (["seed=-1"], "seed: must be at least 0"),
        (["data.train=nowhere.h5"], "nowhere.h5: no such data file"),
        (
            ["data.keys.train_x=pictures"],
            "no dataset 'pictures' (the file has: list_classes, train_set_x, train_set_y); set data.keys.train_x",
        ),
        (
            ["training.optimizer=adamw"],
            "training.optimizer: must be one of gd, momentum, adam, rmsprop (did you mean 'adam'?)",
        ),
        (
            ["training.optimizer.beta=0.5", "training.optimizer.name=adam"],
            "adam has no setting 'beta' (did you mean 'beta",
        ),
        (["training.keep_prob=1.5"], "training.keep_prob: must be at most 1, got 1.5"),
        (["training.keep_prob=[0.5]"], "training.keep_prob: a list needs one entry per hidden layer (2), got 1"),
        (["training.epochs=3"], "set training.iterations or training.epochs (not both)"),
        (["training.early_stopping.patience=3"], "set training.validation_fraction above 0"),
        (["training.fast_path=on", "training.optimizer=adam"], "training.fast_path: 'on' cannot be served"),
        (["training.learning_rate"], "--set 'training.learning_rate': expected KEY=VALUE"),
        (["nonsense.key=1"], "--set nonsense.key: unknown key"),
        (
            ["training.optimizer=1", "training.optimizer.beta1=0.9"],
            "--set training.optimizer.beta1: training.optimizer is 1, neither a name nor a section",
        ),
    ],
)
def test_config_errors(in_tmp, demo_data, dnn, sets, expected):
    path = write_config(in_tmp / "c.yaml", demo_data)
    line = error_line(train(dnn, path, *sets))
    assert line.startswith("Error: ")
    assert expected in line
    assert not (in_tmp / "runs").exists()


def test_unknown_key_in_the_file_names_the_file(in_tmp, demo_data, dnn):
    path = write_config(in_tmp / "c.yaml", demo_data, trainig={"iterations": 3})
    line = error_line(train(dnn, path))
    assert line == f"Error: {path}: trainig: unknown key (did you mean 'training'?)"


@pytest.mark.parametrize("key", ["data.train", "data.test", "output.dir"])
def test_a_path_with_a_nul_character_is_a_config_error(in_tmp, demo_data, dnn, key):
    # YAML spells NUL as "\0" in double quotes; no operating system takes such a path
    path = write_config(in_tmp / "c.yaml", demo_data)
    section, name = key.split(".")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.setdefault(section, {})[name] = "PLACEHOLDER"
    text = yaml.safe_dump(config).replace("PLACEHOLDER", '"a\\0b.h5"')
    path.write_text(text, encoding="utf-8")
    line = error_line(train(dnn, path))
    assert line == f"Error: {path}: {key}: must be a file path without a NUL character, got 'a\\x00b.h5'"


def test_yaml_syntax_error_has_line_and_column(in_tmp, dnn):
    path = in_tmp / "bad.yaml"
    path.write_text("name: x\nmodel:\n  layers: [1, 2\n")
    line = error_line(train(dnn, path))
    assert "YAML error at line 4, column 1" in line and str(path) in line


def test_yaml_python_tag_is_refused(in_tmp, dnn):
    path = in_tmp / "evil.yaml"
    marker = in_tmp / "pwned"
    path.write_text(f"name: !!python/object/apply:os.system ['touch {marker}']\n")
    line = error_line(train(dnn, path))
    assert "tags that build Python objects are not allowed" in line
    assert not marker.exists()


def test_missing_config_and_missing_required_key(in_tmp, demo_data, dnn):
    assert "nope.yaml: no such config file" in error_line(train(dnn, in_tmp / "nope.yaml"))
    path = in_tmp / "c.yaml"
    path.write_text(yaml.safe_dump({"data": {"train": str(demo_data / "train.h5")}, "model": {"layers": [12288, 1]}}))
    assert "training.learning_rate: missing" in error_line(train(dnn, path))


def test_config_must_be_a_mapping(in_tmp, dnn):
    path = in_tmp / "list.yaml"
    path.write_text("- 1\n- 2\n")
    assert "a config must be a mapping" in error_line(train(dnn, path))


def test_train_needs_a_config_or_a_run(dnn):
    result = dnn("train")
    assert result.exit_code == 2 and "--config FILE" in result.stderr


def test_relative_data_paths_follow_the_config_file(tmp_path, demo_data):
    folder = tmp_path / "configs"
    folder.mkdir()
    path = folder / "c.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "data": {"train": "../d/train.h5"},
                "model": {"layers": [2, 1]},
                "training": {"learning_rate": 1, "iterations": 1},
            }
        )
    )
    config = configs.load(path)
    assert config["data"]["train"] == str((tmp_path / "d" / "train.h5").resolve())


def test_set_parses_yaml_values_and_fills_defaults(tmp_path, demo_data):
    path = write_config(tmp_path / "c.yaml", demo_data)
    config = configs.load(
        path, ["model.layers=[12288, 5, 1]", "training.optimizer=adam", "training.learning_rate=1e-3"]
    )
    assert config["model"]["layers"] == [12288, 5, 1]
    assert config["training"]["optimizer"] == {"name": "adam", "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    assert config["training"]["learning_rate"] == 0.001
    assert (
        configs.load(path, ["training.optimizer.beta1=0.8", "training.optimizer.name=adam"])["training"]["optimizer"][
            "beta1"
        ]
        == 0.8
    )


def test_dump_reads_back_to_the_same_config(tmp_path, demo_data):
    path = write_config(
        tmp_path / "c.yaml",
        demo_data,
        training={"learning_rate": 0.01, "iterations": 5, "optimizer": "momentum", "keep_prob": [0.9, 0.8]},
    )
    config = configs.load(path)
    again = tmp_path / "again.yaml"
    again.write_text(configs.dump(config))
    assert configs.load(again) == config
