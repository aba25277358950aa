"""`dnn train`: a resolved config in, a run folder out.

Around the engine's ``step()`` loop this adds what a run needs and the engine
must not do: data, validation, logging, checkpoints, signals and resuming.
"""

import math
import os
import platform
import signal
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import click
import h5py
import numpy as np

from . import __version__, checkpoint
from . import config as configs
from .atomic import write_json, write_text
from .data import PIXEL_SCALE, check_against_model, check_same_classes, check_streamable, load_split
from .engine import (
    LOSSES,
    OUTPUT_ACTIVATIONS,
    Network,
    Settings,
    encode_labels,
    fast_path_obstacle,
    forward,
    initialize,
    make_trainer,
    predict_labels,
)
from .engine.training import steps_per_epoch
from .errors import EXIT_INTERRUPTED, RunFailure, UserError
from .progress import training_warnings
from .resources import available_memory, gigabytes, training_memory
from .runs import BEST, CHECKPOINT, CONFIG, METRICS, new_run_folder, remember_latest
from .streaming import example_source

VALIDATION_STREAM = 2
LENGTH_KEYS = ("training.iterations", "training.epochs")  # the only keys a resume may change


class Interrupted(click.ClickException):
    exit_code = EXIT_INTERRUPTED

    def show(self, file=None):
        click.echo(self.message, err=True)


@dataclass
class Job:
    """Everything a run needs, checked and ready: the data, the network, the settings."""

    config: dict
    net: Network
    settings: Settings
    train: object
    validation: object
    test: object
    iterations: int
    dtype: type

    @property
    def fast_path(self):
        return self.config["training"]["fast_path"]


@dataclass
class Progress:
    """Where a run stands; saved in every checkpoint so a resumed run picks it up."""

    history: list = field(default_factory=list)
    best_cost: float = None
    best_iteration: int = None
    since_best: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    pending: list = field(default_factory=list)  # mini-batch costs since the last log, averaged at the next


def split_validation(dataset, fraction, seed):
    """Hold out ``fraction`` of the examples, chosen by the seed; both parts keep file order."""
    count = min(max(1, round(fraction * dataset.m)), dataset.m - 1)
    order = np.random.default_rng([seed, VALIDATION_STREAM]).permutation(dataset.m)
    return dataset.subset(np.sort(order[count:])), dataset.subset(np.sort(order[:count]))


def prepare(config, with_test=True):
    """A ``Job`` from a resolved config: loads and checks the data against the model."""
    model, training = config["model"], config["training"]
    train = load_split(config, "train")
    test = load_split(config, "test") if with_test else None
    check_against_model(train, model["layers"], model["output"], "training set")
    check_same_classes(train, test)
    check_streamable(train, config)
    validation = None
    if training["validation_fraction"]:
        if train.m < 2:
            raise UserError(f"training.validation_fraction: {train.source} has too few examples to hold some out")
        train, validation = split_validation(train, training["validation_fraction"], config["seed"])
    net = Network(tuple(model["layers"]), tuple(configs.per_layer(model["activation"], config)), model["output"])
    keep = configs.per_layer(training["keep_prob"], config)
    optimizer, schedule = dict(training["optimizer"]), dict(training["schedule"])
    settings = Settings(
        learning_rate=training["learning_rate"],
        optimizer=optimizer.pop("name"),
        optimizer_params=optimizer,
        schedule=schedule.pop("name"),
        schedule_params=schedule,
        l2=training["l2"],
        keep_probs=tuple(keep) if any(k < 1 for k in keep) else None,
        batch_size=training["batch_size"],
        seed=config["seed"],
    )
    if training["fast_path"] == "on":
        obstacle = fast_path_obstacle(settings, train.m)
        if obstacle:
            raise UserError(f"training.fast_path: 'on' cannot be served: {obstacle}; use auto or off")
    iterations = training["iterations"] or training["epochs"] * steps_per_epoch(train.m, training["batch_size"])
    dtype = np.dtype(config["dtype"]).type
    check_memory(net, settings, train.m, dtype)
    return Job(config, net, settings, train, validation, test, iterations, dtype)


def check_memory(net, settings, m, dtype):
    """Refuse a network that cannot fit, before allocating it."""
    batch = min(settings.batch_size or m, m)
    needed = training_memory(net.layers, settings.optimizer, batch, np.dtype(dtype).itemsize)
    available = available_memory()
    if available is not None and needed > available:
        raise UserError(
            f"model.layers: training this network needs at least {gigabytes(needed)} of memory, "
            f"{gigabytes(available)} is available; use fewer or smaller layers (or float32, or mini-batches)"
        )


