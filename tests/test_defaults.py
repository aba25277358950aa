"""One home for each default: tables that repeat a table's keys agree with it, and every copy of a default that
cannot import its home (a help text) says what the home says."""

import numpy as np
import pytest

from dnncli.config.build import build_settings, output_for
from dnncli.config.load import resolve
from dnncli.config.schema import SCHEMA
from dnncli.engine import ACTIVATIONS, OPTIMIZERS, THRESHOLD, Network, Settings
from dnncli.engine.fastpath import LINEAR_OPTIMIZERS
from dnncli.model.onnx_export import ONNX_ACTIVATIONS


def test_onnx_has_an_operator_for_every_hidden_activation_and_no_other():
    assert set(ONNX_ACTIVATIONS) == set(ACTIVATIONS)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_an_optimizer_s_copies_are_the_arrays_of_state_it_makes_per_parameter(name):
    params = {"W1": np.zeros((3, 4)), "b1": np.zeros((3, 1))}
    state = OPTIMIZERS[name].init_state(params)
    for parameter, value in params.items():
        arrays = [array for key, array in state.items() if key.endswith(f"_{parameter}")]
        assert len(arrays) == OPTIMIZERS[name].copies and all(a.shape == value.shape for a in arrays)


def test_the_fast_path_follows_the_optimizers_the_table_calls_linear():
    assert LINEAR_OPTIMIZERS == ("gd", "momentum")  # an update linear in the gradient: w -= lr (a g + b v)


def test_a_config_s_defaults_are_the_engine_s():
    config = resolve(
        {"data": {"train": "x.h5"}, "model": {"layers": [4, 1]}, "training": {"learning_rate": 0.1, "iterations": 1}}
    )
    settings, engine = build_settings(config), Settings(0.1)
    assert (settings.seed, settings.batch_norm_momentum) == (engine.seed, engine.batch_norm_momentum)
    # the config's output is auto, which the data decides; on two classes and one output unit it is the engine's
    assert config["model"]["output"] == "auto" and output_for(None, 1) == Network((4, 1), ()).output
    assert config["model"]["batch_norm_epsilon"] == Network((4, 1), ()).batch_norm_epsilon
    assert SCHEMA["seed"].default == 1


def test_the_threshold_predict_s_help_names_is_the_engine_s(dnn):
    assert f"[default: {THRESHOLD:g}]" in " ".join(dnn("predict", "--help").stdout.split())


def test_the_threshold_rules_the_command_line_offers_are_the_models():
    from dnncli.cli.evaluate import THRESHOLD_RULES
    from dnncli.model.thresholds import RULES

    assert THRESHOLD_RULES == RULES
