"""The NumPy engine of dnn: imports nothing but NumPy, prints nothing, reads no files."""

from .activations import ACTIVATIONS, DERIVATIVES
from .class_weights import balanced_class_weights, example_weights
from .fastpath import FastTrainer, fast_path_obstacle, make_trainer
from .gradcheck import check_gradients
from .initializers import INITIALIZERS, initialize
from .losses import LOSSES, OUTPUT_ACTIVATIONS, REGRESSION_OUTPUTS
from .network import (
    THRESHOLD,
    Network,
    accuracy,
    backward,
    batch_norm_arrays,
    compute_cost,
    cost,
    encode_labels,
    forward,
    gradients,
    predict_labels,
    predict_proba,
    predict_values,
)
from .optimizers import OPTIMIZERS
from .schedules import SCHEDULES
from .settings import Settings
from .sources import ArraySource, Source
from .trainer import Trainer, steps_per_epoch

__all__ = [
    "ACTIVATIONS",
    "DERIVATIVES",
    "INITIALIZERS",
    "LOSSES",
    "OPTIMIZERS",
    "OUTPUT_ACTIVATIONS",
    "REGRESSION_OUTPUTS",
    "SCHEDULES",
    "THRESHOLD",
    "ArraySource",
    "FastTrainer",
    "Network",
    "Settings",
    "Source",
    "Trainer",
    "accuracy",
    "backward",
    "balanced_class_weights",
    "batch_norm_arrays",
    "check_gradients",
    "compute_cost",
    "cost",
    "encode_labels",
    "example_weights",
    "fast_path_obstacle",
    "forward",
    "gradients",
    "initialize",
    "make_trainer",
    "predict_labels",
    "predict_proba",
    "predict_values",
    "steps_per_epoch",
]
