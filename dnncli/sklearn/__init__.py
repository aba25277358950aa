"""dnn's networks as scikit-learn estimators: ``DNNClassifier`` and ``DNNRegressor`` train as `dnn train` does,
on arrays and DataFrames, and save the checkpoint it writes (``load`` reads one back).

scikit-learn is the optional ``sklearn`` extra: the estimators are scikit-learn's ``BaseEstimator`` and check
their input with its validation.
"""

from ..extras import missing_extra

try:
    from sklearn.utils.validation import validate_data  # noqa: F401  scikit-learn 1.6 or newer
except ImportError:
    raise ModuleNotFoundError(
        missing_extra("dnncli.sklearn", "sklearn", "scikit-learn 1.6 or newer").message, name="sklearn"
    ) from None

from .estimators import DNNClassifier, DNNRegressor, DNNWarning, load

__all__ = ["DNNClassifier", "DNNRegressor", "DNNWarning", "load"]