def score(net, params, dataset, dtype):
    """Accuracy and log loss (cross-entropy, no L2 term) of a model on a data set, a part at a time."""
    correct, cost = 0, 0.0
    for part in dataset.parts():
        ZL = forward(net, params, part.rows(dtype).T)[0]  # not the cache: it holds this part's rows
        predicted = predict_labels(net, OUTPUT_ACTIVATIONS[net.output](ZL))
        correct += int(np.sum(predicted == part.labels))
        cost += LOSSES[net.output](ZL, encode_labels(net, part.labels, dtype)) * (part.m / dataset.m)
    return {"examples": dataset.m, "accuracy": correct / dataset.m, "cost": cost}


def versions():
    return {
        "dnncli": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "h5py": h5py.__version__,
    }


def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class StopSignals:
    """SIGINT and SIGTERM ask the loop to stop after the current step; a second SIGINT insists."""

    def __enter__(self):
        self.requested = None
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self.handle)
        return self

    def handle(self, signum, frame):
        if self.requested is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signum

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


class Run:
    def __init__(self, job, folder, reporter, resume_from=None):
        self.job = job
        self.folder = Path(folder)
        self.reporter = reporter
        self.started = now()
        net, config = job.net, job.config
        self.train_source = example_source(job.train, encode_labels(net, job.train.labels, job.dtype), job.dtype)
        if resume_from is None:
            params = initialize(net.layers, config["model"]["init"], config["seed"], job.dtype)
            state, iteration, self.progress = None, 0, Progress()
        else:
            params, state, iteration = resume_from.params, resume_from.state, resume_from.iteration
            self.progress = resume_from.progress
        self.trainer = make_trainer(net, params, job.settings, self.train_source, job.fast_path, state, iteration)

    # --- files -------------------------------------------------------------

    def header(self, iteration):
        job = self.job
        return checkpoint.make_header(
            job.net,
            job.train.classes,
            job.train.input_shape,
            PIXEL_SCALE,
            job.config["dtype"],
            iteration,
            progress=self.progress.__dict__,
            config=configs.dump(job.config),
            created=now(),
            dnncli=__version__,
        )

    def save(self, status, params=None, state=None, final=None):
        """Checkpoint first, then metrics: the checkpoint is what a resume trusts."""
        self.progress.seconds = self.seconds()
        if params is None:
            params, state = self.trainer.snapshot()
        if not all(np.isfinite(p).all() for p in params.values()):
            self.diverged(self.trainer.iteration - 1, "nan or inf in the weights")
        self.write_checkpoint(CHECKPOINT, self.trainer.iteration, params, state)
        remember_latest(self.folder.parent.parent, self.folder)
        self.write_metrics(status, final)

    def write_checkpoint(self, name, iteration, params, state=None):
        path = self.folder / name
        try:
            checkpoint.save(path, self.header(iteration), params, state)
        except OSError as e:
            self.reporter.finish("failed")
            message = f"{path}: cannot save ({e.strerror or e}); the previous one, if any, is kept"
            try:
                self.write_metrics("failed", error=message)
            except OSError:
                pass  # the disk that refused the checkpoint may refuse this too
            raise RunFailure(message) from None

    def write_metrics(self, status, final=None, error=None):
        job = self.job
        metrics = {
            "name": job.config["name"],
            "status": status,
            "seed": job.config["seed"],
            "iterations": job.iterations,
            "iterations_done": self.trainer.iteration,
            "fast_path": self.trainer.fast,
            "costs": self.progress.history,
            "stopped_early": self.progress.stopped_early,
            "best_iteration": self.progress.best_iteration,
            "started": self.started,
            "updated": now(),
            "seconds": round(self.progress.seconds, 3),
            "versions": versions(),
            "process": {"pid": os.getpid(), "host": socket.gethostname()},
        }
        if final:
            metrics.update(final)
        if error:
            metrics["error"] = error
        write_json(self.folder / METRICS, metrics)

    def seconds(self):
        return self.base_seconds + time.monotonic() - self.clock

    # --- the loop ----------------------------------------------------------

    def log(self, iteration, cost):
        """A record of the step just taken (observed by the trainer), with the validation scores."""
        record = {"iteration": iteration, "cost": cost}
        job = self.job
        if job.validation is not None:
            params, _ = self.trainer.snapshot()
            validation = score(job.net, params, job.validation, job.dtype)
            record["validation_cost"] = validation["cost"]
            record["validation_accuracy"] = validation["accuracy"]
            self.watch_validation(iteration, validation["cost"], params)
        record.update(self.trainer.health)
        self.progress.history.append(record)
        for text in training_warnings(self.progress.history, job.settings.learning_rate):
            self.reporter.warn(text)
        self.reporter.log(record)

    def watch_validation(self, iteration, cost, params):
        """Keep the best model beside the last; stop when it has not improved for ``patience`` checks."""
        p = self.progress
        rule = self.job.config["training"]["early_stopping"]
        if p.best_cost is None or cost < p.best_cost - rule["min_delta"]:
            p.best_cost, p.best_iteration, p.since_best = cost, iteration, 0
            self.write_checkpoint(BEST, iteration + 1, params)
        else:
            p.since_best += 1
            if rule["patience"] is not None and p.since_best >= rule["patience"]:
                p.stopped_early = True

    def run(self):
        job, trainer, p = self.job, self.trainer, self.progress
        total, log_every = job.iterations, job.config["training"]["log_every"]
        checkpoint_every = job.config["training"]["checkpoint_every"]
        full_batch = job.settings.batch_size is None or job.settings.batch_size >= job.train.m
        self.clock, self.base_seconds = time.monotonic(), p.seconds
        self.reporter.start(total, trainer.iteration, p.history)
        # overflow shows up as a non-finite cost or weights, reported below in one line
        with StopSignals() as stop, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            while trainer.iteration < total and not p.stopped_early:
                i = trainer.iteration
                logging = i % log_every == 0 or i == total - 1
                cost = trainer.step(observe=logging)
                if not math.isfinite(cost):
                    self.diverged(i, f"the cost became {cost}")
                p.pending.append(cost)
                self.reporter.update(i, cost)
                if logging:
                    self.log(i, cost if full_batch else float(np.mean(p.pending)))
                    p.pending = []
                if stop.requested:
                    self.interrupted(stop.requested)
                if checkpoint_every and trainer.iteration % checkpoint_every == 0 and trainer.iteration < total:
                    self.save("running")
        self.reporter.finish("finished")
        return self.finish()

    def finish(self):
        job = self.job
        params, state = self.trainer.snapshot()
        final = {split: None for split in ("train", "validation", "test")}
        for split in final:
            dataset = getattr(job, split)
            if dataset is not None:
                final[split] = score(job.net, params, dataset, job.dtype)
        self.save("finished", params, state, final)
        return final

    def diverged(self, iteration, what):
        rate = self.job.settings.learning_rate
        self.reporter.finish("failed")
        message = (
            f"training.learning_rate: {what} at iteration {iteration}; "
            f"the rate {rate:g} is probably too high, try {rate / 10:g}"
        )
        self.write_metrics("failed", error=message)
        raise RunFailure(message + " (the last good checkpoint, if any, is kept)")

    def interrupted(self, signum):
        self.reporter.finish("interrupted")
        self.save("interrupted")
        click.echo(str(self.folder))
        raise Interrupted(
            f"Interrupted by {signal.Signals(signum).name} at iteration {self.trainer.iteration}: "
            f"saved {self.folder / CHECKPOINT}; continue with `dnn train --resume {self.folder}`"
        )


