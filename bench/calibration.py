"""Temperature scaling as `dnn train` does it at its end (training.calibrate): the test set's calibration error and
log loss before (T = 1) and after, on pictures and tables of several sizes.

    DNN_CAT_DATA=/work/shared/data/cat python bench/calibration.py > /tmp/calibration.md

Each case trains with ``training.validation_fraction`` (so the run fits T on its validation split and stores it
in the checkpoint), then ``dnn evaluate --json -`` gives the test set's expected calibration error
(``model.metrics.calibration``, 10 bins of the top class's probability) and log loss with T and at T = 1
(``uncalibrated``). The cases: the course's cat set (configs/cat.yaml, a fifth and three tenths held out; skipped
without the files), the demo and its three-class set (configs/demo.yaml, configs/demo-multiclass.yaml), and three
tables: scikit-learn's breast cancer (569 rows) and digits (1797 rows, 10 classes), and the generated mixed
table of the tests (1000 rows). Prints a Markdown table.
"""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from compare import ROOT, cat_folder

sys.path.insert(0, str(ROOT / "tests"))  # the tables the tests use

from tabledata import mixed_columns, sklearn_table, write_csv, write_mixed_csv  # noqa: E402

TABLE_TRAINING = {"optimizer": "adam", "learning_rate": 0.01, "batch_size": 32, "epochs": 40}


def dnn(*args, folder):
    command = [sys.executable, "-m", "dnncli", *map(str, args)]
    return subprocess.run(command, check=True, capture_output=True, text=True, cwd=folder).stdout


def picture_cases(folder):
    """(name, config, --set values) of the picture cases whose data is here."""
    cat = cat_folder()
    if cat is not None:
        sets = [f"data.train={cat / 'train_catvnoncat.h5'}", f"data.test={cat / 'test_catvnoncat.h5'}"]
        for fraction in (0.2, 0.3):
            yield (
                f"cat, {fraction:g} held out",
                ROOT / "configs" / "cat.yaml",
                [*sets, f"training.validation_fraction={fraction}"],
            )
    for name, classes in (("demo", 2), ("demo-multiclass", 3)):
        dnn("data", "demo", "--classes", classes, "--out", folder / name, folder=folder)
        sets = [f"data.train={folder / name / 'train.h5'}", f"data.test={folder / name / 'test.h5'}"]
        yield f"{name}, 0.2 held out", ROOT / "configs" / f"{name}.yaml", [*sets, "training.validation_fraction=0.2"]


def table_cases(folder):
    from sklearn.datasets import load_breast_cancer, load_digits

    for name, loader in (("breast cancer", load_breast_cancer), ("digits", load_digits)):
        header, rows, _, _ = sklearn_table(loader)
        write_csv(folder / f"{loader.__name__}.csv", header, rows)
        # the digits' classes are the numbers 0 to 9: classes, not a number to predict
        yield name, table_config(folder, folder / f"{loader.__name__}.csv", name, task="classification"), []
    write_mixed_csv(folder / "mixed.csv", mixed_columns(m=1000))
    yield "mixed table", table_config(folder, folder / "mixed.csv", "mixed", id="id"), []


def table_config(folder, path, name, **data):
    config = {
        "name": name.replace(" ", "-"),
        "data": {"train": str(path), "target": "label", "test_fraction": 0.25, **data},
        "model": {"layers": ["auto", 32, "auto"]},
        "training": {**TABLE_TRAINING, "validation_fraction": 0.2},
    }
    out = folder / f"{config['name']}.yaml"
    out.write_text(yaml.safe_dump(config))
    return out


def measured(name, config, sets, folder):
    command = ["train", "--config", config, "--quiet", "--set", f"output.dir={folder / 'runs'}"]
    for value in sets:
        command += ["--set", value]
    run = dnn(*command, folder=folder).strip().splitlines()[-1]
    report = json.loads(dnn("evaluate", "--run", run, "--json", "-", folder=folder))
    fitted, before = report["temperature"], report["uncalibrated"]
    return (
        f"| {name} | {fitted['examples']} | {fitted['temperature']:.3g} | {report['examples']} | "
        f"{before['calibration_error']:.3f} | {report['calibration']['expected_calibration_error']:.3f} | "
        f"{before['log_loss']:.3f} | {report['log_loss']:.3f} |"
    )


def main():
    print(
        "| data | validation examples | T | test examples | calibration error, T = 1 | at T | log loss, T = 1 | at T |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        for case in [*picture_cases(folder), *table_cases(folder)]:
            print(measured(*case, folder), flush=True)


if __name__ == "__main__":
    main()
