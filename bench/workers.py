"""One system training the reference job, in a process of its own; prints one JSON line.

    python bench/workers.py SYSTEM DTYPE ITERATIONS TRAIN_H5 TEST_H5

SYSTEM is dnn-fast, dnn-general, torch or sklearn. Every system starts from the
same weights (dnn's ``course`` initialisation, seed 1), takes full-batch gradient
descent steps at the same rate, and reports the cost of its final model on the
training set with its own loss function. ``compare.py`` runs this and reads the
peak memory of the process from the outside.
"""

import json
import sys
import time

import numpy as np

from dnncli.data import load_hdf5
from dnncli.engine import initialize

LAYERS = (12288, 20, 7, 5, 1)
LEARNING_RATE = 0.0075
SEED = 1


def load(path, split):
    keys = (f"{split}_set_x", f"{split}_set_y")
    return load_hdf5(path, *keys, "list_classes", keys)


def start_blas(dtype):
    """One small product, so BLAS starts its threads before the clock (torch gets the same)."""
    warm_up = np.ones((64, 64), dtype)
    warm_up @ warm_up


class Clock:
    """Seconds spent setting up, in the loop, and getting the final weights out."""

    def __init__(self):
        self.marks = [time.perf_counter()]

    def mark(self):
        self.marks.append(time.perf_counter())

    def report(self, iterations):
        setup, loop, finish = np.diff(self.marks)
        return {
            "setup_s": setup,
            "loop_s": loop,
            "finish_s": finish,
            "total_s": setup + loop + finish,
            "ms_per_iteration": 1000 * loop / iterations,
        }


def run_dnn(kind, dtype, iterations, train, test):
    from dnncli.engine import (
        ArraySource,
        FastTrainer,
        Network,
        Settings,
        Trainer,
        accuracy,
        compute_cost,
        encode_labels,
    )

    net = Network(LAYERS, ("relu",) * (len(LAYERS) - 2), "sigmoid")
    params = initialize(LAYERS, "course", SEED, dtype)
    rows = train.rows(dtype)
    Y = encode_labels(net, train.labels, dtype)
    trainer_class = FastTrainer if kind == "fast" else Trainer
    start_blas(dtype)
    clock = Clock()
    trainer = trainer_class(net, params, Settings(learning_rate=LEARNING_RATE, seed=SEED), ArraySource(rows, Y))
    clock.mark()
    for _ in range(iterations):
        trainer.step()
    clock.mark()
    params, _ = trainer.snapshot()
    clock.mark()
    result = clock.report(iterations)
    result.update(
        cost=compute_cost(net, params, rows.T, Y),
        train_accuracy=accuracy(net, params, rows.T, train.labels),
        test_accuracy=accuracy(net, params, test.rows(dtype).T, test.labels),
        dtype_kept=all(p.dtype == dtype for p in params.values()),
    )
    return result


def run_torch(dtype, iterations, train, test):
    import torch

    kind = {np.float64: torch.float64, np.float32: torch.float32}[dtype]
    params = initialize(LAYERS, "course", SEED, dtype)
    X = torch.from_numpy(train.rows(dtype))
    Y = torch.from_numpy(train.labels.astype(dtype)).reshape(-1, 1)
    # before the clock: torch's threads, autograd, and torch.optim's first use (which imports
    # more of torch, about 1.5 s here): one-time costs, like the imports left out for every system
    warm_up = torch.ones(64, 64, dtype=kind, requires_grad=True)
    (warm_up @ warm_up).sum().backward()
    torch.optim.SGD([warm_up], lr=0.0).step()
    clock = Clock()
    modules = []
    for l in range(1, len(LAYERS)):
        linear = torch.nn.Linear(LAYERS[l - 1], LAYERS[l], dtype=kind)
        with torch.no_grad():  # dnn's W (out, in) is torch's weight layout
            linear.weight.copy_(torch.from_numpy(params[f"W{l}"]))
            linear.bias.copy_(torch.from_numpy(params[f"b{l}"].ravel()))
        modules += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*modules[:-1])
    loss_function = torch.nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=LEARNING_RATE)
    clock.mark()
    for _ in range(iterations):
        optimizer.zero_grad(set_to_none=True)
        loss = loss_function(model(X), Y)
        loss.backward()
        optimizer.step()
        loss.item()  # every system hands back the cost of each step
    clock.mark()
    clock.mark()
    result = clock.report(iterations)
    with torch.no_grad():
        result["cost"] = loss_function(model(X), Y).item()
        result["train_accuracy"] = ((model(X)[:, 0] > 0).numpy() == train.labels).mean()
        test_logits = model(torch.from_numpy(test.rows(dtype)))[:, 0]
        result["test_accuracy"] = ((test_logits > 0).numpy() == test.labels).mean()
    result["dtype_kept"] = all(p.dtype == kind for p in model.parameters())
    result["threads"] = torch.get_num_threads()
    return result


def run_sklearn(dtype, iterations, train, test):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    params = initialize(LAYERS, "course", SEED, dtype)
    rows = train.rows(dtype)
    start_blas(dtype)
    clock = Clock()
    model = MLPClassifier(
        hidden_layer_sizes=LAYERS[1:-1],
        activation="relu",
        solver="sgd",
        learning_rate="constant",
        learning_rate_init=LEARNING_RATE,
        momentum=0.0,
        nesterovs_momentum=False,
        alpha=0.0,
        batch_size=train.m,
        max_iter=iterations,
        shuffle=False,  # one full batch: the order changes nothing, a shuffle would copy X
        tol=0.0,
        n_iter_no_change=iterations + 1,
    )
    # The same starting weights: sklearn asks _init_coef for each layer in order
    # (a private hook; sklearn's W is (in, out)).
    layers = iter(range(1, len(LAYERS)))

    def same_start(fan_in, fan_out, dtype):
        l = next(layers)
        return params[f"W{l}"].T.astype(dtype), params[f"b{l}"].ravel().astype(dtype)

    model._init_coef = same_start
    clock.mark()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(rows, train.labels)
    clock.mark()
    clock.mark()
    result = clock.report(iterations)
    result.update(
        iterations_done=model.n_iter_,
        cost=log_loss(train.labels, model.predict_proba(rows)),
        train_accuracy=model.score(rows, train.labels),
        test_accuracy=model.score(test.rows(dtype), test.labels),
        dtype_kept=all(c.dtype == dtype for c in model.coefs_),
    )
    return result


def main(system, dtype, iterations, train_path, test_path):
    dtype = np.dtype(dtype).type
    iterations = int(iterations)
    train, test = load(train_path, "train"), load(test_path, "test")
    if system in ("dnn-fast", "dnn-general"):
        result = run_dnn(system.removeprefix("dnn-"), dtype, iterations, train, test)
    elif system == "torch":
        result = run_torch(dtype, iterations, train, test)
    elif system == "sklearn":
        result = run_sklearn(dtype, iterations, train, test)
    else:
        raise SystemExit(f"unknown system {system!r}")
    print(json.dumps({k: v.item() if isinstance(v, np.generic) else v for k, v in result.items()}))


if __name__ == "__main__":
    main(*sys.argv[1:])
