"""`dnn evaluate`: how well a trained model classifies a labelled data set, or predicts a table's numbers."""

import click

from ..data.formats import SPLITS
from ..errors import UserError
from .options import FiniteFloatRange, chosen_model, model_options, named_path, warn

THRESHOLD_RULES = ("f1", "balanced_accuracy", "precision")  # model.thresholds.RULES: a test checks


@click.command("evaluate")
@model_options
@click.option(
    "--data",
    "data_file",
    type=click.Path(),
    help="HDF5 file, folder with a subfolder per class, or table (CSV, Parquet) to evaluate on [default: the run config's data set].",
)
@click.option(
    "--split",
    type=click.Choice((*SPLITS, "validation")),
    help="Which of the config's sets (validation: the examples training held out), or which keys to read in --data [default: test; with --data, what the file has].",
)
@click.option(
    "--json",
    "json_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    callback=named_path(),
    help="Where to write the JSON report; - for stdout only [default: evaluation-SPLIT.json beside the checkpoint].",
)
@click.option(
    "--top-losses",
    type=click.IntRange(min=1),
    metavar="N",
    help="Also show the N examples with the highest loss, the most confidently wrong first.",
)
@click.option(
    "--min-confidence",
    type=FiniteFloatRange(0, 1),
    metavar="P",
    help="Also say how many examples would be answered at P or above (the rest unsure), and their accuracy.",
)
@click.option(
    "--choose-threshold",
    "rule",
    type=click.Choice(THRESHOLD_RULES),
    help="Two classes: choose the threshold by this rule on the validation split, store it in the checkpoint (predict and serve use it), then evaluate.",
)
@click.option(
    "--target-precision",
    type=FiniteFloatRange(0, 1, min_open=True),
    metavar="P",
    help="For --choose-threshold precision: the precision to reach, with the most recall.",
)
def evaluate_command(
    run_folder, checkpoint_file, best, data_file, split, json_file, top_losses, min_confidence, rule, target_precision
):
    """Score a trained model on a labelled data set.

    Accuracy and balanced accuracy beside a baseline (always answering the
    most common training class), log loss, precision, recall and F1 per class
    and macro-averaged, the confusion matrix, ROC AUC, average precision, Brier
    score, the calibration error (before and after calibrating), the inputs
    flagged unfamiliar; the JSON report adds each example (its file or index)
    with its class probabilities. The last line printed is the JSON file.

    \b
    dnn evaluate
    dnn evaluate --best --top-losses 10
    dnn evaluate --run runs/cat/2 --split train
    dnn evaluate --checkpoint model.npz --data more_cats.h5 --json -
    dnn evaluate --choose-threshold f1
    dnn evaluate --choose-threshold precision --target-precision 0.95
    """
    from ..files import check_output, write_json
    from ..model import checkpoint
    from ..model.answers import check_min_confidence
    from ..model.evaluate import check_scaled_as_data_sets, evaluate, top_losses_of
    from ..report.console import stdout_console
    from ..report.tables import (
        class_table,
        confusion_table,
        honesty_lines,
        largest_errors_table,
        regression_table,
        summary_table,
        top_losses_table,
    )
    from ..run.selection import choose_data, default_json_path, run_config
    from ..text import finite_json, json_text, short_path

    if (rule == "precision") != (target_precision is not None):
        raise click.UsageError("--choose-threshold precision takes --target-precision P, and only it does")
    path = chosen_model(run_folder, checkpoint_file, best)
    json_path = (
        None if json_file == "-" else check_output(json_file or default_json_path(path, data_file, split or "test"))
    )
    saved = checkpoint.load(path)
    check_scaled_as_data_sets(saved, path)
    check_min_confidence(saved, min_confidence)
    config = run_config(path.parent)
    if rule:
        saved = chosen_threshold(path, config, saved, rule, target_precision, json_file == "-")
    dataset, split = choose_data(config, path.parent, data_file, split, saved, warn)
    report = {"checkpoint": str(path), "iteration": saved.iteration, "data": dataset.path, "split": split}
    report.update(evaluate(saved, dataset, min_confidence))
    if top_losses:
        report["top_losses"] = top_losses_of(report, top_losses)
    if json_path is None:
        click.echo(json_text(report, indent=2))
        return
    try:
        write_json(json_path, finite_json(report), output=True)
    except OSError as e:
        raise UserError(f"{json_path}: cannot write ({e.strerror or e})") from None
    console = stdout_console()
    click.echo(f"{path} (iteration {saved.iteration}) on the {split} set {short_path(dataset.path)}")
    tables = (
        [regression_table(report)]
        if saved.regression
        else [summary_table(report), class_table(report), confusion_table(report)]
    )
    for table in tables:
        console.print(table)
    for line in honesty_lines(report):
        console.print(line, soft_wrap=True)
    if top_losses and saved.regression:
        console.print(largest_errors_table(report["top_losses"], report["targets"]))
    elif top_losses:
        console.print(top_losses_table(report["top_losses"]))
    click.echo(str(json_path))


def chosen_threshold(path, config, saved, rule, target, quiet):
    """The checkpoint at ``path`` with a threshold chosen by ``rule`` on its run's validation split, stored in it;
    the line saying so on stderr (unless ``quiet``: only the JSON goes out)."""
    from ..model import checkpoint
    from ..report.tables import threshold_text
    from ..run.posthoc import holding_run, store_threshold
    from ..run.selection import validation_split

    if saved.net.output != "sigmoid":
        raise UserError(f"--choose-threshold: for a two-class model; {path} has {len(saved.classes)} classes")
    dataset = validation_split(config, path.parent, saved, warn)
    with holding_run(path):
        chosen = store_threshold(path, dataset, rule, target)
    if not quiet:
        click.echo(f"{path}: {threshold_text(chosen, saved.classes)}")
    return checkpoint.load(path)
