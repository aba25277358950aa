"""``DNNClassifier`` and ``DNNRegressor``: dnn's networks as scikit-learn estimators.

``fit`` makes the config of the estimator's parameters (``parameters.config_of``) and trains it as `dnn train`
does: the same split, encoder, builder and loop (``run.job.prepare_rows``, ``run.train.train_kept``), on rows in
memory and with no run folder, so the same seed gives the same weights to the bit. The fitted model, ``model_``,
is the checkpoint `dnn train` would have written (``save`` writes it, a `dnn train` checkpoint ``load``s), and
``predict`` goes through ``model.predict`` as `dnn predict` does.

``partial_fit`` trains one epoch on the rows it is given, continuing the model and its optimizer where the last
call (or ``fit``) left them: for rows that come a chunk at a time. The encoding is fitted on the first rows a model
sees (its statistics, its categories) and kept after; held-out validation and early stopping are ``fit``'s alone,
and so is ``class_weight="balanced"``, which counts the classes of all the rows.

dnn's errors come out as Python's: bad input or a bad parameter is a ``ValueError``, a run that fails (a
diverging cost, a model that learned nothing) a ``RuntimeError``; warnings are ``DNNWarning``.
"""

import dataclasses
import json
import sys
import warnings
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_array, check_is_fitted, column_or_1d

from ..config.load import parse_yaml, resolve
from ..data.table_sets import warn_unknown
from ..data.tables import table_in_memory
from ..engine import steps_per_epoch
from ..engine.trainer import is_fast_path_state
from ..errors import RunFailure, UserError
from ..model import checkpoint
from ..model.predict import classify_rows, model_dtype, predicted_values
from ..run.job import prepare_rows
from ..run.layout import CHECKPOINT
from ..run.reporting import Reporter
from ..run.train import train_kept
from .frames import ROWS, category_names, rows_of
from .parameters import DEFAULTS, PARAMETERS, config_of, in_parameters, parameters_of

HEADER = "estimator"  # the checkpoint header's field of what an estimator adds: y's classes and shape, X's names


class DNNWarning(UserWarning):
    """What training or reading rows warns of: uneven classes, a rate that looks too high, unknown categories."""


def warn(text):
    """``text`` as a ``DNNWarning``, naming parameters, not config keys, and shown at the caller's line that
    reached dnn (its fit or predict), not dnn's own."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is the caller of warn
    while frame is not None and frame.f_globals.get("__name__", "").startswith("dnncli."):
        level, frame = level + 1, frame.f_back
    warnings.warn(in_parameters(text), DNNWarning, stacklevel=level)


class PythonWarnings(Reporter):
    """A run's reporter in Python: its warnings as ``DNNWarning``, nothing else shown."""

    def warn(self, text):
        warn(text)


@contextmanager
def python_errors():
    """dnn's errors as Python's: bad input or a bad parameter (``UserError``) a ``ValueError``, a failed run a
    ``RuntimeError``; the config keys they name are named as the parameters that set them."""
    try:
        yield
    except UserError as e:
        raise ValueError(in_parameters(e.message)) from None
    except RunFailure as e:
        raise RuntimeError(in_parameters(e.message)) from None


def continued(model):
    """A fitted model as training continues from it on other rows: no early stop pending, and its optimizer
    state without the fast path's own arrays, which hold the rows it was trained on."""
    header = json.loads(json.dumps(model.header))
    if isinstance(header.get("progress"), dict):  # else train_kept says the checkpoint has no progress to go on from
        header["progress"]["stopped_early"] = False
    state = {name: value for name, value in model.state.items() if not is_fast_path_state(name)}
    return dataclasses.replace(model, header=header, state=state)


