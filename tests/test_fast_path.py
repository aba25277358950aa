"""The fast path (``FastTrainer``), on the full batch and on shuffled mini-batches, gives the same model as the
general path (``Trainer``)."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CLASS_WEIGHTS, CONFIGS, OUTPUT_CASES, write_config
from dnncli.data.hdf5 import load_hdf5
from dnncli.engine import (
    ACTIVATIONS,
    OPTIMIZERS,
    ArraySource,
    FastTrainer,
    Network,
    Settings,
    Trainer,
    backward,
    compute_cost,
    encode_labels,
    example_weights,
    fast_path_obstacle,
    forward,
    gradients,
    initialize,
    make_trainer,
    predict_labels,
    predict_proba,
    predict_values,
)
from dnncli.model import checkpoint

COST_RTOL = {np.float64: 1e-9, np.float32: 2e-4}


def random_job(seed, layers, activations, output="sigmoid", m=40, dtype=np.float64):
    """A network, its initial parameters, and train/test sets (rows, truth) whose truth follows a hidden
    rule: labels (m,), or for a regression values (outputs, m)."""
    rng = np.random.default_rng(seed)
    net = Network(tuple(layers), tuple(activations), output)
    outputs = layers[-1] if net.is_regression else net.n_classes
    rule = rng.normal(size=(layers[0], outputs))
    sets = []
    for size in (m, m // 2):
        rows = rng.random((size, layers[0])).astype(dtype)
        truth = rows @ rule + 0.3 * rng.normal(size=(size, outputs))
        sets.append((rows, truth.T.astype(dtype) if net.is_regression else truth.argmax(axis=1)))
    return net, initialize(net.layers, "he", seed, dtype), sets


def targets(net, truth, dtype=np.float64):
    """``Y`` for a set's truth: its labels encoded, or a regression's values as they are."""
    return truth.astype(dtype) if net.is_regression else encode_labels(net, truth, dtype)


def copy(params):
    return {name: p.copy() for name, p in params.items()}


def train_both(net, params, rows, truth, settings_, iterations):
    """Costs of every step and the final snapshots of both trainers, from the same start."""
    dtype = params["W1"].dtype.type
    source = ArraySource(rows, targets(net, truth, dtype))
    results = []
    for kind in (Trainer, FastTrainer):
        trainer = kind(net, copy(params), settings_, source)
        costs = [trainer.step() for _ in range(iterations)]
        results.append((np.array(costs), *trainer.snapshot()))
    return results


def assert_same_model(net, general, fast, sets, dtype):
    (costs_g, params_g, state_g), (costs_f, params_f, state_f) = general, fast
    rtol = COST_RTOL[dtype]
    np.testing.assert_allclose(costs_f, costs_g, rtol=rtol)
    assert set(params_f) == set(params_g) == set(net.param_names)
    for name in net.param_names:
        assert params_f[name].dtype == params_g[name].dtype == dtype
        scale = np.abs(params_g[name]).max()
        np.testing.assert_allclose(params_f[name], params_g[name], rtol=0, atol=rtol * 10 * scale + 1e-300)
    for rows, truth in sets:
        X, Y = rows.T, targets(net, truth, dtype)
        final_g, final_f = compute_cost(net, params_g, X, Y), compute_cost(net, params_f, X, Y)
        assert final_f == pytest.approx(final_g, rel=rtol)
        if net.is_regression:
            predicted_g, predicted_f = predict_values(net, params_g, X), predict_values(net, params_f, X)
            np.testing.assert_allclose(predicted_f, predicted_g, rtol=0, atol=rtol * 10 * np.abs(predicted_g).max())
        else:
            predicted_g = predict_labels(net, predict_proba(net, params_g, X))
            predicted_f = predict_labels(net, predict_proba(net, params_f, X))
            np.testing.assert_array_equal(predicted_f, predicted_g)
    if "v_W1" in state_g:
        scale = np.abs(state_g["v_W1"]).max()
        np.testing.assert_allclose(state_f["v_W1"], state_g["v_W1"], rtol=0, atol=rtol * 10 * scale)


CASES = {
    "gd": dict(),
    "momentum": dict(optimizer="momentum", optimizer_params={"beta": 0.9}),
    "l2": dict(l2=0.7),
    "momentum+l2": dict(optimizer="momentum", l2=0.4),
    "dropout": dict(keep_probs=(0.8, 0.6)),
    "inverse_time": dict(schedule="inverse_time", schedule_params={"decay_rate": 0.5, "every": 7}),
    "step+momentum": dict(optimizer="momentum", schedule="step", schedule_params={"factor": 0.5, "every": 10}),
    "everything": dict(
        optimizer="momentum", l2=0.3, keep_probs=(0.9, 0.7), schedule="inverse_time", schedule_params={"every": 5}
    ),
    "class_weights": dict(class_weights=CLASS_WEIGHTS["sigmoid"]),
    "weighted+momentum+l2+dropout": dict(
        optimizer="momentum", l2=0.3, keep_probs=(0.9, 0.7), class_weights=CLASS_WEIGHTS["sigmoid"]
    ),
}
# a regression: two outputs of identity; class weights are for classes
OUTPUT_LAYERS = {"sigmoid": 1, "identity": 2}
JOBS = [(case, output) for output in OUTPUT_LAYERS for case in CASES if not (output == "identity" and "weight" in case)]


@pytest.mark.parametrize("batch_size", [None, 7], ids=["full-batch", "batches-of-7"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("case, output", JOBS)
def test_fast_path_gives_the_same_model(case, output, dtype, batch_size):
    """Batches of 7 of 40 examples: 6 in an epoch, the last one of 5, shuffled anew in each of the 10 epochs."""
    net, params, sets = random_job(3, (60, 9, 5, OUTPUT_LAYERS[output]), ("relu", "relu"), output, dtype=dtype)
    settings_ = Settings(learning_rate=0.05, seed=11, batch_size=batch_size, **CASES[case])
    general, fast = train_both(net, params, *sets[0], settings_, 60)
    # it learns (over an epoch, as batches' costs differ): the comparison is not between two stuck models
    assert general[0][-6:].mean() < general[0][:6].mean()
    assert_same_model(net, general, fast, sets, dtype)


@pytest.mark.parametrize("class_weights", [None, CLASS_WEIGHTS["softmax"]])
def test_fast_path_with_softmax_and_other_activations(class_weights):
    net, params, sets = random_job(5, (30, 8, 6, 4, 3), ("tanh", "leaky_relu", "sigmoid"), "softmax", m=50)
    settings_ = Settings(
        learning_rate=0.2, optimizer="momentum", l2=0.2, keep_probs=(1.0, 0.8, 0.9), seed=2, class_weights=class_weights
    )
    assert_same_model(net, *train_both(net, params, *sets[0], settings_, 80), sets, np.float64)


@pytest.mark.parametrize("output", ["sigmoid", "identity"], ids=["logistic", "linear"])
def test_fast_path_without_hidden_layers(output):
    """Logistic regression, and linear regression with L2 (ridge) on three outputs."""
    net, params, sets = random_job(8, (25, 1 if output == "sigmoid" else 3), (), output)
    settings_ = Settings(learning_rate=0.1, l2=0.1)
    assert_same_model(net, *train_both(net, params, *sets[0], settings_, 40), sets, np.float64)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    hidden=st.lists(st.integers(1, 7), min_size=0, max_size=3),
    features=st.integers(1, 40),
    m=st.integers(2, 30),
    activation=st.sampled_from(sorted(ACTIVATIONS)),
    output_case=st.sampled_from(OUTPUT_CASES),
    optimizer=st.sampled_from(["gd", "momentum"]),
    l2=st.sampled_from([0.0, 0.05, 1.5]),
    keep=st.sampled_from([1.0, 0.9, 0.5]),
    batch=st.one_of(st.none(), st.integers(1, 40)),
)
def test_fast_path_matches_for_any_network(
    seed, hidden, features, m, activation, output_case, optimizer, l2, keep, batch
):
    output, class_weights = output_case
    layers = (features, *hidden, {"softmax": 3, "identity": 2}.get(output, 1))
    net, params, sets = random_job(seed, layers, [activation] * len(hidden), output, m=m)
    settings_ = Settings(
        learning_rate=0.05,
        optimizer=optimizer,
        l2=l2,
        keep_probs=(keep,) * len(hidden) if hidden else None,
        batch_size=batch,
        seed=seed,
        class_weights=class_weights,
    )
    assert fast_path_obstacle(settings_, m) is None
    (costs_g, params_g, _), (costs_f, params_f, _) = train_both(net, params, *sets[0], settings_, 15)
    np.testing.assert_allclose(costs_f, costs_g, rtol=1e-9)
    for name in net.param_names:
        np.testing.assert_allclose(params_f[name], params_g[name], rtol=1e-7, atol=1e-9)


def save_and_load(tmp_path, net, params, state, iteration):
    header = checkpoint.make_header(net, [str(c) for c in range(net.n_classes)], (net.layers[0],), 1.0, "float64", 0)
    checkpoint.save(tmp_path / "c.npz", {**header, "iteration": iteration}, params, state)
    saved = checkpoint.load(tmp_path / "c.npz")
    return saved.params, saved.state


@pytest.mark.parametrize("class_weights", [None, CLASS_WEIGHTS["sigmoid"]], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("batch_size", [None, 9], ids=["full-batch", "batches-of-9"])
@pytest.mark.parametrize(
    "first, optimizer, choice, resumed_fast",
    [
        (FastTrainer, "gd", "on", True),
        (FastTrainer, "momentum", "auto", True),
        (FastTrainer, "momentum", "off", False),
        (Trainer, "gd", "auto", True),
        # a W1 velocity saved by the general path is not of the fast path's form: even `on` stays general
        (Trainer, "momentum", "auto", False),
        (Trainer, "momentum", "on", False),
    ],
)
def test_a_run_resumes_from_its_checkpoint(tmp_path, first, optimizer, choice, resumed_fast, batch_size, class_weights):
    """On the path it was saved from, bit for bit; on the other, the same model. With batches of 9 of 40
    the run stops in the middle of its third epoch."""
    net, params, sets = random_job(4, (50, 6, 1), ("relu",))
    settings_ = Settings(
        learning_rate=0.05,
        optimizer=optimizer,
        l2=0.2,
        keep_probs=(0.8,),
        batch_size=batch_size,
        seed=3,
        class_weights=class_weights,
    )
    source = ArraySource(sets[0][0], encode_labels(net, sets[0][1]))
    straight = first(net, copy(params), settings_, source)
    costs = [straight.step() for _ in range(30)]
    interrupted = first(net, copy(params), settings_, source)
    for _ in range(12):
        interrupted.step()
    saved_params, saved_state = save_and_load(tmp_path, net, *interrupted.snapshot(), 12)
    resumed = make_trainer(net, saved_params, settings_, source, choice, saved_state, 12)
    assert resumed.fast is resumed_fast
    resumed_costs = [resumed.step() for _ in range(18)]
    if resumed.fast is straight.fast:
        assert resumed_costs == costs[12:]
        for name, value in straight.snapshot()[0].items():
            np.testing.assert_array_equal(resumed.snapshot()[0][name], value)
    else:
        np.testing.assert_allclose(resumed_costs, costs[12:], rtol=1e-9)
    if not resumed.fast:
        assert not any("fast" in name for name in resumed.snapshot()[1])


@pytest.mark.parametrize(
    "features, m, settings_, choice, fast",
    [
        (50, 20, Settings(0.1), "auto", True),
        (50, 20, Settings(0.1, optimizer="momentum", l2=0.1, keep_probs=(0.5,)), "auto", True),
        (50, 20, Settings(0.1, batch_size=20), "auto", True),
        (50, 20, Settings(0.1, batch_size=8), "auto", True),
        (50, 20, Settings(0.1, optimizer="momentum", batch_size=8), "auto", True),
        (50, 20, Settings(0.1, optimizer="adam", batch_size=8), "auto", False),
        (10, 20, Settings(0.1, batch_size=8), "auto", False),
        (50, 20, Settings(0.1, optimizer="adam"), "auto", False),
        (10, 20, Settings(0.1), "auto", False),  # narrower input than examples: K would not pay
        (10, 20, Settings(0.1), "on", True),
        (50, 20, Settings(0.1), "off", False),
    ],
)
def test_make_trainer_picks_the_path(features, m, settings_, choice, fast):
    net, params, sets = random_job(1, (features, 4, 1), ("relu",), m=m)
    source = ArraySource(sets[0][0], encode_labels(net, sets[0][1]))
    trainer = make_trainer(net, params, settings_, source, choice)
    assert trainer.fast is fast and isinstance(trainer, FastTrainer if fast else Trainer)


class ReadingAhead(ArraySource):
    """A source that says which batch comes next, as one streaming from disk does."""

    def will_take(self, indices):
        self.next = indices


@pytest.mark.parametrize("batch_size, fast", [(8, False), (None, True)])
def test_mini_batches_streamed_from_disk_stay_on_the_general_path(batch_size, fast):
    """The fast path reads the whole set at its start, which a set streamed from disk is there to avoid."""
    net, params, sets = random_job(1, (50, 4, 1), ("relu",), m=20)
    source = ReadingAhead(sets[0][0], encode_labels(net, sets[0][1]))
    assert make_trainer(net, params, Settings(0.1, batch_size=batch_size), source).fast is fast


def test_what_the_fast_path_cannot_serve():
    assert "'adam' is not linear" in fast_path_obstacle(Settings(0.1, optimizer="adam"), 20)
    assert "'adam' is not linear" in fast_path_obstacle(Settings(0.1, optimizer="adam", batch_size=8), 20)
    assert fast_path_obstacle(Settings(0.1, batch_size=20), 20) is None
    assert fast_path_obstacle(Settings(0.1, optimizer="momentum", batch_size=8), 20) is None


def test_both_paths_take_the_same_batches():
    """The fast path never reads X after its start, so the batches are compared through their indices."""
    net, params, sets = random_job(6, (20, 3, 1), ("relu",), m=30)
    source = ArraySource(sets[0][0], encode_labels(net, sets[0][1]))
    settings_ = Settings(0.1, batch_size=8, seed=5)
    general, fast = Trainer(net, copy(params), settings_, source), FastTrainer(net, copy(params), settings_, source)
    for t in range(13):  # 4 batches an epoch: 8, 8, 8, 6
        np.testing.assert_array_equal(fast.batch(), general.batch_indices(t))
        assert len(fast.batch()) == (6 if t % 4 == 3 else 8)
        general.step(), fast.step()


def test_l2_shrinks_all_of_w1_on_a_mini_batch():
    """One gd step on a batch: W1 outside the batch's span moves by the shrink alone."""
    net, params, sets = random_job(7, (25, 4, 1), ("relu",), m=30)
    source = ArraySource(sets[0][0], encode_labels(net, sets[0][1]))
    settings_ = Settings(0.5, l2=2.0, batch_size=6, seed=1)
    trainer = FastTrainer(net, copy(params), settings_, source)
    batch = trainer.batch()
    trainer.step()
    W1 = trainer.snapshot()[0]["W1"]
    X_b = sets[0][0][batch].T
    # remove the batch's span: what is left of W1 is the shrunk W1_0's part there
    away = np.eye(25) - X_b @ np.linalg.pinv(X_b)
    np.testing.assert_allclose(W1 @ away, (1 - 0.5 * 2.0 / 6) * params["W1"] @ away, atol=1e-12)


