"""`dnn calibrate`: temperature scaling of a run's probabilities, fitted on its validation split."""

import click

from .options import warn


@click.command("calibrate")
@click.argument("run_folder", required=False, type=click.Path(file_okay=False), metavar="[RUN]")
def calibrate_command(run_folder):
    """Calibrate a run's probabilities: fit the temperature T that its logits are divided by on the
    examples training held out for validation, and store it in the run's checkpoints.

    RUN is a run folder [default: the newest run]; its checkpoint.npz and best.npz are each fitted
    on their own. predict, evaluate, serve, the report and dnn export use T from then on; the most
    probable class never changes. Training does this at its end when it has a validation split
    (training.calibrate). A two-class threshold chosen by dnn evaluate --choose-threshold is chosen
    again, by its rule, on the calibrated probabilities.

    \b
    dnn calibrate
    dnn calibrate runs/cat/2
    """
    from ..model import checkpoint
    from ..report.tables import calibration_text, threshold_text
    from ..run.layout import BEST, CHECKPOINT, latest_run, run_checkpoint
    from ..run.posthoc import calibrate_checkpoint, holding_run
    from ..run.selection import run_config, validation_split

    folder = run_folder or latest_run()
    paths = [run_checkpoint(folder, CHECKPOINT)]
    paths += [paths[0].parent / BEST] if (paths[0].parent / BEST).exists() else []
    saved = checkpoint.load(paths[0])
    dataset = validation_split(run_config(paths[0].parent), paths[0].parent, saved, warn)
    with holding_run(paths[0]):
        for path in paths:
            calibration, threshold, dropped = calibrate_checkpoint(path, dataset)
            click.echo(f"{path}: {calibration_text(calibration)}")
            if threshold is not None:
                click.echo(f"{path}: {threshold_text(threshold, saved.classes)}")
            if dropped:
                warn(f"{path}: no threshold reaches its target on the calibrated probabilities; 0.5 is used again")
