"""The estimators' defaults on scikit-learn's own tables: 5-fold cross-validated scores of DNNClassifier() and
DNNRegressor() as they come, beside a learning rate ten times smaller, and scikit-learn's MLP with its defaults
(after a StandardScaler, which dnn's encoder does itself).

    python bench/estimator_defaults.py

Accuracy for the classifiers (breast cancer, wine, iris, digits), R² for the regressor (diabetes). The defaults
the config has no value for (the hidden layers, the learning rate, the epochs) were chosen on this table:
docs/guide/07-python.md shows it.
"""

import warnings

from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_iris, load_wine
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from dnncli.sklearn import DNNClassifier, DNNRegressor

TABLES = [
    ("breast cancer", load_breast_cancer, False),
    ("wine", load_wine, False),
    ("iris", load_iris, False),
    ("digits", load_digits, False),
    ("diabetes", load_diabetes, True),
]


def main():
    warnings.simplefilter("ignore")
    print("| table | DNN defaults | learning_rate=0.01 | scikit-learn MLP defaults |")
    print("| --- | --- | --- | --- |")
    for name, loader, regression in TABLES:
        X, y = loader(return_X_y=True)
        folds = (
            KFold(5, shuffle=True, random_state=0) if regression else StratifiedKFold(5, shuffle=True, random_state=0)
        )
        ours, theirs = (DNNRegressor, MLPRegressor) if regression else (DNNClassifier, MLPClassifier)
        candidates = [ours(), ours(learning_rate=0.01), make_pipeline(StandardScaler(), theirs(random_state=0))]
        scores = [cross_val_score(model, X, y, cv=folds).mean() for model in candidates]
        print(f"| {name} | " + " | ".join(f"{s:.3f}" for s in scores) + " |", flush=True)


if __name__ == "__main__":
    main()
