"""Decoding large JPEGs: the reduced-scale decode of ``pictures.load_picture`` (its rule 3) against a
whole decode, for the speed of `dnn predict` and `dnn data import` and for how far the pixels move.

    python bench/pictures.py                      # 24 pictures of 12 megapixels: pictures per second
    python bench/pictures.py --pixels 262         # also the pixel differences, over 262 pictures

The pictures are made here, in a temporary folder, and never kept: each is a real
photograph, one of the course's cat pictures (64 x 64; the demo pictures when the
cat files are absent) and, for the pixel differences, the photographs that
scikit-learn and matplotlib ship (china.jpg, flower.jpg, grace_hopper.jpg, when
installed), upscaled to 4032 x 3024 (Lanczos), with Gaussian noise of sigma 4 added
as a camera's sensor would, saved as JPEG at quality 90. "Before" is the whole
decode (the draft asked for a size larger than any picture, which leaves the
decoder at full scale); "after" is the decoder as it is. Predict runs
``model.predict.predictions`` on a saved model of the cat network; import runs
``data.folder_sets.import_folder`` at 64 x 64. Timings are wall-clock, the median of
``--repeats`` passes.
"""

import argparse
import importlib.util
import statistics
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from compare import cat_folder, pick_data
from PIL import Image
from workers import LAYERS, load

from dnncli.data import pictures
from dnncli.data.folder_sets import import_folder
from dnncli.engine import Network, initialize
from dnncli.model import checkpoint
from dnncli.model.predict import predictions

SIZE = (4032, 3024)  # 12 megapixels, a phone camera's 4:3
NOISE = 4.0
QUALITY = 90
INPUT = (64, 64, 3)
WHOLE = 10**6  # a draft margin no picture reaches: the decoder stays at full scale


def photographs(count):
    """Up to ``count`` real photographs as uint8 arrays: the cat set's (or the demo's), then the shipped ones."""
    folder = cat_folder()
    if folder is not None:
        train, test = load(folder / "train_catvnoncat.h5", "train"), load(folder / "test_catvnoncat.h5", "test")
        found = [*train.pictures, *test.pictures]
    else:
        _, train_path, _, _ = pick_data("demo")
        found = list(load(train_path, "train").pictures)
    for package, names in (
        ("sklearn", ("datasets/images/china.jpg", "datasets/images/flower.jpg")),
        ("matplotlib", ("mpl-data/sample_data/grace_hopper.jpg",)),
    ):
        spec = importlib.util.find_spec(package)
        for name in names if spec else ():
            path = Path(spec.origin).parent / name
            if path.exists():
                with Image.open(path) as image:
                    found.append(np.asarray(image.convert("RGB")))
    return found[-count:] if count < len(found) else found


def large_jpeg(pixels, path, rng):
    """``pixels`` upscaled to SIZE with sensor-like noise, saved as a JPEG."""
    big = np.asarray(Image.fromarray(pixels).resize(SIZE, Image.Resampling.LANCZOS), dtype=np.float32)
    big += rng.normal(0, NOISE, big.shape).astype(np.float32)
    Image.fromarray(np.clip(big, 0, 255).astype(np.uint8)).save(path, quality=QUALITY)


@contextmanager
def whole_decode():
    saved = pictures.DRAFT_MARGIN
    pictures.DRAFT_MARGIN = WHOLE
    try:
        yield
    finally:
        pictures.DRAFT_MARGIN = saved


def seconds(work, repeats):
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def cat_model(folder):
    """A checkpoint of the cat network (its initial weights: the speed of a forward pass does not care)."""
    net = Network(LAYERS, ("relu",) * (len(LAYERS) - 2), "sigmoid")
    header = checkpoint.make_header(net, ["non-cat", "cat"], INPUT, 255.0, "float64", 0)
    path = folder / "model.npz"
    checkpoint.save(path, {**header, "iteration": 0}, initialize(LAYERS, "course", 1), {})
    return checkpoint.load(path)


def speed(count, repeats):
    """Pictures per second, whole decode and reduced, for predict and import."""
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        made = photographs(count)
        paths = []
        for i, pixels in enumerate(made):
            path = tmp / "set" / ("cat" if i % 2 else "other") / f"{i:03}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            large_jpeg(pixels, path, rng)
            paths.append(path)
        saved = cat_model(tmp)

        def predict():
            assert len(list(predictions(saved, paths, 0.5, print))) == len(paths)

        def do_import():
            import_folder(tmp / "set", tmp / "set.h5", INPUT[0])

        rows = {}
        for name, work in (("predict", predict), ("import", do_import)):
            with whole_decode():
                before = seconds(work, repeats)
            after = seconds(work, repeats)
            rows[name] = (len(paths) / before, len(paths) / after)
    return len(paths), rows


def pixel_differences(count):
    """Mean and largest absolute difference (0-255) between the reduced and the whole decode, over ``count``."""
    rng = np.random.default_rng(1)
    differences, largest = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for pixels in photographs(count):
            path = Path(tmp) / "p.jpg"
            large_jpeg(pixels, path, rng)
            with whole_decode():
                whole = pictures.load_picture(path, INPUT).astype(np.int16)
            reduced = pictures.load_picture(path, INPUT).astype(np.int16)
            difference = np.abs(whole - reduced)
            differences.append(difference.mean())
            largest = max(largest, int(difference.max()))
            print(f"{len(differences)}: mean {differences[-1]:.3f}, largest {int(difference.max())}", flush=True)
    return len(differences), float(np.mean(differences)), float(np.percentile(differences, 99)), largest


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=24, help="12-megapixel pictures timed (default 24; 0: none)")
    parser.add_argument("--repeats", type=int, default=3, help="passes over them, the median reported")
    parser.add_argument("--pixels", type=int, default=0, help="also measure the pixel differences over this many")
    args = parser.parse_args(argv)
    if args.count:
        count, rows = speed(args.count, args.repeats)
        print(f"{count} JPEGs of {SIZE[0]} x {SIZE[1]} to {INPUT}, median of {args.repeats} passes")
        print("| what | pictures / s, whole decode | pictures / s, reduced decode | speed-up |")
        print("| --- | ---: | ---: | ---: |")
        for name, (before, after) in rows.items():
            print(f"| {name} | {before:.1f} | {after:.1f} | {after / before:.1f}x |")
    if args.pixels:
        n, mean, p99, largest = pixel_differences(args.pixels)
        print(
            f"pixels, reduced against whole decode, over {n} pictures (0-255): mean absolute difference "
            f"{mean:.3f}, 99th percentile of a picture's mean {p99:.3f}, largest {largest}"
        )


if __name__ == "__main__":
    main()
