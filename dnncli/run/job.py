"""Preparing a job: a resolved config's data loaded and checked against its network, ready to train."""

from dataclasses import dataclass

import numpy as np

from ..config.build import Plan, augments, build, class_weights_of
from ..config.schema import AUTO, data_format
from ..data.augment import check_augmentable
from ..data.dataset import Sets, check_same_classes, held_out, identity
from ..data.disk import memory_needed
from ..data.sets import load_split
from ..data.table_sets import SplitTables, load_table_sets, streams, table_sets
from ..data.tables import memory_to_read
from ..engine import OPTIMIZERS
from ..errors import UserError
from ..resources import available_memory, training_memory
from ..text import gigabytes


@dataclass
class Job:
    """Everything a run needs, checked and ready: the data, and the plan for the engine."""

    config: dict
    plan: Plan
    train: object
    validation: object
    test: object
    data: dict = None  # the training set's ``dataset.identity``, before the validation split: what a resume checks
    encoder: object = None  # a table's fitted ``encoding.Encoder``; None for pictures

    @property
    def regression(self):
        return self.net.output == "identity"

    @property
    def net(self):
        return self.plan.net

    @property
    def settings(self):
        return self.plan.settings

    @property
    def iterations(self):
        return self.plan.iterations

    @property
    def dtype(self):
        return self.plan.dtype

    @property
    def full_batch(self):
        size = self.settings.batch_size
        return size is None or size >= self.train.m


def split_validation(dataset, fraction, seed):
    """Hold out ``fraction`` of the examples, chosen by the seed; both parts keep file order."""
    kept, held = held_out(dataset.m, fraction, seed)
    return dataset.subset(kept), dataset.subset(held)


def prepare(config, with_test=True, warn=None, progress=None, check=None):
    """A ``Job`` from a resolved config: loads and checks the data against the model.

    ``warn`` and ``progress`` go to the data layer (pictures skipped, decoding shown); ``check`` is called as a
    table read from disk is read (a run's signals, acted on there).
    """
    if data_format(config["data"]) == "table":
        streamed = streams(config["data"], config["data"]["train"])  # decided once: free memory changes
        if streamed:
            check_streamed_training(config)  # before the pass over the file
        sets = load_table_sets(config, with_test, warn, check, streamed)
        check_streamable(sets.train, config)
        return planned(table_read_as(config, sets.train.on_disk), sets)
    model, training = config["model"], config["training"]
    if AUTO not in (model["layers"][0], model["layers"][-1]):  # sizes the data does not decide: before any data
        check_network_memory(model["layers"], training["optimizer"]["name"], 1, config["dtype"])
    train = load_split(config, "train", warn, progress)
    test = load_split(config, "test", warn, progress) if with_test else None
    check_same_classes(train, test)
    check_streamable(train, config)
    data = identity(train)
    if augments(config["data"]["augment"]):
        check_augmentable(train.input_shape, train.path)
    validation = None
    if training["validation_fraction"]:
        if train.m < 2:
            raise UserError(f"training.validation_fraction: {train.path} has too few examples to hold some out")
        train, validation = split_validation(train, training["validation_fraction"], config["seed"])
    return planned(config, Sets(train, validation, test, data))


def planned(config, sets):
    """The ``Job`` of a config on its ``dataset.Sets``: the plan built on the training set, with its class weights,
    and checked to fit in memory."""
    train = sets.train
    shape = train.data_shape()
    weights = None
    if not shape.regression:
        weights = class_weights_of(config, list(train.classes), train.counts)
    plan = build(config, train.m, shape, weights)
    check_memory(plan, train.m)
    return Job(config, plan, train, sets.validation, sets.test, sets.identity, sets.encoder)


def prepare_rows(config, table, warn=None, encoder=None, file=None):
    """A ``Job`` of a table held in memory (``tables.table_in_memory``: the rows of a DataFrame or of arrays, as
    the Python estimators have them), its training rows all of them: split for validation and encoded as a
    file's rows are. ``encoder``, a trained model's, encodes them in place of one fitted on them; ``file``, rows
    whose target holds every class, gives the classes in place of ``table``'s."""
    return planned(config, table_sets(config, SplitTables(table if file is None else file, table, None), warn, encoder))


def table_read_as(config, streamed):
    """The config with ``data.in_memory: auto`` resolved to how its table was read (``streamed``: from disk a
    block at a time). A table read from disk splits its rows otherwise (by each row's number, not by exact
    shares), so the run's config.yaml says how, and evaluate, the report and a resume read the table as training
    did, whatever memory is free then."""
    if config["data"]["in_memory"] != "auto":
        return config
    return {**config, "data": {**config["data"], "in_memory": not streamed}}


BATCHES_FROM_DISK = "reading from disk goes a batch at a time; set training.batch_size, e.g. 256"


def check_streamed_training(config):
    """What training on a table read from disk needs, checked before the file is read: a batch size, and the
    general path."""
    training = config["training"]
    if training["batch_size"] is None and config["data"]["in_memory"] is False:
        raise UserError(f"data.in_memory: {BATCHES_FROM_DISK}")
    if training["fast_path"] == "on":
        raise UserError(
            "training.fast_path: 'on' holds every training row in memory, and this table is read from disk "
            "(data.in_memory); use auto or off"
        )


def check_streamable(dataset, config):
    """A set left on disk is read a batch at a time, so training on it needs a batch size."""
    if not dataset.on_disk or config["training"]["batch_size"] is not None:
        return
    if config["data"]["in_memory"] is False:
        problem = BATCHES_FROM_DISK
    else:
        pictures = getattr(dataset, "pictures", None)
        needed = memory_to_read(dataset.path) if pictures is None else memory_needed(pictures, config["dtype"])
        available = available_memory()
        problem = (
            f"{dataset.path} is read from disk (it needs about {gigabytes(needed)}, more than half the "
            f"{gigabytes(available)} available), which needs training.batch_size; set one, e.g. 256"
        )
    raise UserError(f"data.in_memory: {problem}")


def check_memory(plan, m):
    """Refuse a network that cannot fit, before allocating it."""
    batch = min(plan.settings.batch_size or m, m)
    check_network_memory(plan.net.layers, plan.settings.optimizer, batch, plan.dtype)


def check_network_memory(layers, optimizer, batch, dtype):
    """Refuse a network that cannot train on ``batch`` examples at a time in the memory available; with a batch
    of one, before any data is read, as nothing of the data can make it fit."""
    needed = training_memory(layers, OPTIMIZERS[optimizer].copies, batch, np.dtype(dtype).itemsize)
    available = available_memory()
    if available is not None and needed > available:
        raise UserError(
            f"model.layers: training this network needs at least {gigabytes(needed)} of memory, "
            f"{gigabytes(available)} is available; use fewer or smaller layers (or float32, or mini-batches)"
        )
