"""Batch normalisation: its gradients, its running statistics, both training paths, checkpoints, resume, the CLI."""

import json

import numpy as np
import pytest

from conftest import arrays, metrics_of, write_config
from dnncli.engine import (
    ACTIVATIONS,
    ArraySource,
    FastTrainer,
    Network,
    Settings,
    Trainer,
    backward,
    batch_norm_arrays,
    check_gradients,
    encode_labels,
    forward,
    initialize,
    make_trainer,
)
from dnncli.engine.gradcheck import numerical_gradient
from dnncli.engine.network import normalise
from dnncli.engine.trainer import dropout_masks
from dnncli.model import checkpoint

TOLERANCE = 1e-7


def bn_problem(layers, activations, batch_norm, output="sigmoid", m=8, seed=0, dtype=np.float64):
    """A network with batch norm, its model arrays (gamma, beta and running statistics moved off their
    start so the check sees them), and a batch."""
    rng = np.random.default_rng(seed)
    net = Network(tuple(layers), tuple(activations), output, tuple(batch_norm))
    params = initialize(net.layers, "xavier", seed, dtype)
    params.update(batch_norm_arrays(net, dtype))
    for name in params:
        if name.startswith(("gamma", "beta", "running_mean")) or name[0] == "b":
            params[name] = (params[name] + rng.normal(0, 0.3, params[name].shape)).astype(dtype)
        if name.startswith("running_var"):
            params[name] = rng.uniform(0.5, 2, params[name].shape).astype(dtype)
    params = {name: params[name] for name in net.array_names}
    X = rng.normal(size=(layers[0], m)).astype(dtype)
    labels = rng.integers(0, net.n_classes, size=m)
    return net, params, X, encode_labels(net, labels, dtype)


def projection(net, m, seed=5):
    return np.random.default_rng(seed).normal(size=(net.layers[-1], m))


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_backprop_through_batch_norm_matches_central_differences(activation):
    net, params, X, Y = bn_problem((5, 4, 3, 1), (activation, activation), (True, True))
    statistics = {name: params[name].copy() for name in net.statistic_names}
    assert max(check_gradients(net, params, X, Y, projection=projection(net, 8))) < TOLERANCE
    for name, value in statistics.items():  # frozen through the check
        np.testing.assert_array_equal(params[name], value)


@pytest.mark.parametrize("output,last", [("sigmoid", 1), ("softmax", 3)])
def test_batch_norm_on_some_layers_with_l2_dropout_and_the_cost(output, last):
    net, params, X, Y = bn_problem((6, 5, 4, 4, last), ("relu", "tanh", "leaky_relu"), (True, False, True), output, m=9)
    masks = dropout_masks(net, (0.7, 1.0, 0.8), seed=2, iteration=0, batch=9, dtype=np.float64)
    assert max(check_gradients(net, params, X, Y, masks, 0.4, projection=projection(net, 9))) < TOLERANCE
    assert max(check_gradients(net, params, X, Y, masks, 0.4)) < TOLERANCE  # the cost too


def test_gamma_and_beta_have_their_gradients_and_b_has_none():
    net, params, X, Y = bn_problem((4, 3, 1), ("relu",), (True,))
    R = projection(net, 8)
    _, cache = forward(net, params, X, training=True)
    grads = backward(net, params, cache, R)
    for name in ("gamma1", "beta1"):
        numeric = numerical_gradient(net, params, X, Y, name, projection=R)
        assert np.abs(grads["d" + name]).max() > 1e-3
        np.testing.assert_allclose(grads["d" + name], numeric, rtol=1e-6, atol=1e-9)
    assert not grads["db1"].any()  # b1 cancels in Z - mean
    assert np.abs(numerical_gradient(net, params, X, Y, "b1", projection=R)).max() < 1e-8
    assert net.layer_param_names(1) == ["W1", "b1", "gamma1", "beta1"]
    assert net.param_names == ["W1", "b1", "gamma1", "beta1", "W2", "b2"]
    assert net.statistic_names == ["running_mean1", "running_var1"]
    assert net.parameter_count == 4 * 3 + 3 + 2 * 3 + 3 + 1


