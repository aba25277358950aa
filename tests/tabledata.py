"""Tables for the tests: scikit-learn's shipped data sets written to CSV and Parquet, and a generated table with
numbers, categories, booleans, missing cells and an id column."""

import csv

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

COLOURS = ["red", "green", "blue", "yellow", "violet", "black"]  # of the generated table, most common first


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_parquet(path, columns):
    """``columns``: name -> list of cells (None for missing)."""
    pq.write_table(pa.table(columns), path)
    return path


def sklearn_table(loader, target="label", names=True):
    """(header, rows, X, y) of one of scikit-learn's data sets; the target as class names (or numbers)."""
    data = loader()
    y = [data.target_names[i] for i in data.target] if names else list(data.target)
    header = [str(name) for name in data.feature_names] + [target]
    rows = [[repr(float(v)) for v in x] + [t] for x, t in zip(data.data, y, strict=True)]
    return header, rows, data.data, np.asarray(y)


def mixed_columns(m=400, seed=0):
    """A generated table: ``id`` (text), ``size`` and ``weight`` (numbers, ``weight`` with missing cells),
    ``colour`` (six categories of falling frequency, some missing), ``indoor`` (booleans, some missing), and
    the target ``label`` (yes/no), which depends on all of them."""
    rng = np.random.default_rng(seed)
    size = rng.normal(10, 3, m)
    weight = rng.normal(50, 10, m)
    p = np.array([0.35, 0.25, 0.2, 0.12, 0.05, 0.03])
    colour = rng.choice(COLOURS, m, p=p)
    indoor = rng.random(m) < 0.4
    score = (size - 10) / 3 + (weight - 50) / 10 + np.where(np.isin(colour, ["red", "blue"]), 1.5, -1.0) + indoor
    label = np.where(score + rng.normal(0, 0.5, m) > 0, "yes", "no")
    weight_cells = [None if rng.random() < 0.1 else float(w) for w in weight]
    colour_cells = [None if rng.random() < 0.05 else str(c) for c in colour]
    indoor_cells = [None if rng.random() < 0.05 else bool(b) for b in indoor]
    return {
        "id": [f"r{i:04d}" for i in range(m)],
        "size": [float(s) for s in size],
        "weight": weight_cells,
        "colour": colour_cells,
        "indoor": indoor_cells,
        "label": [str(v) for v in label],
    }


def csv_cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return value


def write_mixed_csv(path, columns):
    names = list(columns)
    rows = [[csv_cell(columns[name][i]) for name in names] for i in range(len(columns[names[0]]))]
    return write_csv(path, names, rows)


def write_diabetes(folder):
    """scikit-learn's diabetes table as ``diabetes.csv``: ten numbers and ``progression``, the disease a year later."""
    from sklearn.datasets import load_diabetes

    header, rows, _, _ = sklearn_table(load_diabetes, target="progression", names=False)
    return write_csv(folder / "diabetes.csv", header, [row[:-1] + [repr(float(row[-1]))] for row in rows])


def table_run_config(path, train, target, data=None, **training):
    """A config for a table at ``path``: ``data`` adds to its data section, ``training`` to its training section
    (a fifth of the rows held out for validation, a fifth for the test, Adam, mini-batches)."""
    import yaml

    config = {
        "name": path.stem,
        "data": {"train": str(train), "target": target, "test_fraction": 0.2, **(data or {})},
        "model": {"layers": ["auto", 16, 8, "auto"]},
        "training": {
            "optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 20, "log_every": 20,
            "validation_fraction": 0.2, **training,
        },
    }  # fmt: skip
    path.write_text(yaml.safe_dump(config))
    return path
