"""Permutation importance of a table model's columns, compared with scikit-learn's ``permutation_importance`` on
the same model wrapped as a scikit-learn estimator: the same rows, scoring and seed give the same numbers."""

from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.inspection import permutation_importance as sklearn_importance

from dnncli.data.table_sets import split_tables
from dnncli.model import checkpoint
from dnncli.model.importance import permutation_importance
from dnncli.model.predict import classify_rows, model_dtype, predicted_values
from dnncli.run.selection import run_config


class Wrapped(BaseEstimator):
    """A dnn table model as scikit-learn sees an estimator: it takes a DataFrame of the raw cells."""

    def __init__(self, saved=None, template=None):
        self.saved, self.template = saved, template

    def fit(self, X, y):
        return self

    def predict(self, X):
        table = replace(self.template, columns=pa.Table.from_pandas(X, preserve_index=False), origin=None)
        rows, _ = self.saved.encoder.encode(table, model_dtype(self.saved))
        if self.saved.regression:
            return predicted_values(self.saved, rows)
        return classify_rows(self.saved, rows)[1]


class WrappedClassifier(ClassifierMixin, Wrapped):
    pass


class WrappedRegressor(RegressorMixin, Wrapped):
    pass


def held_out_rows(run):
    saved = checkpoint.load(run / "checkpoint.npz")
    return saved, split_tables(run_config(run), True).test


@pytest.mark.parametrize("which", ["regression_run", "table_class_run"])
def test_the_same_numbers_as_scikit_learn(which, request):
    run = request.getfixturevalue(which)
    saved, table = held_out_rows(run)
    ours = permutation_importance(saved, table, repeats=4, seed=7)
    encoder = saved.encoder
    X = table.columns.select(encoder.feature_columns).to_pandas()
    if saved.regression:
        model, y = WrappedRegressor(saved, table), encoder.values(table)
    else:
        model, y = WrappedClassifier(saved, table), encoder.labels(table)
    theirs = sklearn_importance(model, X, y, n_repeats=4, random_state=7)
    assert ours.scoring == ("r2" if saved.regression else "accuracy")
    assert ours.baseline == pytest.approx(model.score(X, y), abs=1e-12)
    by_name = {c.name: c for c in ours.columns}
    assert list(by_name) != encoder.feature_columns or len(by_name) == 1  # ranked, not in the file's order
    for k, name in enumerate(encoder.feature_columns):
        np.testing.assert_allclose(by_name[name].drops(ours.baseline), theirs.importances[k], rtol=0, atol=1e-12)
        assert ours.mean(by_name[name]) == pytest.approx(theirs.importances_mean[k], abs=1e-12)
        assert ours.std(by_name[name]) == pytest.approx(theirs.importances_std[k], abs=1e-12)
    means = [ours.mean(c) for c in ours.columns]
    assert means == sorted(means, reverse=True)


def test_a_category_is_one_column_however_many_inputs_it_has(table_class_run):
    saved, table = held_out_rows(table_class_run)
    found = permutation_importance(saved, table)
    by_name = {c.name: c for c in found.columns}
    assert set(by_name) == {"size", "weight", "colour", "indoor"}  # not the id, not the target, not one-hot inputs
    assert by_name["colour"].inputs > 2 and by_name["weight"].inputs == 2  # its categories; its number and indicator
    assert found.rows == table.rows and found.repeats == 5 and len(by_name["size"].scores) == 5
    # the label follows size, weight, colour and indoor (tests/tabledata.py): each matters
    assert all(found.mean(c) > 0 for c in found.columns)


def test_a_large_set_is_sampled_down_by_the_seed(regression_run):
    saved, table = held_out_rows(regression_run)
    found = permutation_importance(saved, table, repeats=2, max_rows=40)
    again = permutation_importance(saved, table, repeats=2, max_rows=40)
    assert found.rows == 40 and found.of_rows == table.rows
    assert found == again