def test_training_mode_normalises_over_the_batch_and_inference_uses_the_running_statistics():
    net, params, X, _ = bn_problem((5, 6, 1), ("relu",), (True,), m=50)
    _, cache = forward(net, params, X, training=True)
    Z = params["W1"] @ X + params["b1"]
    Z_hat = cache[0][3].Z_hat
    np.testing.assert_allclose(Z_hat.mean(axis=1), 0, atol=1e-12)
    np.testing.assert_allclose(Z_hat.var(axis=1), Z.var(axis=1) / (Z.var(axis=1) + 1e-5), rtol=1e-12)
    np.testing.assert_allclose(cache[0][1], params["gamma1"] * Z_hat + params["beta1"], rtol=1e-12)
    _, cache = forward(net, params, X)  # inference
    by_hand = (
        params["gamma1"] * (Z - params["running_mean1"]) / np.sqrt(params["running_var1"] + 1e-5) + params["beta1"]
    )
    np.testing.assert_allclose(cache[0][1], by_hand, rtol=1e-12)
    # in inference mode an example's output does not depend on the others in the batch
    alone, _ = forward(net, params, X[:, :1])
    np.testing.assert_allclose(alone, forward(net, params, X)[0][:, :1], rtol=1e-12)


def test_one_step_updates_the_running_statistics_as_pytorch_does():
    net, params, X, Y = bn_problem((5, 4, 1), ("relu",), (True,), m=10)
    start = {name: params[name].copy() for name in net.statistic_names}
    Z = params["W1"] @ X + params["b1"]  # before the step changes W1
    trainer = Trainer(net, params, Settings(0.1, batch_norm_momentum=0.2), ArraySource(X.T.copy(), Y))
    trainer.step()
    # running = (1 - momentum) running + momentum batch, the batch variance unbiased (m - 1)
    expected_mean = 0.8 * start["running_mean1"] + 0.2 * Z.mean(axis=1, keepdims=True)
    expected_var = 0.8 * start["running_var1"] + 0.2 * Z.var(axis=1, ddof=1, keepdims=True)
    snapshot, state = trainer.snapshot()
    np.testing.assert_allclose(snapshot["running_mean1"], expected_mean, rtol=1e-12)
    np.testing.assert_allclose(snapshot["running_var1"], expected_var, rtol=1e-12)
    assert list(snapshot) == net.array_names
    assert not any("running" in name for name in state)  # statistics are not optimizer state


def test_normalise_in_float32_stays_float32():
    Z = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    out, norm = normalise(Z, np.ones((4, 1), np.float32), np.zeros((4, 1), np.float32), 1e-5)
    assert {a.dtype for a in (out, *norm)} == {np.dtype(np.float32)}


def job(seed=3, features=60, m=40, dtype=np.float64, batch_norm=(True, True), output="sigmoid"):
    """A network with batch norm and its examples: labels of a hidden rule, or for an identity
    output the rule's values themselves."""
    rng = np.random.default_rng(seed)
    net = Network((features, 9, 5, 1), ("relu", "relu"), output, batch_norm)
    params = initialize(net.layers, "he", seed, dtype)
    params.update(batch_norm_arrays(net, dtype))
    params = {name: params[name] for name in net.array_names}
    rows = rng.random((m, features)).astype(dtype)
    rule = rows @ rng.normal(size=features)
    if net.is_regression:
        return net, params, ArraySource(rows, rule.reshape(1, -1).astype(dtype))
    labels = (rule > 0).astype(np.int64)
    return net, params, ArraySource(rows, encode_labels(net, labels, dtype))


def copy(params):
    return {name: p.copy() for name, p in params.items()}


CASES = {
    "gd": dict(),
    "momentum": dict(optimizer="momentum"),
    "momentum+l2+dropout": dict(optimizer="momentum", l2=0.3, keep_probs=(0.9, 0.7)),
}