def test_backward_into_a_reused_array_gives_the_same_gradients():
    net, params, sets = random_job(13, (30, 5, 1), ("relu",))
    rows, labels = sets[0]
    ZL, cache = forward(net, params, rows.T)
    dZL = (predict_proba(net, params, rows.T) - encode_labels(net, labels)) / rows.shape[0]
    fresh = backward(net, params, cache, dZL, l2=0.2)
    reused = np.full_like(params["W1"], np.nan)
    into = backward(net, params, cache, dZL, l2=0.2, dW1_out=reused)
    assert into["dW1"] is reused
    for name, value in fresh.items():
        np.testing.assert_array_equal(into[name], value)


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("output, class_weights", OUTPUT_CASES)
def test_float32_stays_float32_through_a_general_step(optimizer, output, class_weights):
    """Every array a step makes, and every cost, is float32: no silent float64 work."""
    hidden = sorted(ACTIVATIONS)
    layers = (30, *[4] * len(hidden), 3 if output == "softmax" else 1)
    net, params, sets = random_job(12, layers, hidden, output, dtype=np.float32)
    rows, truth = sets[0]
    Y = targets(net, truth, np.float32)
    settings_ = Settings(
        learning_rate=0.05,
        optimizer=optimizer,
        l2=0.3,
        keep_probs=(0.8,) * len(hidden),
        seed=1,
        class_weights=class_weights,
    )
    trainer = Trainer(net, params, settings_, ArraySource(rows, Y))
    masks = trainer.masks(rows.shape[0])
    ZL, cache = forward(net, params, rows.T, masks)
    weights = example_weights(net, Y, class_weights)
    arrays = [ZL, *masks, *(a for layer in cache for a in layer if a is not None)]
    arrays += [] if weights is None else [weights]
    cost, grads = gradients(net, params, rows.T, Y, masks, 0.3, weights)
    assert isinstance(cost, float)
    arrays += grads.values()
    for _ in range(3):
        assert isinstance(trainer.step(), float)
    arrays += [*trainer.params.values(), *(v for name, v in trainer.state.items() if name != "t")]
    assert [a.dtype for a in arrays] == [np.float32] * len(arrays)


