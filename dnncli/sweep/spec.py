"""The sweep file: checked like a config (``SWEEP_SCHEMA``), every error one line, before any trial starts.

A parameter is a dotted config key, as ``--set`` takes it, with a distribution: ``log_uniform: [low, high]``,
``uniform: [low, high]``, ``int_uniform: [low, high]`` (both ends included) or ``choice: [a, b, ...]``.
"""

import copy
import math
import os
from dataclasses import dataclass
from pathlib import Path

from ..config.load import apply_overrides, load, read_yaml, resolve
from ..config.schema import (
    REQUIRED,
    ConfigError,
    Field,
    describe,
    did_you_mean,
    integer,
    number,
    one_of,
    optional,
    path,
    run_name,
)
from ..data.encoding import TableSpec, target_task
from ..data.streamed import TableStream
from ..model.score import HIGHER_IS_BETTER, SCORES

SPLITS = ("train", "validation", "test")
KINDS = ("cost", *(name for names in SCORES.values() for name in names))  # cost, accuracy, rmse, mae, r2
METRICS = tuple(f"{split}_{kind}" for split in SPLITS for kind in KINDS)
DISTRIBUTIONS = ("log_uniform", "uniform", "int_uniform", "choice")
SWEEP_FILE = "sweep.yaml"  # the sweep file's copy in the sweep folder
MAX_TRIALS = 10_000  # trials of one sweep, random or grid: more is a typo, and would only be drawn up front
MAX_CHOICES = 1_000
INT_BOUND = 2**62  # int_uniform bounds lie within +-INT_BOUND, where NumPy's int64 draws reach
# keys a trial cannot vary, as what it would set is replaced: key -> by what
FIXED_KEYS = {
    "name": "every trial is named by the sweep's name:",
    "output.dir": "a trial's files go to its folder in the sweep folder (dir:)",
}
RUNG_KEYS = ("training.iterations", "training.epochs")  # with halving, each rung sets a trial's length


def rungs(value):
    if not isinstance(value, list) or not value:
        raise ValueError("must be a list of iteration counts, e.g. [250, 1000, 2500]")
    checked = [integer(1)(v) for v in value]
    if any(b <= a for a, b in zip(checked, checked[1:], strict=False)):
        raise ValueError("must grow from rung to rung")
    return checked


def settings(value):
    if not isinstance(value, list) or not all(isinstance(item, str) and "=" in item for item in value):
        raise ValueError("must be a list of KEY=VALUE items, as --set takes them, e.g. [training.iterations=300]")
    return value


SWEEP_SCHEMA = {
    "config": Field(path, REQUIRED, "the base config, relative to the sweep file"),
    "name": Field(run_name, "sweep", "name of the sweep; it goes to <dir>/<name>/<n>/"),
    "metric": Field(
        one_of(METRICS),
        "validation_cost",
        "the final score that ranks trials: costs, RMSE and MAE are minimised, accuracy and R² maximised",
    ),
    "method": Field(one_of(["grid", "random"]), "random", "grid: every combination of choices; random: draws"),
    "trials": Field(
        optional(integer(1, MAX_TRIALS)), None, "random: the number of trials (grid takes every combination)"
    ),
    "seed": Field(integer(0), 0, "seed of the draws: every trial's values and its own seed"),
    "set": Field(settings, [], "KEY=VALUE overrides of the base config for every trial (before --set)"),
    "parameters": Field(lambda v: v, REQUIRED, "dotted config keys, each with a distribution"),
    "halving": {
        "rungs": Field(optional(rungs), None, "successive halving: the iteration counts of the rungs"),
        "keep": Field(number(above=0, below=1), 0.33, "the share of trials, best first, that go on to the next rung"),
    },
    "dir": Field(path, "sweeps", "folder of sweeps; relative to where dnn runs"),
}


@dataclass(frozen=True)
class Parameter:
    key: str
    kind: str  # one of DISTRIBUTIONS
    values: tuple  # (low, high), or the choices


@dataclass(frozen=True)
class Sweep:
    path: Path  # the sweep file
    base: Path  # the base config
    overrides: tuple  # --set, for every trial
    name: str
    metric: str
    method: str
    trials: int  # None for grid
    seed: int
    parameters: tuple  # of Parameter
    rungs: tuple  # iteration counts, or None without halving
    keep: float
    dir: str

    @property
    def minimise(self):
        return not HIGHER_IS_BETTER[metric_kind(self.metric)]


