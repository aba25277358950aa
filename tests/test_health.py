import json
import math
from pathlib import Path

import numpy as np
import pytest

from conftest import write_config
from dnncli.engine import Network, compute_cost, encode_labels, initialize
from dnncli.engine.health import layer_health, rising_streak
from dnncli.report.progress import cost_curve, record_line
from dnncli.run.advice import RISING_WARNING, training_warnings


def numerical_gradient_norms(net, params, X, Y, l2, h=1e-6):
    """Per layer sqrt(||dW||^2 + ||db||^2) by central differences of the cost."""
    norms = []
    for l in range(1, net.depth + 1):
        total = 0.0
        for name in (f"W{l}", f"b{l}"):
            p = params[name]
            for index in np.ndindex(p.shape):
                keep = p[index]
                p[index] = keep + h
                up = compute_cost(net, params, X, Y, l2)
                p[index] = keep - h
                down = compute_cost(net, params, X, Y, l2)
                p[index] = keep
                total += ((up - down) / (2 * h)) ** 2
        norms.append(math.sqrt(total))
    return norms


@pytest.mark.parametrize("output, activations", [("sigmoid", ("relu", "tanh")), ("softmax", ("leaky_relu", "relu"))])
def test_gradient_norms_match_central_differences(output, activations):
    rng = np.random.default_rng(4)
    net = Network((5, 4, 3, 1 if output == "sigmoid" else 3), activations, output)
    params = initialize(net.layers, "he", 2)
    X = rng.normal(size=(5, 7))
    Y = encode_labels(net, rng.integers(0, net.n_classes, size=7))
    health = layer_health(net, params, X, Y, l2=0.3)
    np.testing.assert_allclose(health["gradient_norm"], numerical_gradient_norms(net, params, X, Y, 0.3), rtol=1e-5)


def test_dead_units_are_those_that_output_zero_for_every_example():
    net = Network((2, 4, 3, 1), ("relu", "tanh"), "sigmoid")
    params = initialize(net.layers, "he", 1)
    X = np.array([[0.5, 1.0, 3.0], [1.0, 0.2, 0.1]])
    params["W1"][:] = [[1.0, 1.0], [-1.0, -1.0], [1.0, 0.0], [1.0, -10.0]]  # unit 2 is never positive
    health = layer_health(net, params, X, encode_labels(net, np.array([0, 1, 1])))
    assert health["dead_relu"] == [0.25, None]  # None: tanh does not die that way
    assert len(health["gradient_norm"]) == 3


def test_a_layer_of_dead_units_passes_no_gradient():
    net = Network((3, 2, 1), ("relu",), "sigmoid")
    params = initialize(net.layers, "course", 1)
    params["W1"][:] = -1.0
    X = np.abs(np.random.default_rng(0).normal(size=(3, 5)))
    health = layer_health(net, params, X, encode_labels(net, np.array([0, 1, 0, 1, 1])))
    assert health["dead_relu"] == [1.0]
    assert health["gradient_norm"][0] == 0.0 and health["gradient_norm"][1] > 0


@pytest.mark.parametrize(
    "costs, streak", [([], 0), ([1.0], 0), ([1, 2, 3], 2), ([3, 2, 1], 0), ([1, 3, 2, 4, 5], 2), ([1, 1, 2], 1)]
)
def test_rising_streak(costs, streak):
    assert rising_streak(costs) == streak


def test_warnings_are_said_once_when_they_start():
    history, said = [], []
    costs = [0.7, 0.6, 0.61, 0.62, 0.63, 0.64, 0.65, 0.66, 0.5]
    dead = [[0.0], [0.5], [1.0], [1.0], [1.0], [0.0], [1.0], [1.0], [1.0]]
    for i, (cost, d) in enumerate(zip(costs, dead, strict=True)):
        history.append({"iteration": 10 * i, "cost": cost, "dead_relu": d})
        said += [(i, text) for text in training_warnings(history, 0.5)]
    rising = [i for i, text in said if "risen" in text]
    dying = [i for i, text in said if "outputs 0" in text]
    assert rising == [1 + RISING_WARNING]  # the fifth rise in a row, then quiet while it goes on
    assert dying == [2, 6]
    assert all("training.learning_rate 0.5 may be too high" in text for _, text in said if "risen" in text)