@pytest.mark.parametrize("output, class_weights", OUTPUT_CASES)
def test_float32_stays_float32_on_both_paths(output, class_weights):
    layers = (40, 5, 3, 3 if output == "softmax" else 1)
    net, params, sets = random_job(2, layers, ("relu", "tanh"), output, dtype=np.float32)
    settings_ = Settings(
        learning_rate=0.05, optimizer="momentum", l2=0.1, keep_probs=(0.8, 0.9), class_weights=class_weights
    )
    for _, snapshot, state in train_both(net, params, *sets[0], settings_, 5):
        assert all(p.dtype == np.float32 for p in snapshot.values())
        assert all(state[f"v_{name}"].dtype == np.float32 for name in net.param_names)


# --- through the command line ----------------------------------------------


def train(dnn, config, *sets):
    result = dnn("train", "--config", config, "--quiet", *[a for s in sets for a in ("--set", s)])
    assert result.exit_code == 0, result.output
    folder = Path(result.stdout.strip().splitlines()[-1])
    return folder, json.loads((folder / "metrics.json").read_text())


def test_dnn_train_gives_the_same_run_on_either_path(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"checkpoint_every": 10, "l2": 0.5})
    fast_folder, fast = train(dnn, config)
    general_folder, general = train(dnn, config, "training.fast_path='off'")
    assert fast["fast_path"] is True and general["fast_path"] is False
    np.testing.assert_allclose([c["cost"] for c in fast["costs"]], [c["cost"] for c in general["costs"]], rtol=1e-9)
    for split in ("train", "test"):
        assert fast[split]["accuracy"] == general[split]["accuracy"]
        assert fast[split]["cost"] == pytest.approx(general[split]["cost"], rel=1e-9)
    fast_saved = checkpoint.load(fast_folder / "checkpoint.npz")
    general_saved = checkpoint.load(general_folder / "checkpoint.npz")
    np.testing.assert_allclose(fast_saved.params["W1"], general_saved.params["W1"], rtol=1e-8, atol=1e-12)