def metric_kind(metric):
    """What a metric scores: ``validation_r2`` -> ``r2``."""
    return metric.rsplit("_", 1)[1]


def metric_task(metric):
    """The task whose runs have the metric: ``classification`` or ``regression``; None for a cost, which both have."""
    return next((task for task, names in SCORES.items() if metric_kind(metric) in names), None)


def parameter(key, raw, origin):
    if not isinstance(key, str) or not key.strip():
        raise ConfigError(
            f"{origin}: parameters: {describe(key)} is not a config key; name one as --set does, e.g. training.learning_rate"
        )
    where = f"{origin}: parameters.{key}"
    if not isinstance(raw, dict) or len(raw) != 1:
        raise ConfigError(
            f"{where}: must be one distribution, e.g. {{log_uniform: [1.0e-4, 1.0e-1]}}; one of {', '.join(DISTRIBUTIONS)}"
        )
    ((kind, values),) = raw.items()
    if kind not in DISTRIBUTIONS:
        raise ConfigError(
            f"{where}: unknown distribution {kind!r}{did_you_mean(kind, DISTRIBUTIONS)}; one of {', '.join(DISTRIBUTIONS)}"
        )
    if not isinstance(values, list) or not values:
        raise ConfigError(f"{where}: {kind} takes a list, got {describe(values)}")
    if kind == "choice":
        if len(values) > MAX_CHOICES:
            raise ConfigError(f"{where}: choice takes at most {MAX_CHOICES} values, got {len(values)}")
        return Parameter(key, kind, tuple(values))
    if len(values) != 2:
        raise ConfigError(f"{where}: {kind} takes [low, high], got {describe(values)}")
    try:
        if kind == "int_uniform":
            check = integer(-INT_BOUND, INT_BOUND)
        else:
            check = number(above=0) if kind == "log_uniform" else number()
        low, high = (check(v) for v in values)
    except ValueError as e:
        raise ConfigError(f"{where}: {kind} bounds {e}, got {describe(values)}") from None
    if high < low:
        raise ConfigError(f"{where}: {kind} needs low <= high, got {describe(values)}")
    if not math.isfinite(high - low):
        raise ConfigError(f"{where}: {kind} spans more than a float holds, got {describe(values)}")
    return Parameter(key, kind, (low, high))


def read_sweep(path, overrides=()):
    """The checked ``Sweep`` of a sweep file; ``overrides`` (``--set``) apply to the base config of every trial."""
    path = Path(path)
    origin = str(path)
    data = read_yaml(path)
    resolved = resolve(data, origin, SWEEP_SCHEMA)
    raw = resolved["parameters"]
    if not isinstance(raw, dict) or not raw:
        raise ConfigError(f"{origin}: parameters: must be a mapping of dotted config keys to distributions")
    parameters = tuple(parameter(str(key), value, origin) for key, value in raw.items())
    if resolved["method"] == "random" and resolved["trials"] is None:
        raise ConfigError(f"{origin}: trials: missing; a random sweep needs the number of trials")
    if resolved["method"] == "grid":
        for p in parameters:
            if p.kind in ("log_uniform", "uniform"):
                raise ConfigError(f"{origin}: parameters.{p.key}: a grid takes choice or int_uniform, not {p.kind}")
        combinations = math.prod(grid_size(p) for p in parameters)
        if combinations > MAX_TRIALS:
            raise ConfigError(
                f"{origin}: parameters: a grid of {combinations} combinations; at most {MAX_TRIALS} trials"
            )
    halving = resolved["halving"]
    for p in parameters:
        replaced = FIXED_KEYS.get(p.key) or (
            "halving.rungs set each trial's length" if halving["rungs"] and p.key in RUNG_KEYS else None
        )
        if replaced:
            raise ConfigError(f"{origin}: parameters.{p.key}: a trial cannot vary it ({replaced})")
    base = (path.parent / resolved["config"]).resolve()
    if not base.exists():
        raise ConfigError(f"{origin}: config: {base} does not exist")
    sweep = Sweep(
        path,
        base,
        tuple(resolved["set"]) + tuple(overrides),
        resolved["name"],
        resolved["metric"],
        resolved["method"],
        resolved["trials"],
        resolved["seed"],
        parameters,
        tuple(halving["rungs"]) if halving["rungs"] else None,
        halving["keep"],
        resolved["dir"],
    )
    check_parameters(sweep)
    return sweep