@pytest.mark.parametrize("output", ["sigmoid", "identity"])
@pytest.mark.parametrize("batch_size", [None, 8], ids=["full-batch", "batches-of-8"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case", CASES)
def test_the_fast_path_serves_batch_norm(case, dtype, batch_size, output):
    net, params, source = job(dtype=dtype, batch_norm=(True, False) if case == "gd" else (True, True), output=output)
    settings_ = Settings(learning_rate=0.05, seed=4, batch_size=batch_size, **CASES[case])
    results = []
    for kind in (Trainer, FastTrainer):
        trainer = kind(net, copy(params), settings_, source)
        costs = [trainer.step() for _ in range(40)]
        results.append((np.array(costs), trainer.snapshot()[0]))
    (costs_g, model_g), (costs_f, model_f) = results
    assert costs_g[-1] < costs_g[0]
    rtol = 1e-9 if dtype == np.float64 else 2e-4
    np.testing.assert_allclose(costs_f, costs_g, rtol=rtol)
    assert list(model_f) == list(model_g) == net.array_names
    for name in net.array_names:
        assert model_f[name].dtype == model_g[name].dtype == dtype
        scale = np.abs(model_g[name]).max()
        np.testing.assert_allclose(model_f[name], model_g[name], rtol=0, atol=rtol * 10 * scale)


@pytest.mark.parametrize("first", [Trainer, FastTrainer])
def test_a_run_with_batch_norm_resumes_bit_for_bit(tmp_path, first):
    net, params, source = job(seed=6)
    settings_ = Settings(learning_rate=0.05, optimizer="momentum", keep_probs=(0.8, 1.0), seed=3)
    if first is Trainer:
        settings_ = Settings(learning_rate=0.01, optimizer="rmsprop", batch_size=16, seed=3)
    straight = first(net, copy(params), settings_, source)
    costs = [straight.step() for _ in range(20)]
    interrupted = first(net, copy(params), settings_, source)
    for _ in range(8):
        interrupted.step()
    header = checkpoint.make_header(net, ["0", "1"], (net.layers[0],), 1.0, "float64", 8)
    checkpoint.save(tmp_path / "c.npz", header, *interrupted.snapshot())
    saved = checkpoint.load(tmp_path / "c.npz")
    assert saved.net == net and saved.header["batch_norm"] == [True, True]
    assert set(net.statistic_names) <= set(saved.params) and not any("running" in n for n in saved.state)
    resumed = make_trainer(net, saved.params, settings_, source, "auto", saved.state, 8)
    assert resumed.fast is straight.fast
    assert [resumed.step() for _ in range(12)] == costs[8:]
    for name, value in straight.snapshot()[0].items():
        np.testing.assert_array_equal(resumed.snapshot()[0][name], value)


def test_a_checkpoint_without_the_statistics_is_refused(tmp_path):
    net, params, _ = job()
    header = checkpoint.make_header(net, ["0", "1"], (net.layers[0],), 1.0, "float64", 0)
    del params["running_var2"]
    checkpoint.save(tmp_path / "c.npz", header, params)
    with pytest.raises(Exception, match="array running_var2 is missing"):
        checkpoint.load(tmp_path / "c.npz")


# --- through the command line ----------------------------------------------


def bn_config(path, demo_data, **training):
    return write_config(
        path,
        demo_data,
        model={"layers": [12288, 8, 4, 1], "batch_norm": True, "batch_norm_momentum": 0.2},
        training={"learning_rate": 0.01, "iterations": 30, "log_every": 10, "checkpoint_every": 10, **training},
    )


def train(dnn, config, *overrides):
    result = dnn("train", "--config", config, "--quiet", *[a for o in overrides for a in ("--set", o)])
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[-1]


def test_dnn_train_with_batch_norm_saves_evaluates_and_predicts_with_the_running_statistics(in_tmp, demo_data, dnn):
    from pathlib import Path

    from dnncli.data.hdf5 import load_hdf5
    from dnncli.model.predict import classify
    from dnncli.model.score import score

    folder = Path(train(dnn, bn_config(in_tmp / "c.yaml", demo_data)))
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["fast_path"] is True  # batch norm on the fast path
    saved = checkpoint.load(folder / "checkpoint.npz")
    assert saved.header["batch_norm"] == [True, True] and saved.header["batch_norm_epsilon"] == 1e-5
    with np.load(folder / "checkpoint.npz") as npz:
        assert {"gamma1", "beta1", "running_mean1", "running_var1", "running_var2"} <= set(npz.files)
    assert not np.array_equal(saved.params["running_var1"], np.ones((8, 1)))  # they moved
    test = load_hdf5(demo_data / "test.h5", "test_set_x", "test_set_y", "list_classes", ("test_set_x", "test_set_y"))
    expected = score(saved.net, saved.params, test, np.float64)
    assert metrics["test"]["accuracy"] == expected["accuracy"]
    result = dnn("evaluate", "--run", folder, "--data", demo_data / "test.h5", "--json", "-")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["accuracy"] == expected["accuracy"]
    assert report["log_loss"] == pytest.approx(expected["cost"], rel=1e-12)
    # one picture alone gets the probability it gets among the others: inference mode, not batch statistics
    alone, _ = classify(saved, test.pictures[:1])
    among, _ = classify(saved, test.pictures[:20])
    np.testing.assert_allclose(alone[:, 0], among[:, 0], rtol=1e-12)
    assert report["predictions"][0]["probabilities"][saved.classes[1]] == pytest.approx(alone[1, 0], rel=1e-12)


@pytest.mark.parametrize("path", ["auto", "off"])
def test_a_resumed_batch_norm_run_is_bit_identical(in_tmp, demo_data, dnn, path):
    from pathlib import Path

    config = bn_config(in_tmp / "c.yaml", demo_data, fast_path=path, batch_size=None if path == "auto" else 25)
    straight = Path(train(dnn, config))
    folder = Path(train(dnn, config, "training.iterations=20"))
    result = dnn("train", "--resume", folder, "--quiet", "--set", "training.iterations=30")
    assert result.exit_code == 0, result.output
    assert_same_arrays_and_scores(straight, folder)


def assert_same_arrays_and_scores(straight, resumed):
    """Bit for bit: every array of the checkpoint, the final scores, and each log point both have (a log
    point of mini-batches averages the batches since the one before, and the shorter run logged its end)."""
    first, second = arrays(straight / "checkpoint.npz"), arrays(resumed / "checkpoint.npz")
    assert first.keys() == second.keys()
    for name in first:
        assert np.array_equal(first[name], second[name]), name
    ms, mr = metrics_of(straight), metrics_of(resumed)
    logged = {c["iteration"]: c for c in mr["costs"]}
    common = [c for c in ms["costs"] if c["iteration"] in logged]
    assert len(common) >= 2 and all(logged[c["iteration"]] == c for c in common if c["iteration"] <= 10)
    assert all(logged[c["iteration"]]["gradient_norm"] == c["gradient_norm"] for c in common)
    assert ms["train"] == mr["train"] and ms["test"] == mr["test"]


@pytest.mark.parametrize(
    "overrides, problem",
    [
        (["training.batch_size=1"], "a training batch of one example cannot be normalised"),
        (["training.batch_size=13"], "training.batch_size 13 on 300 training examples leaves a last batch of one"),
        (["model.batch_norm=[true]"], "model.batch_norm: a list needs one entry per hidden layer (2), got 1"),
        (["model.batch_norm=yes please"], "model.batch_norm: must be true or false"),
        (["model.batch_norm_momentum=0"], "model.batch_norm_momentum: must be greater than 0"),
    ],
)
def test_batch_norm_config_errors(in_tmp, demo_data, dnn, overrides, problem):
    config = bn_config(in_tmp / "c.yaml", demo_data)
    result = dnn("check", "--config", config, *[a for o in overrides for a in ("--set", o)])
    assert result.exit_code == 2
    assert problem in result.stderr


def test_dnn_check_summary_and_gradcheck_show_batch_norm(in_tmp, demo_data, dnn):
    config = bn_config(in_tmp / "c.yaml", demo_data)
    result = dnn("check", "--config", config, "--set", "model.batch_norm=[true, false]")
    assert result.exit_code == 0, result.output
    assert "(relu; sigmoid output; batch norm on layer 1, momentum 0.2, epsilon 1e-05)" in result.stdout
    result = dnn("summary", "--config", config, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "batch norm, relu" in result.stdout and "98,377 parameters" in result.stdout
    assert "24 running statistics of batch norm" in " ".join(result.stdout.split())
    result = dnn("gradcheck", "--config", config)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.stdout
    result = dnn("gradcheck", "--config", config, "--examples", "1")
    assert result.exit_code == 2 and "two examples" in result.stderr


def test_dnn_check_gives_the_initial_cost_a_batch_norm_run_starts_from(in_tmp, demo_data, dnn):
    config = bn_config(in_tmp / "c.yaml", demo_data, iterations=1)
    result = dnn("check", "--config", config)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if line.startswith("initial cost:"))
    first = metrics_of(train(dnn, config))["costs"][0]
    assert line.split()[2].rstrip(";") == f"{first['cost']:.6f}"