class DNNEstimator(BaseEstimator):
    """What the classifier and the regressor share; a subclass gives its task, reads y and keeps what it needs."""

    task = None  # classification or regression: data.task

    def fit(self, X, y):
        """Train a new model on X and y."""
        with python_errors():
            values = self._y(y)
            rows = rows_of(self, X, y, values, reset=True)
            job = prepare_rows(self._config(rows.targets, self.get_params()), rows.table, warn)
            self._trained(job, None)
            self._fitted_y(values)
        return self

    def _partial_fit(self, X, y, classes=None):
        """Train one epoch on X and y, continuing the model (a new one on the first call)."""
        first = not hasattr(self, "model_")
        with python_errors():
            values = self._y(y)
            rows = rows_of(self, X, y, values, reset=first)
            done = 0 if first else self.model_.iteration
            epoch = steps_per_epoch(rows.table.rows, self.batch_size)
            parameters = {**self.get_params(), "iterations": done + epoch, "validation_fraction": 0.0, "patience": None}
            if parameters.get("class_weight") == "balanced":
                raise UserError(
                    "class_weight: balanced counts the classes of all the rows; partial_fit takes a mapping"
                )
            config = self._config(rows.targets, parameters)
            if first:
                job = prepare_rows(config, rows.table, warn, file=self._class_rows(rows.targets, classes))
            else:
                job = prepare_rows(config, rows.table, warn, encoder=self.model_.encoder)
                self._check_same_network(job)
            self._trained(job, None if first else continued(self.model_))
            if first:
                self._fitted_y(values if classes is None else np.asarray(classes))
        return self

    def _y(self, y):
        if y is None:
            raise UserError(f"{type(self).__name__} requires y to be passed, but the target y is None")
        return self._checked_y(y)

    def _config(self, targets, parameters):
        kinds = parameters["column_kinds"] or {}
        data = {"target": targets, "task": self.task, "columns": {**kinds, **self._target_kinds(targets)}}
        return config_of({**parameters, "column_kinds": None}, data)

    def _target_kinds(self, targets):
        return {}

    def _class_rows(self, targets, classes):
        return None

    def _check_same_network(self, job):
        model = self.model_
        if job.net != model.net or job.config["dtype"] != model.header["dtype"]:
            raise UserError(
                "partial_fit: the parameters make another network than the fitted one "
                f"({' -> '.join(map(str, job.net.layers))}, {job.config['dtype']}); fit a new model"
            )

    def _trained(self, job, resume_from):
        _, record = train_kept(job, PythonWarnings(), resume_from)
        self.model_ = record.checkpoints[CHECKPOINT]
        self._fitted_model()

    def _fitted_model(self):
        model = self.model_
        progress = model.header.get("progress")
        self.n_iter_ = model.iteration
        self.history_ = progress.get("history", []) if isinstance(progress, dict) else []

    def _inputs(self, X):
        """X encoded as the model's inputs, (m, inputs)."""
        check_is_fitted(self)
        with python_errors():
            rows = rows_of(self, X)
            inputs, unknown = self.model_.encoder.encode(rows.table, model_dtype(self.model_))
        warn_unknown(ROWS, unknown, warn)
        return inputs

    # --- checkpoints ----------------------------------------------------------------------------------------

    def save(self, path):
        """Write the fitted model to ``path`` as the checkpoint `dnn train` writes (``.npz`` with its JSON
        header), for `dnn evaluate`, `predict`, `serve` and `export`, or ``load``."""
        check_is_fitted(self)
        model = self.model_
        header = {**model.header, HEADER: self._header()}
        checkpoint.save(path, header, model.params, model.state, model.arrays)

    def _header(self):
        return {"named": hasattr(self, "feature_names_in_")}

    @classmethod
    def load(cls, path):
        """The fitted estimator of a checkpoint saved by ``save`` or written by `dnn train` on a table, its
        parameters those of the config it was trained with."""
        with python_errors():
            return cls._of_model(checkpoint.load(path))

    @classmethod
    def _of_model(cls, model):
        if not model.takes_tables:
            raise UserError(f"{model.path}: a model of pictures; the estimators take rows of a table")
        if model.encoder.task != cls.task:
            other = ESTIMATORS[model.encoder.task].__name__
            raise UserError(f"{model.path}: a {model.encoder.task} model; load it with {other}.load")
        config = model.header.get("config")
        names = cls._get_param_names()
        parameters = parameters_of(resolve(parse_yaml(config, model.path)), names) if isinstance(config, str) else {}
        estimator = cls(**parameters)
        estimator.model_ = model
        estimator._fitted_model()
        saved = estimator._saved_header(model)
        features = model.encoder.feature_columns
        estimator.n_features_in_ = len(features)
        if saved.get("named", True):
            estimator.feature_names_in_ = np.asarray(features, dtype=object)
        estimator._loaded(saved)
        return estimator

    def _saved_header(self, model):
        """What ``save`` added to the header, checked (a `dnn train` checkpoint has none: {})."""
        saved = model.header.get(HEADER, {})
        fits = isinstance(saved, dict) and all(isinstance(saved.get(key, False), bool) for key in ("named", "flat"))
        classes = saved.get("classes", model.classes) if fits else None
        if not fits or not isinstance(classes, list) or len(classes) != len(model.classes):
            raise UserError(f"{model.path}: header field {HEADER!r} is not what an estimator saves")
        return saved

    def _loaded(self, saved):
        pass

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a missing cell is imputed, and an indicator input says so
        return tags