def test_dnn_train_on_mini_batches_takes_the_fast_path(in_tmp, demo_data, dnn):
    training = {"batch_size": 32, "optimizer": "momentum", "l2": 0.3, "iterations": 40, "checkpoint_every": 15}
    config = write_config(in_tmp / "c.yaml", demo_data, training=training)
    _, fast = train(dnn, config)
    _, general = train(dnn, config, "training.fast_path='off'")
    assert fast["fast_path"] is True and general["fast_path"] is False
    np.testing.assert_allclose([c["cost"] for c in fast["costs"]], [c["cost"] for c in general["costs"]], rtol=1e-9)
    assert fast["train"]["accuracy"] == general["train"]["accuracy"]


def test_dnn_train_resumes_a_fast_run_exactly(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"optimizer": "momentum", "iterations": 20})
    folder, _ = train(dnn, config)
    result = dnn("train", "--resume", folder, "--quiet", "--set", "training.iterations=40")
    assert result.exit_code == 0, result.output
    resumed = json.loads((folder / "metrics.json").read_text())
    straight_folder, straight = train(dnn, config, "training.iterations=40")
    assert resumed["fast_path"] is True
    logged = {c["iteration"]: c["cost"] for c in straight["costs"]}
    assert {c["iteration"]: c["cost"] for c in resumed["costs"] if c["iteration"] in logged} == logged
    resumed_params = checkpoint.load(folder / "checkpoint.npz").params
    for name, value in checkpoint.load(Path(straight_folder) / "checkpoint.npz").params.items():
        np.testing.assert_array_equal(resumed_params[name], value)


