"""Temperature scaling on the course's cat model: the calibration error and log loss of the test set before and
after, T fitted on a validation split.

    DNN_CAT_DATA=/work/shared/data/cat python bench/calibration.py [--fraction 0.2]

Trains configs/cat.yaml with ``training.validation_fraction`` (its training set 209 - the split), fits T on the
validation split's logits (model.calibration), and prints, for the test set and the validation split, the
expected calibration error (model.metrics.calibration, 10 bins) and the log loss at T = 1 and at the fitted T.
Needs the cat files.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from compare import ROOT, cat_folder

from dnncli.config.load import load as load_config
from dnncli.engine import forward
from dnncli.model.calibration import calibrated, fit_temperature, scaled_log_loss, targets
from dnncli.model.checkpoint import load
from dnncli.model.metrics import calibration
from dnncli.run.job import prepare


def logits_of(saved, dataset):
    return forward(saved.net, saved.params, dataset.rows().T)[0]


def scores(logits, labels, temperature):
    p = calibrated(logits, temperature)
    two = np.vstack([1 - p, p])
    return calibration(labels, two)["expected_calibration_error"], scaled_log_loss(
        logits, targets(logits, labels), temperature
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--fraction", type=float, default=0.2)
    fraction = parser.parse_args().fraction
    data = cat_folder()
    if data is None:
        sys.exit("the course's cat files are not here (set DNN_CAT_DATA or put them in data/cat/)")
    sets = [f"data.train={data / 'train_catvnoncat.h5'}", f"data.test={data / 'test_catvnoncat.h5'}"]
    sets.append(f"training.validation_fraction={fraction}")
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "dnncli", "train", "--config", str(ROOT / "configs" / "cat.yaml"), "--quiet"]
        for value in [*sets, f"output.dir={folder}"]:
            command += ["--set", value]
        run = Path(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        saved = load(run / "checkpoint.npz")
    job = prepare(load_config(ROOT / "configs" / "cat.yaml", sets))
    fitted = fit_temperature(logits_of(saved, job.validation), job.validation.labels)
    print(f"T = {fitted.temperature:.3f}, fitted on {fitted.examples} validation examples")
    print(
        "| set | examples | calibration error, T = 1 | at T | log loss, T = 1 | at T |\n| --- | ---: | ---: | ---: | ---: | ---: |"
    )
    for name, dataset in (("validation", job.validation), ("test", job.test)):
        z = logits_of(saved, dataset)
        (e1, l1), (et, lt) = scores(z, dataset.labels, 1.0), scores(z, dataset.labels, fitted.temperature)
        print(f"| {name} | {dataset.m} | {e1:.3f} | {et:.3f} | {l1:.3f} | {lt:.3f} |")


if __name__ == "__main__":
    main()