class DNNClassifier(ClassifierMixin, DNNEstimator):
    """A network that classifies rows: sigmoid for two classes, softmax for more. Its parameters are the
    config's keys (see ``parameters.PARAMETERS``), their defaults the config's."""

    task = "classification"

    def __init__(
        self,
        *,
        hidden_layer_sizes=DEFAULTS["hidden_layer_sizes"],
        activation=DEFAULTS["activation"],
        output=DEFAULTS["output"],
        init=DEFAULTS["init"],
        batch_norm=DEFAULTS["batch_norm"],
        batch_norm_momentum=DEFAULTS["batch_norm_momentum"],
        batch_norm_epsilon=DEFAULTS["batch_norm_epsilon"],
        learning_rate=DEFAULTS["learning_rate"],
        epochs=DEFAULTS["epochs"],
        iterations=DEFAULTS["iterations"],
        batch_size=DEFAULTS["batch_size"],
        optimizer=DEFAULTS["optimizer"],
        schedule=DEFAULTS["schedule"],
        l2=DEFAULTS["l2"],
        keep_prob=DEFAULTS["keep_prob"],
        class_weight=DEFAULTS["class_weight"],
        validation_fraction=DEFAULTS["validation_fraction"],
        patience=DEFAULTS["patience"],
        min_delta=DEFAULTS["min_delta"],
        log_every=DEFAULTS["log_every"],
        divergence=DEFAULTS["divergence"],
        fast_path=DEFAULTS["fast_path"],
        column_kinds=DEFAULTS["column_kinds"],
        max_categories=DEFAULTS["max_categories"],
        min_category_count=DEFAULTS["min_category_count"],
        seed=DEFAULTS["seed"],
        dtype=DEFAULTS["dtype"],
    ):
        keep_parameters(self, locals())

    def _checked_y(self, y):
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return y

    def _target_kinds(self, targets):
        return {targets[0]: "category"}  # whatever y holds, its values are classes

    def _class_rows(self, targets, classes):
        """The rows whose classes are the model's: partial_fit's ``classes``, when given."""
        if classes is None:
            return None
        return table_in_memory(pa.table({targets[0]: pa.array(np.asarray(classes))}), "classes")

    def _fitted_y(self, values):
        """``classes_``: the values of y the model's classes name, in its order."""
        uniques = np.unique(values)
        named = dict(zip(category_names(uniques), uniques, strict=True))
        self.classes_ = np.asarray([named[name] for name in self.model_.encoder.classes], dtype=uniques.dtype)

    def _header(self):
        return {**super()._header(), "classes": self.classes_.tolist()}

    def _loaded(self, saved):
        self.classes_ = np.asarray(saved.get("classes", self.model_.classes))

    def predict_proba(self, X):
        """Each class's probability, (m, classes), in the order of ``classes_``."""
        inputs = self._inputs(X)
        with python_errors():
            probabilities, _ = classify_rows(self.model_, inputs)
        return probabilities.T

    def predict(self, X):
        """The class of each row, a value of ``classes_``."""
        inputs = self._inputs(X)
        with python_errors():
            _, labels = classify_rows(self.model_, inputs)
        return self.classes_[labels]

    def partial_fit(self, X, y, classes=None):
        """Train one epoch on X and y, continuing the model; the first call fits a new one, whose classes are
        ``classes`` (every class y will hold) or those of this y."""
        return self._partial_fit(X, y, classes)