def test_fast_path_on_with_adam_is_a_config_error(in_tmp, demo_data, dnn):
    config = write_config(in_tmp / "c.yaml", demo_data, training={"fast_path": "on", "optimizer": "adam"})
    assert "fast_path: on" not in config.read_text()  # written quoted, so YAML keeps it a string
    result = dnn("train", "--config", config)
    assert result.exit_code == 2
    assert "training.fast_path" in result.stderr and "adam" in result.stderr


# --- the reference job -----------------------------------------------------


def cat_job(cat_data):
    """configs/cat.yaml, its network and initial parameters, and the cat (rows, labels) of train and test."""
    reference = yaml.safe_load((CONFIGS / "cat.yaml").read_text())
    net = Network(tuple(reference["model"]["layers"]), ("relu",) * 3, "sigmoid")
    params = initialize(net.layers, "course", reference["seed"])
    sets = []
    for split in ("train", "test"):
        keys = (f"{split}_set_x", f"{split}_set_y")
        dataset = load_hdf5(cat_data / f"{split}_catvnoncat.h5", *keys, "list_classes", keys)
        sets.append((dataset.rows(), dataset.labels))
    return reference, net, params, sets


def test_fast_path_gives_the_cat_model(cat_data):
    """The cat job on both paths: same costs, same predictions on train and test (1000 of its 2500
    iterations, to keep the suite quick; `make bench` compares the whole job)."""
    reference, net, params, sets = cat_job(cat_data)
    settings_ = Settings(learning_rate=reference["training"]["learning_rate"])
    general, fast = train_both(net, params, *sets[0], settings_, 1000)
    assert round(fast[0][0], 6) == 0.771749
    assert fast[0][-1] < 0.5 * fast[0][0]
    assert_same_model(net, general, fast, sets, np.float64)


@pytest.mark.parametrize("optimizer", ["gd", "momentum"])
def test_fast_path_gives_the_cat_model_on_mini_batches(cat_data, optimizer):
    """300 steps of batches of 32 of the cat set (7 to an epoch, the last of 17), both paths, every step's cost."""
    _, net, params, sets = cat_job(cat_data)
    settings_ = Settings(learning_rate=0.0075, optimizer=optimizer, batch_size=32, seed=1)
    general, fast = train_both(net, params, *sets[0], settings_, 300)
    assert fast[0][-20:].mean() < 0.95 * fast[0][:20].mean()
    assert_same_model(net, general, fast, sets, np.float64)
