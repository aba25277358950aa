"""What a log point's health costs on the cat job, next to one fast-path iteration.

    OPENBLAS_NUM_THREADS=1 python bench/health_cost.py [DATA_FOLDER]

DATA_FOLDER holds train_catvnoncat.h5 (default: ../shared/data/cat beside the project).
Training runs log points on one BLAS thread, so one thread is the fair measure.
"""

import sys
import time
from pathlib import Path

from dnncli.data.hdf5 import load_hdf5
from dnncli.engine import ArraySource, Network, Settings, encode_labels, initialize, make_trainer
from dnncli.engine.health import layer_health

REPEATS = 20


def milliseconds(action, repeats=REPEATS):
    start = time.perf_counter()
    for _ in range(repeats):
        action()
    return (time.perf_counter() - start) / repeats * 1000


def main(folder):
    train = load_hdf5(
        Path(folder) / "train_catvnoncat.h5", "train_set_x", "train_set_y", "list_classes", ("train_x", "train_y")
    )
    net = Network((12288, 20, 7, 5, 1), ("relu",) * 3, "sigmoid")
    source = ArraySource(train.rows(), encode_labels(net, train.labels))
    trainer = make_trainer(net, initialize(net.layers, "course", 1), Settings(learning_rate=0.0075), source)
    for _ in range(100):
        trainer.step()
    step = milliseconds(trainer.step, 500)
    snapshot = milliseconds(trainer.snapshot)
    params, _ = trainer.snapshot()
    X, Y = source.everything()
    health = milliseconds(lambda: layer_health(net, params, X, Y))
    print(f"{type(trainer).__name__}: one iteration {step:.3f} ms")
    print(f"a log point: snapshot (forms W1) {snapshot:.1f} ms + health {health:.1f} ms")
    print(f"= {(snapshot + health) / step:.0f} iterations; 26 log points add {26 * (snapshot + health) / 1000:.2f} s")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data" / "cat")
