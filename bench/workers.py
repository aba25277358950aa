"""One system training one job on the cat network, in a process of its own; prints one JSON line.

    python bench/workers.py SYSTEM DTYPE ITERATIONS TRAIN_H5 TEST_H5 [JOB]

SYSTEM is dnn-fast, dnn-general, torch or sklearn (or dnn-fast-own-threads: the fast
path with BLAS's own thread count, as before ``run.threads``). JOB is a key of ``JOBS``
(default ``gd``, the reference job: full-batch gradient descent at 0.0075);
sklearn runs the reference job only, dnn-fast every job without Adam. Every system starts from the
same weights (dnn's ``course`` initialisation, seed 1), takes the same steps
(same optimizer, rates, batches in the same order, L2), and reports the cost of
its final model on the training set with its own loss function, without the L2
term and without dropout. ``compare.py`` runs this and reads the peak memory of
the process from the outside.
"""

import json
import resource
import sys
import time
from dataclasses import dataclass

import numpy as np

from dnncli.data.hdf5 import load_hdf5
from dnncli.engine import initialize
from dnncli.engine.trainer import epoch_order, steps_per_epoch

LAYERS = (12288, 20, 7, 5, 1)
LEARNING_RATE = 0.0075
SEED = 1
MOMENTUM = 0.9
ADAM = {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
# configs/cat-adam.yaml's rate: Adam moves every weight by about the rate each step
ADAM_RATE = 1e-5
RMSPROP = {"beta": 0.9, "epsilon": 1e-8}  # torch's alpha is dnn's beta
RMSPROP_RATE = 1e-5  # RMSprop too moves a weight by about the rate (sqrt(1/(1 - beta)) times it at first)


@dataclass(frozen=True)
class Job:
    """What every system trains: the optimizer and its rate, mini-batches, L2, dropout."""

    optimizer: str = "gd"
    learning_rate: float = LEARNING_RATE
    batch_size: int = None  # None: full batch; otherwise shuffled by dnn's epoch_order
    l2: float = 0.0
    keep_prob: float = 1.0  # on every hidden layer

    @property
    def hyper(self):
        return {"gd": {}, "momentum": {"beta": MOMENTUM}, "adam": ADAM, "rmsprop": RMSPROP}[self.optimizer]

    @property
    def label(self):
        parts = [{"gd": "gd", "momentum": "momentum", "adam": "Adam", "rmsprop": "RMSprop"}[self.optimizer]]
        if self.batch_size:
            parts.append(f"batches of {self.batch_size}")
        if self.l2:
            parts.append(f"L2 {self.l2:g}")
        if self.keep_prob < 1:
            parts.append(f"dropout, keep {self.keep_prob:g}")
        return ", ".join(parts)


JOBS = {
    "gd": Job(),
    "momentum": Job("momentum"),
    "adam": Job("adam", ADAM_RATE),
    "rmsprop": Job("rmsprop", RMSPROP_RATE),
    "gd-batch-32": Job(batch_size=32),
    "gd-batch-64": Job(batch_size=64),
    "momentum-batch-32": Job("momentum", batch_size=32),
    "momentum-batch-64": Job("momentum", batch_size=64),
    "adam-batch-32": Job("adam", ADAM_RATE, batch_size=32),
    "adam-batch-64": Job("adam", ADAM_RATE, batch_size=64),
    "l2": Job(l2=0.7),
    "dropout": Job(keep_prob=0.86),
}


def fast_job(name):
    """Whether dnn's fast path can take the job: gd or momentum, full batch or mini-batches."""
    return JOBS[name].optimizer in ("gd", "momentum")


def load(path, split):
    keys = (f"{split}_set_x", f"{split}_set_y")
    return load_hdf5(path, *keys, "list_classes", keys)


def start_blas(dtype):
    """One small product, so BLAS starts its threads before the clock (torch gets the same)."""
    warm_up = np.ones((64, 64), dtype)
    warm_up @ warm_up


def page_faults():
    """Minor page faults of this process so far: each is the system handing over 4 KiB of fresh memory."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class Clock:
    """Seconds spent setting up, in the loop, and getting the final weights out; page faults in the loop."""

    def __init__(self):
        self.marks = [time.perf_counter()]
        self.faults = [page_faults()]

    def mark(self):
        self.marks.append(time.perf_counter())
        self.faults.append(page_faults())

    def report(self, iterations):
        setup, loop, finish = np.diff(self.marks)
        return {
            "setup_s": setup,
            "loop_s": loop,
            "finish_s": finish,
            "total_s": setup + loop + finish,
            "ms_per_iteration": 1000 * loop / iterations,
            "page_faults_per_iteration": (self.faults[2] - self.faults[1]) / iterations,
        }


def run_dnn(kind, dtype, iterations, train, test, job):
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
    from dnncli.run.threads import step_threads

    net = Network(LAYERS, ("relu",) * (len(LAYERS) - 2), "sigmoid")
    params = initialize(LAYERS, "course", SEED, dtype)
    rows = train.rows(dtype)
    Y = encode_labels(net, train.labels, dtype)
    trainer_class = Trainer if kind == "general" else FastTrainer
    start_blas(dtype)
    clock = Clock()
    settings = Settings(
        learning_rate=job.learning_rate,
        optimizer=job.optimizer,
        optimizer_params=job.hyper,
        l2=job.l2,
        keep_probs=(job.keep_prob,) * (len(LAYERS) - 2) if job.keep_prob < 1 else None,
        batch_size=job.batch_size,
        seed=SEED,
    )
    trainer = trainer_class(net, params, settings, ArraySource(rows, Y))
    clock.mark()
    # as `dnn train` runs its steps; "fast-own-threads" leaves BLAS its own thread count, as before
    with step_threads(trainer.largest_product if kind != "fast-own-threads" else float("inf")):
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


def torch_optimizer(torch, model, job, m):
    """The torch optimizer that takes dnn's steps for this job.

    Momentum: dnn keeps v = beta v + (1 - beta) g and steps lr v; torch's SGD keeps
    b = mu b + g (b = g at its first step, dampening 0) and steps lr' b. With mu = beta,
    b = v / (1 - beta) at every step, so lr' = lr (1 - beta) takes the same step.
    Adam: torch divides by sqrt(v) / sqrt(1 - beta2^t) + eps, dnn by sqrt(v / (1 - beta2^t)) + eps.
    RMSprop: torch's alpha is dnn's beta; both add eps outside the square root, neither corrects bias.
    L2: dnn adds (lambda / m) W to the weights' gradients only, torch's weight_decay
    adds it to a group's: the weights get lambda / m, the biases nothing.
    """
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    groups = [{"params": weights, "weight_decay": job.l2 / m}, {"params": biases, "weight_decay": 0.0}]
    if job.optimizer == "gd":
        return torch.optim.SGD(groups, lr=job.learning_rate)
    if job.optimizer == "momentum":
        return torch.optim.SGD(groups, lr=job.learning_rate * (1 - MOMENTUM), momentum=MOMENTUM, dampening=0)
    if job.optimizer == "rmsprop":
        return torch.optim.RMSprop(groups, lr=job.learning_rate, alpha=RMSPROP["beta"], eps=RMSPROP["epsilon"])
    return torch.optim.Adam(groups, lr=job.learning_rate, betas=(ADAM["beta1"], ADAM["beta2"]), eps=ADAM["epsilon"])


def run_torch(dtype, iterations, train, test, job):
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
    torch.optim.Adam([warm_up], lr=0.0).step()
    torch.optim.RMSprop([warm_up], lr=0.0).step()
    clock = Clock()
    modules = []
    for l in range(1, len(LAYERS)):
        linear = torch.nn.Linear(LAYERS[l - 1], LAYERS[l], dtype=kind)
        with torch.no_grad():  # dnn's W (out, in) is torch's weight layout
            linear.weight.copy_(torch.from_numpy(params[f"W{l}"]))
            linear.bias.copy_(torch.from_numpy(params[f"b{l}"].ravel()))
        modules += [linear, torch.nn.ReLU()]
        if job.keep_prob < 1:
            modules.append(torch.nn.Dropout(1 - job.keep_prob))
    model = torch.nn.Sequential(*modules[: -2 if job.keep_prob < 1 else -1])
    loss_function = torch.nn.BCEWithLogitsLoss()
    optimizer = torch_optimizer(torch, model, job, train.m)
    per_epoch = steps_per_epoch(train.m, job.batch_size)
    clock.mark()
    for t in range(iterations):
        if job.batch_size is None:
            X_batch, Y_batch = X, Y
        else:  # the batches dnn takes, in its order
            epoch, k = divmod(t, per_epoch)
            if k == 0:
                order = torch.from_numpy(epoch_order(SEED, epoch, train.m))
            batch = order[k * job.batch_size : (k + 1) * job.batch_size]
            X_batch, Y_batch = X[batch], Y[batch]
        optimizer.zero_grad(set_to_none=True)
        loss = loss_function(model(X_batch), Y_batch)
        loss.backward()
        optimizer.step()
        loss.item()  # every system hands back the cost of each step
    clock.mark()
    clock.mark()
    result = clock.report(iterations)
    model.eval()  # no dropout
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


def main(system, dtype, iterations, train_path, test_path, job="gd"):
    dtype = np.dtype(dtype).type
    iterations = int(iterations)
    if (
        job not in JOBS
        or (job != "gd" and system == "sklearn")
        or (system.startswith("dnn-fast") and not fast_job(job))
    ):
        raise SystemExit(f"{system} cannot run job {job!r}")
    job = JOBS[job]
    train, test = load(train_path, "train"), load(test_path, "test")
    if system in ("dnn-fast", "dnn-general", "dnn-fast-own-threads"):
        result = run_dnn(system.removeprefix("dnn-"), dtype, iterations, train, test, job)
    elif system == "torch":
        result = run_torch(dtype, iterations, train, test, job)
    elif system == "sklearn":
        result = run_sklearn(dtype, iterations, train, test)
    else:
        raise SystemExit(f"unknown system {system!r}")
    print(json.dumps({k: v.item() if isinstance(v, np.generic) else v for k, v in result.items()}))


if __name__ == "__main__":
    main(*sys.argv[1:])
