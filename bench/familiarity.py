"""How well each way of scoring unfamiliarity tells the course's cat test pictures from pictures unlike them.

    DNN_CAT_DATA=/work/shared/data/cat python bench/familiarity.py > /tmp/familiarity.md

Trains configs/cat.yaml (2500 iterations of gd at 0.0075, a few seconds) with `dnn train` in a temporary
folder, then scores the 50 test pictures (familiar) against 56 generated pictures (tests/unlike_pictures.py,
seed 0, 8 of each of 7 kinds) and 19 photos that scikit-image ships (``UNLIKE_PHOTOS``), by:

- the chosen method, ``model.familiarity``: 17 statistics of each picture, Mahalanobis distance under
  Ledoit and Wolf's shrunk correlation, threshold the 95th percentile of held-out training distances;
- the same statistics with the distance to the 5th nearest training picture instead;
- the pixels: Mahalanobis distance in the 20 leading principal components, the distance from them
  (reconstruction error), the distance to the 5th nearest training picture;
- each hidden layer's activations: Mahalanobis distance as above (``familiarity.fit`` on them), and the
  5th nearest training picture's distance for the last;
- 1 - the top class's probability (a model that is unsure).

Prints Markdown: the comparison (AUROC in vs out), then for the chosen method the share flagged at its
threshold per kind, the trade-off of the threshold's percentile, and each photo's unfamiliarity.
Needs scikit-image (the dev extra) and the cat files.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

import h5py
import numpy as np
from compare import ROOT, cat_folder

sys.path.insert(0, str(ROOT / "tests"))  # the generated pictures and the photo list the tests use

from dnncli.data.pictures import load_picture  # noqa: E402
from dnncli.engine import OUTPUT_ACTIVATIONS, forward  # noqa: E402
from dnncli.model.checkpoint import load  # noqa: E402
from dnncli.model.familiarity import fit, held_out_distances, picture_features  # noqa: E402
from dnncli.model.metrics import roc_auc  # noqa: E402
from unlike_pictures import ORDINARY_PHOTOS, UNLIKE_PHOTOS, generated, photo_paths  # noqa: E402

SHAPE = (64, 64, 3)


def auroc(familiar, unfamiliar):
    truth = np.r_[np.zeros(len(familiar)), np.ones(len(unfamiliar))].astype(bool)
    return roc_auc(truth, np.r_[familiar, unfamiliar])


def train_cat(folder, data):
    command = [sys.executable, "-m", "dnncli", "train", "--config", str(ROOT / "configs" / "cat.yaml"), "--quiet"]
    command += [
        "--set",
        f"data.train={data / 'train_catvnoncat.h5'}",
        "--set",
        f"data.test={data / 'test_catvnoncat.h5'}",
    ]
    command += ["--set", f"output.dir={folder}"]
    run = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
    return load(Path(run) / "checkpoint.npz")


def pictures(data, split):
    with h5py.File(data / f"{split}_catvnoncat.h5") as f:
        return f[f"{split}_set_x"][:]


def layers_and_probability(saved, pixels):
    """Each hidden layer's activations (m, units) and the top class's probability (m,)."""
    ZL, cache = forward(saved.net, saved.params, pixels.reshape(len(pixels), -1).T / 255.0)
    p = OUTPUT_ACTIVATIONS[saved.net.output](ZL)[0]
    return [entry[2].T for entry in cache[:-1]], np.maximum(p, 1 - p)


def knn(train, k=5):
    """The distance to the k-th nearest training row, the columns standardised by the training ones."""
    mean, scale = train.mean(axis=0), np.maximum(train.std(axis=0), 1e-6)
    reference = (train - mean) / scale

    def score(rows):
        z = (rows - mean) / scale
        squared = (z * z).sum(1)[:, None] + (reference * reference).sum(1)[None] - 2 * z @ reference.T
        return np.sqrt(np.sort(np.maximum(squared, 0), axis=1)[:, k - 1])

    return score


def principal(train, k=20):
    """(Mahalanobis distance in the k leading components, distance from their span) of pixel rows."""
    mean = train.mean(axis=0)
    _, s, vt = np.linalg.svd(train - mean, full_matrices=False)
    basis, variance = vt[:k], s[:k] ** 2 / (len(train) - 1)

    def inside(rows):
        return np.sqrt((((rows - mean) @ basis.T) ** 2 / variance).sum(1))

    def outside(rows):
        d = rows - mean
        return np.linalg.norm(d - (d @ basis.T) @ basis, axis=1)

    return inside, outside


def methods(saved, train):
    """name -> a function of uint8 pictures giving a score, higher for less familiar."""
    stats = picture_features(train)
    chosen = fit(stats)
    stats_knn = knn(stats)
    rows = train.reshape(len(train), -1) / 255.0
    inside, outside = principal(rows)
    pixels_knn = knn(rows)
    hidden, _ = layers_and_probability(saved, train)
    fits = [fit(h, kind="rows") for h in hidden]
    last_knn = knn(hidden[-1])

    def flat(x):
        return x.reshape(len(x), -1) / 255.0

    table = {
        "picture statistics, Mahalanobis (chosen)": lambda x: chosen.unfamiliarity(picture_features(x)),
        "picture statistics, 5th nearest": lambda x: stats_knn(picture_features(x)),
        "pixels, Mahalanobis in 20 principal components": lambda x: inside(flat(x)),
        "pixels, distance from 20 principal components": lambda x: outside(flat(x)),
        "pixels, 5th nearest": lambda x: pixels_knn(flat(x)),
    }
    for l, fitted in enumerate(fits, start=1):
        table[f"hidden layer {l} ({fitted.features} units), Mahalanobis"] = lambda x, l=l, fitted=fitted: (
            fitted.distances(layers_and_probability(saved, x)[0][l - 1])
        )
    table[f"hidden layer {len(fits)}, 5th nearest"] = lambda x: last_knn(layers_and_probability(saved, x)[0][-1])
    table["1 - top class probability"] = lambda x: 1 - layers_and_probability(saved, x)[1]
    return table, chosen


def main():
    data = cat_folder()
    if data is None:
        sys.exit("the course's cat files are not here (set DNN_CAT_DATA or put them in data/cat/)")
    with tempfile.TemporaryDirectory() as folder:
        saved = train_cat(Path(folder), data)
    train, test = pictures(data, "train"), pictures(data, "test")
    kinds, made = generated(per_kind=8, seed=0)
    unlike = np.stack([load_picture(path, SHAPE) for path in photo_paths(UNLIKE_PHOTOS)])
    ordinary = np.stack([load_picture(path, SHAPE) for path in photo_paths(ORDINARY_PHOTOS)])

    table, chosen = methods(saved, train)
    print("| method | AUROC, generated | AUROC, real photos |\n| --- | ---: | ---: |")
    for name, score in table.items():
        familiar = score(test)
        print(f"| {name} | {auroc(familiar, score(made)):.3f} | {auroc(familiar, score(unlike)):.3f} |")

    test_u, made_u = chosen.unfamiliarity(picture_features(test)), chosen.unfamiliarity(picture_features(made))
    unlike_u, ordinary_u = (chosen.unfamiliarity(picture_features(x)) for x in (unlike, ordinary))
    print(
        f"\nThreshold: distance {chosen.threshold:.3f} (shrinkage {chosen.shrinkage:.3f}, {chosen.examples} pictures)"
    )
    print("\n| pictures | count | AUROC against the test pictures | flagged unfamiliar |\n| --- | ---: | ---: | ---: |")
    print(f"| cat test pictures | {len(test_u)} | | {np.mean(test_u > 1):.0%} |")
    kinds = np.array(kinds)
    for kind in dict.fromkeys(kinds):
        u = made_u[kinds == kind]
        print(f"| generated: {kind} | {len(u)} | {auroc(test_u, u):.3f} | {np.mean(u > 1):.0%} |")
    print(f"| generated, all | {len(made_u)} | {auroc(test_u, made_u):.3f} | {np.mean(made_u > 1):.0%} |")
    print(
        f"| real photos of such kinds | {len(unlike_u)} | {auroc(test_u, unlike_u):.3f} | {np.mean(unlike_u > 1):.0%} |"
    )
    print(
        f"| ordinary scenes (not the target) | {len(ordinary_u)} | {auroc(test_u, ordinary_u):.3f} | {np.mean(ordinary_u > 1):.0%} |"
    )

    held_out = held_out_distances(picture_features(train))
    print("\n| threshold: percentile of held-out training distances | flags test | generated | real photos |")
    print("| ---: | ---: | ---: | ---: |")
    for percent in (90, 95, 97.5, 99):
        cut = np.percentile(held_out, percent) / chosen.threshold
        flags = [np.mean(u > cut) for u in (test_u, made_u, unlike_u)]
        print(f"| {percent} | " + " | ".join(f"{f:.0%}" for f in flags) + " |")

    print("\n| photo | unfamiliarity |\n| --- | ---: |")
    for name, u in zip(UNLIKE_PHOTOS + ORDINARY_PHOTOS, np.r_[unlike_u, ordinary_u], strict=True):
        print(f"| {name}{' (ordinary)' if name in ORDINARY_PHOTOS else ''} | {u:.2f} |")


if __name__ == "__main__":
    main()