def start(config, reporter):
    """A new run of a resolved config; returns (folder, final scores)."""
    job = prepare(config)
    folder = new_run_folder(config["output"]["dir"], config["name"])
    write_text(folder / CONFIG, configs.dump(config))
    run = Run(job, folder, reporter)
    run.write_metrics("running")
    return folder, run.run(), run


def resume(folder, overrides=(), config_path=None, reporter=None):
    """Continue a run folder to its configured length (which ``overrides`` may raise)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{folder}: no such run folder")
    own_path = folder / CONFIG
    if not own_path.exists():
        raise UserError(f"{folder}: not a run folder (no {CONFIG})")
    own = configs.load(own_path)
    wanted = configs.load(config_path or own_path, overrides)
    changed = [k for k in configs.changed_keys(own, wanted) if k not in LENGTH_KEYS]
    if changed:
        raise UserError(
            f"{folder}: the config differs from the run's own in {', '.join(changed)}; only training.iterations or training.epochs may change on resume"
        )
    checkpoint_path = folder / CHECKPOINT
    if not checkpoint_path.exists():
        raise UserError(f"{folder}: no {CHECKPOINT} to resume from (the run saved none); start a new run instead")
    saved = checkpoint.load(checkpoint_path)
    saved_config = saved.header.get("config")
    if not isinstance(saved_config, str) or [
        k for k in configs.changed_keys(configs.parse_yaml(saved_config, checkpoint_path), own) if k not in LENGTH_KEYS
    ]:
        raise UserError(f"{checkpoint_path}: was not written by this run's config")
    try:
        saved.progress = Progress(**saved.header["progress"])
    except (KeyError, TypeError):
        raise UserError(f"{checkpoint_path}: has no readable training progress to resume from") from None
    job = prepare(wanted)
    if saved.iteration > job.iterations:
        raise UserError(f"{folder}: already at iteration {saved.iteration}, beyond the {job.iterations} asked for")
    if wanted != own:
        write_text(own_path, configs.dump(wanted))
    run = Run(job, folder, reporter, resume_from=saved)
    return folder, run.run(), run
