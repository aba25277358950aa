"""What batch norm and augmentation cost per iteration on the cat network, in CPU time of this process.

    python bench/course_costs.py [--iterations 300] [--repeats 3]

Rows: the fast path (full batch) with and without batch norm; the general path on shuffled mini-batches of 32
without either, with batch norm, and with batch norm and augmented pictures (flips, shifts of 4, brightness and
contrast 0.1). CPU time (``time.process_time``) rather than wall time, so a busy machine disturbs it less; the
median of the repeats. Needs the cat files ($DNN_CAT_DATA, data/cat/ or ../shared/data/cat/).
"""

import argparse
import statistics
import time

import numpy as np
from compare import cat_folder

from dnncli.config.build import build_network, build_settings, initial_params
from dnncli.config.load import resolve
from dnncli.data.hdf5 import load_hdf5
from dnncli.engine import encode_labels, make_trainer
from dnncli.run.feed import example_source

AUGMENT = {"flip": True, "shift": 4, "brightness": 0.1, "contrast": 0.1}
ROWS = {
    "fast path": {},
    "fast path, batch norm": {"batch_norm": True},
    "general path, batches of 32": {"batch_size": 32},
    "general path, batches of 32, batch norm": {"batch_size": 32, "batch_norm": True},
    "general path, batches of 32, batch norm, augmented": {"batch_size": 32, "batch_norm": True, "augment": AUGMENT},
}


def config_of(folder, batch_size=None, batch_norm=False, augment=None):
    return resolve(
        {
            "data": {"train": str(folder / "train_catvnoncat.h5"), "augment": augment or {}},
            "model": {"layers": [12288, 20, 7, 5, 1], "batch_norm": batch_norm},
            "training": {"learning_rate": 0.0075, "iterations": 1, "batch_size": batch_size},
        }
    )


def cpu_ms_per_iteration(config, train, iterations):
    net, settings = build_network(config), build_settings(config)
    augment = config["data"]["augment"] if settings.inputs_vary else None
    source = example_source(train, encode_labels(net, train.labels), np.float64, augment, config["seed"])
    trainer = make_trainer(net, initial_params(config, np.float64), settings, source, "auto")
    trainer.step()
    started = time.process_time()
    for _ in range(iterations):
        trainer.step()
    return 1000 * (time.process_time() - started) / iterations, trainer.fast


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    folder = cat_folder()
    if folder is None:
        raise SystemExit("the course's cat files are not here (set DNN_CAT_DATA)")
    keys = ("train_set_x", "train_set_y")
    train = load_hdf5(folder / "train_catvnoncat.h5", *keys, "list_classes", keys)
    print("| job | path | CPU ms / iteration |")
    print("| --- | --- | ---: |")
    for label, options in ROWS.items():
        runs = [cpu_ms_per_iteration(config_of(folder, **options), train, args.iterations) for _ in range(args.repeats)]
        fast = runs[0][1]
        print(f"| {label} | {'fast' if fast else 'general'} | {statistics.median(r[0] for r in runs):.3f} |")


if __name__ == "__main__":
    main()
