"""`dnn evaluate`: how well a trained model classifies a labelled data set.

Accuracy and log loss come from ``train.score``, the function ``dnn train``
reports with, so on the same data the numbers are the same. Each example's
probabilities come from ``predict.classify``, the function ``dnn predict`` uses.
"""

import json
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from . import checkpoint
from . import config as configs
from .atomic import write_json
from .data import PIXEL_SCALE, check_same_classes, load_hdf5, load_split, open_hdf5
from .errors import UserError
from .folders import load_folder, shown
from .metrics import classification_report
from .options import model_options
from .predict import classify, model_dtype, model_path, probability_map
from .runs import CHECKPOINT, CONFIG
from .train import score

SPLITS = ("test", "train")  # the order --data looks for them in a file


def run_config(folder):
    """The resolved config beside a checkpoint, or None when there is none."""
    path = Path(folder) / CONFIG
    return configs.load(path) if path.exists() else None


def data_keys(config):
    """The HDF5 key names: the run's, or the cat layout's defaults."""
    if config is not None:
        return config["data"]["keys"]
    return {key: spec.default for key, spec in configs.SCHEMA["data"]["keys"].items()}


def choose_data(config, folder, data_file, split, input_shape):
    """The data set to evaluate on, and the split whose keys it was read with."""
    if data_file is None:
        if config is None:
            raise UserError(f"{folder}: no {CONFIG} here names a data set; pass --data FILE")
        split = split or "test"
        if config["data"][split] is None:
            raise UserError(f"{folder / CONFIG}: data.{split} is not set; pass --data FILE")
        return load_split(config, split), split
    if Path(data_file).is_dir():
        return load_folder(data_file, input_shape), split or "test"
    keys = data_keys(config)
    if split is None:
        with open_hdf5(data_file) as f:
            present = [s for s in SPLITS if keys[f"{s}_x"] in f]
        if not present:
            raise UserError(f"{data_file}: has neither {keys['test_x']!r} nor {keys['train_x']!r} pictures")
        split = present[0]
    settings = (f"data.keys.{split}_x", f"data.keys.{split}_y")
    in_memory = config["data"]["in_memory"] if config else "auto"
    return load_hdf5(data_file, keys[f"{split}_x"], keys[f"{split}_y"], keys["classes"], settings, in_memory), split


def evaluate(saved, dataset):
    """The report on a data set checked against the model: scores, counts, confusion, each example."""
    check_same_classes(saved, dataset)  # a checkpoint has the training set's classes and input shape
    scores = score(saved.net, saved.params, dataset, model_dtype(saved))
    parts = [classify(saved, part.pixels()) for part in dataset.parts()]
    probabilities = np.hstack([p for p, _ in parts])
    predicted = np.concatenate([labels for _, labels in parts])
    assert scores["accuracy"] == float((predicted == dataset.labels).mean())
    classes = saved.classes
    report = {"examples": scores["examples"], "accuracy": scores["accuracy"], "log_loss": scores["cost"]}
    report.update(classification_report(dataset.labels, predicted, classes))
    report["predictions"] = [
        {"index": i, "true": classes[y], "predicted": classes[p], "probabilities": probability_map(classes, column)}
        for i, (y, p, column) in enumerate(zip(dataset.labels, predicted, probabilities.T, strict=True))
    ]
    return report


def default_json_path(checkpoint_file, data_file, split):
    """``evaluation-test.json`` beside the checkpoint; other checkpoints and --data files add their names."""
    checkpoint_file = Path(checkpoint_file)
    parts = ["evaluation"]
    if checkpoint_file.name != CHECKPOINT:
        parts.append(checkpoint_file.stem)
    parts.append(Path(data_file).stem if data_file else split)
    return checkpoint_file.parent / ("-".join(parts) + ".json")


def ratio(value):
    return f"{value:.4f}"


def summary_table(report):
    table = Table("metric", "value")
    table.columns[1].justify = "right"
    table.add_row("examples", str(report["examples"]))
    table.add_row("accuracy", ratio(report["accuracy"]))
    table.add_row("log loss", f"{report['log_loss']:.6f}")
    if "positive" in report:
        positive = report["positive"]
        for score_name in ("precision", "recall", "f1"):
            table.add_row(f"{score_name} ({positive['class']})", ratio(positive[score_name]))
    for score_name, value in report["macro"].items():
        table.add_row(f"macro {score_name}", ratio(value))
    return table


def class_table(report):
    table = Table(
        "class", "examples", "predicted", "precision", "recall", "f1", title="per class", title_justify="left"
    )
    for column in table.columns[1:]:
        column.justify = "right"
    for name, scores in report["per_class"].items():
        table.add_row(
            name,
            str(report["counts"][name]),
            str(report["predicted_counts"][name]),
            *(ratio(scores[s]) for s in ("precision", "recall", "f1")),
        )
    return table


def confusion_table(report):
    classes = report["classes"]
    table = Table("true \\ predicted", *classes, title="confusion matrix", title_justify="left")
    for column in table.columns[1:]:
        column.justify = "right"
    for name, row in zip(classes, report["confusion_matrix"], strict=True):
        table.add_row(name, *(str(n) for n in row))
    return table


@click.command("evaluate")
@model_options
@click.option(
    "--data",
    "data_file",
    type=click.Path(),
    help="HDF5 file, or folder with a subfolder per class, to evaluate on [default: the run config's data set].",
)
@click.option(
    "--split",
    type=click.Choice(["train", "test"]),
    help="Which of the config's sets, or which keys to read in --data [default: test; with --data, what the file has].",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Where to write the JSON report; - for stdout only [default: evaluation-SPLIT.json beside the checkpoint].",
)
def evaluate_command(run_folder, checkpoint_file, data_file, split, json_file):
    """Score a trained model on a labelled data set.

    Accuracy, log loss, precision, recall and F1 per class and macro-averaged,
    and the confusion matrix; the JSON report adds each example's class
    probabilities. The last line printed is the JSON file.

    \b
    dnn evaluate
    dnn evaluate --run runs/cat/2 --split train
    dnn evaluate --checkpoint model.npz --data more_cats.h5 --json -
    """
    path = model_path(run_folder, checkpoint_file)
    saved = checkpoint.load(path)
    if saved.pixel_scale != PIXEL_SCALE:  # train.score scales data sets by PIXEL_SCALE
        raise UserError(
            f"{path}: divides pixels by {saved.pixel_scale}; dnn evaluate scales data sets by {PIXEL_SCALE}"
        )
    config = run_config(path.parent)
    dataset, split = choose_data(config, path.parent, data_file, split, saved.input_shape)
    report = {"checkpoint": str(path), "iteration": saved.iteration, "data": dataset.source, "split": split}
    report.update(evaluate(saved, dataset))
    if json_file == "-":
        click.echo(json.dumps(report, indent=2))
        return
    json_path = Path(json_file) if json_file else default_json_path(path, data_file, split)
    try:
        write_json(json_path, report)
    except OSError as e:
        raise UserError(f"{json_path}: cannot write ({e.strerror or e})") from None
    console = Console(highlight=False)
    click.echo(f"{path} (iteration {saved.iteration}) on the {split} set {shown(dataset.source)}")
    for table in (summary_table(report), class_table(report), confusion_table(report)):
        console.print(table)
    click.echo(str(json_path))