class DNNRegressor(RegressorMixin, DNNEstimator):
    """A network that predicts one number or several (an identity output, half the squared error of the
    standardised targets). Its parameters are the config's keys (see ``parameters.PARAMETERS``), their defaults
    the config's."""

    task = "regression"

    def __init__(
        self,
        *,
        hidden_layer_sizes=DEFAULTS["hidden_layer_sizes"],
        activation=DEFAULTS["activation"],
        output=DEFAULTS["output"],
        init=DEFAULTS["init"],
        batch_norm=DEFAULTS["batch_norm"],
        batch_norm_momentum=DEFAULTS["batch_norm_momentum"],
        batch_norm_epsilon=DEFAULTS["batch_norm_epsilon"],
        learning_rate=DEFAULTS["learning_rate"],
        epochs=DEFAULTS["epochs"],
        iterations=DEFAULTS["iterations"],
        batch_size=DEFAULTS["batch_size"],
        optimizer=DEFAULTS["optimizer"],
        schedule=DEFAULTS["schedule"],
        l2=DEFAULTS["l2"],
        keep_prob=DEFAULTS["keep_prob"],
        validation_fraction=DEFAULTS["validation_fraction"],
        patience=DEFAULTS["patience"],
        min_delta=DEFAULTS["min_delta"],
        log_every=DEFAULTS["log_every"],
        divergence=DEFAULTS["divergence"],
        fast_path=DEFAULTS["fast_path"],
        column_kinds=DEFAULTS["column_kinds"],
        max_categories=DEFAULTS["max_categories"],
        min_category_count=DEFAULTS["min_category_count"],
        seed=DEFAULTS["seed"],
        dtype=DEFAULTS["dtype"],
    ):
        keep_parameters(self, locals())

    def _checked_y(self, y):
        return check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")

    def partial_fit(self, X, y):
        """Train one epoch on X and y, continuing the model; the first call fits a new one."""
        return self._partial_fit(X, y)

    def _fitted_y(self, values):
        self.n_outputs_ = 1 if values.ndim == 1 else values.shape[1]
        self._flat = values.ndim == 1

    def _header(self):
        return {**super()._header(), "flat": self._flat}

    def _loaded(self, saved):
        self.n_outputs_ = len(self.model_.encoder.target["columns"])
        self._flat = saved.get("flat", self.n_outputs_ == 1)

    def predict(self, X):
        """The predicted numbers, (m,), or (m, targets) for a y of several columns."""
        inputs = self._inputs(X)
        with python_errors():
            values = predicted_values(self.model_, inputs)
        return values.ravel() if self._flat else values

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def keep_parameters(estimator, given):
    """An ``__init__``'s arguments kept as they are, as scikit-learn's estimators keep theirs."""
    for name, value in given.items():
        if name in PARAMETERS:
            setattr(estimator, name, value)


ESTIMATORS = {"classification": DNNClassifier, "regression": DNNRegressor}


def load(path):
    """The fitted ``DNNClassifier`` or ``DNNRegressor`` of a checkpoint, as its task is."""
    with python_errors():
        model = checkpoint.load(path)
        if not model.takes_tables:
            raise UserError(f"{path}: a model of pictures; the estimators take rows of a table")
        return ESTIMATORS[model.encoder.task]._of_model(model)