def grid_size(parameter):
    if parameter.kind == "int_uniform":
        low, high = parameter.values
        return high - low + 1
    return len(parameter.values)


def check_parameters(sweep):
    """Every parameter names a key of the config, and the base config itself loads."""
    data = read_yaml(sweep.base)
    for p in sweep.parameters:
        sample = p.values[0]
        apply_overrides(copy.deepcopy(data), [f"{p.key}={describe(sample)}"], origin=f"{sweep.path}: parameters")
    config = load(sweep.base, sweep.overrides)
    if (
        sweep.metric.startswith("validation")
        and not config["training"]["validation_fraction"]
        and not any(p.key == "training.validation_fraction" for p in sweep.parameters)
    ):
        raise ConfigError(
            f"{sweep.path}: metric: {sweep.metric} needs a validation set; set training.validation_fraction in {sweep.base.name} (or --set it)"
        )
    if sweep.metric.startswith("test") and config["data"]["test"] is None and not config["data"]["test_fraction"]:
        raise ConfigError(
            f"{sweep.path}: metric: {sweep.metric} needs data.test (or for a table data.test_fraction) in {sweep.base.name}"
        )
    check_metric_task(sweep, config)
    swept = {p.key for p in sweep.parameters}
    for split in ("train", "test"):
        where = config["data"][split]
        if where is not None and f"data.{split}" not in swept and not os.path.exists(where):
            kind = "folder" if config["data"]["format"] == "folder" else "file"
            raise ConfigError(f"{where}: no such data {kind} (data.{split} of {sweep.base})")
    return config


def known_task(config):
    """The task of a config's runs where the config alone says it: pictures are classified; a table's target is
    predicted as data.task says, several targets by regression. None where it follows the target column's kind,
    which only reading the table tells (``read_task``)."""
    data = config["data"]
    if data["target"] is None:
        return "classification"
    if data["task"] != "auto":
        return data["task"]
    return "regression" if isinstance(data["target"], list) and len(data["target"]) > 1 else None


TASK_KEYS = ("data.task", "data.target", "data.train", "data.format")  # what a trial's task follows


def check_metric_task(sweep, config):
    wanted = metric_task(sweep.metric)
    if wanted is None or any(p.key in TASK_KEYS for p in sweep.parameters):
        return  # a cost, which every run has; or a task the trials change
    task = known_task(config) or read_task(config)
    if task is not None and wanted != task:
        raise ConfigError(f"{sweep.path}: metric: {sweep.metric} {metric_problem(sweep.metric, task)}")


def read_task(config):
    """The task of a config's runs as its table's target column says, read from the first block of the file
    (as a table too large for memory is read; a column whose later cells change its kind is rare, and then
    each trial says so); None when there is no such file yet (see ``check_sweep``)."""
    data = config["data"]
    if not os.path.isfile(data["train"]):
        return None
    stream = TableStream(data["train"], None if data["delimiter"] == "auto" else data["delimiter"])
    targets = [data["target"]] if isinstance(data["target"], str) else list(data["target"])
    return target_task(stream.first, targets, TableSpec.of(data))[0]


def metric_problem(metric, task):
    """Why ``metric`` does not rank runs of ``task``, and the metrics that do."""
    split = metric.rsplit("_", 1)[0]
    *others, last = (f"{split}_{name}" for name in ("cost", *SCORES[task]))
    return f"is not a score of {task} runs; rank them by {', '.join(others)} or {last}"


def trial_overrides(values, seed):
    """``--set`` items that make a trial's config from the base: its values, then its seed."""
    items = [f"{key}={describe(value)}" for key, value in values.items()]
    if "seed" not in values:
        items.append(f"seed={seed}")
    return items


def trial_config(sweep, values, seed):
    """A trial's resolved config: the base, the sweep's --set, then the trial's values; a ConfigError names the trial's problem."""
    return load(sweep.base, list(sweep.overrides) + trial_overrides(values, seed) + [f"name={sweep.name}"])