def test_cost_curve_draws_the_logged_costs():
    records = [{"iteration": 10 * i, "cost": 1.0 / (i + 1)} for i in range(100)]
    lines = cost_curve(records, width=40, height=5)
    assert lines[1].startswith("1.0000 ┤") and lines[5].startswith("0.0100 ┤")
    bars = [line[len("1.0000 ┤") :] for line in lines[1:6]]
    assert all(len(row) == 40 for row in bars)
    assert all(row[0] == "█" for row in bars)  # the highest cost fills its column
    assert [row[-1] for row in bars] == [" "] * 4 + ["▁"]  # the lowest shows as one eighth
    assert lines[-1].split() == ["0", "990", "iteration"]
    assert cost_curve(records[:1]) == [] and cost_curve([]) == []


def test_record_line_shows_every_field():
    line = record_line(
        {"iteration": 5, "cost": 0.5, "dead_relu": [0.25, None], "gradient_norm": [0.5, 0.001], "lr": 0.01},
        100,
        1.25,
    )
    assert line == "iteration   5/100  cost 0.500000  dead 25% -  |grad| 5.0e-01 1.0e-03  lr 0.01  1.2s"


def test_metrics_log_health_at_every_log_point(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"batch_size": 64, "learning_rate": 0.01})
    result = dnn("train", "--config", config, "--quiet")
    assert result.exit_code == 0, result.output
    metrics = json.loads((Path(result.stdout.strip()) / "metrics.json").read_text())
    for record in metrics["costs"]:
        assert len(record["dead_relu"]) == 2 and all(0 <= d <= 1 for d in record["dead_relu"])
        assert len(record["gradient_norm"]) == 3 and all(g >= 0 for g in record["gradient_norm"])


def test_a_layer_dying_in_training_is_warned_of(in_tmp, demo_data, dnn):
    config = write_config(
        in_tmp / "c.yaml", demo_data, model={"layers": [12288, 2, 1]}, training={"learning_rate": 0.1}
    )
    result = dnn("train", "--config", config, "--progress", "plain")
    assert result.exit_code == 1, result.output  # trained to the end, a network with a dead layer learned nothing
    assert "Error: the model learned nothing: every unit of hidden layer 1 outputs 0" in result.stderr
    metrics = json.loads((in_tmp / "runs" / "t" / "1" / "metrics.json").read_text())
    first_dead = next(r["iteration"] for r in metrics["costs"] if r["dead_relu"] == [1.0])
    assert (
        f"Warning: every ReLU unit of layer 1 outputs 0 on the whole batch at iteration {first_dead}" in result.stderr
    )
    assert result.stderr.count("Warning: every ReLU unit") == 1


@pytest.mark.parametrize("fast_path", ["on", "off"])
def test_a_step_observes_the_health_of_its_own_pass(fast_path):
    from dnncli.engine import ArraySource, Settings, make_trainer

    rng = np.random.default_rng(5)
    net = Network((30, 6, 4, 1), ("relu", "tanh"))
    params = initialize(net.layers, "he", 1)
    rows = rng.normal(size=(12, 30))
    Y = encode_labels(net, rng.integers(0, 2, size=12))
    expected = layer_health(net, {k: v.copy() for k, v in params.items()}, rows.T, Y, l2=0.4)
    settings = Settings(0.1, optimizer="momentum", l2=0.4)
    trainer = make_trainer(net, params, settings, ArraySource(rows, Y), fast_path=fast_path)
    assert trainer.fast == (fast_path == "on")
    trainer.step(observe=True)
    assert trainer.health["dead_relu"] == expected["dead_relu"]
    np.testing.assert_allclose(trainer.health["gradient_norm"], expected["gradient_norm"], rtol=1e-10)
