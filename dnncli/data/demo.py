"""The built-in demo data sets, written in exactly the cat files' layout (``hdf5.write_hdf5``).

Two classes: 64x64 RGB pictures with or without a drawn shape ("plain",
"shape"). Three or four classes: every picture has a shape, and its colour is
the class ("red", "green", "blue", "yellow") on a washed-out background.
Deterministic (a fixed seed), so the tool can be tried on a machine with no
downloaded data. The same training and test pictures can be written as PNG files
in class folders, to try folder sets with.
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from ..files import atomic_path, check_output
from .formats import DEMO_MAX_CLASSES
from .hdf5 import write_hdf5

SIZE = 64
CLASSES = ["plain", "shape"]
COLOURS = {"red": (1, 0, 0), "green": (0, 1, 0), "blue": (0, 0, 1), "yellow": (1, 1, 0)}
MAX_CLASSES = DEMO_MAX_CLASSES  # 3 or more classes are told apart by colour alone
assert len(COLOURS) == MAX_CLASSES
SEED = 20261128
TRAIN, TEST, SAMPLES = 300, 100, 4


def background(rng):
    """A gradient between two random colours in a random direction, with noise."""
    a, b = rng.uniform(0, 255, size=(2, 3))
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1)
    t = np.clip(0.5 + (xx - 0.5) * np.cos(angle) + (yy - 0.5) * np.sin(angle), 0, 1)[..., None]
    picture = a * (1 - t) + b * t + rng.normal(0, 10, size=(SIZE, SIZE, 3))
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))


def contrasting_colour(picture, rng):
    mean = np.asarray(picture, dtype=float).mean(axis=(0, 1))
    return tuple(int(c) for c in np.where(mean > 127, rng.uniform(0, 60, 3), rng.uniform(195, 255, 3)))


def draw_shape(picture, rng, colour=None):
    """A disc, square or triangle of random size and place; by default in a contrasting colour."""
    draw = ImageDraw.Draw(picture)
    size = int(rng.integers(18, 34)) if colour is None else int(rng.integers(16, 30))
    x, y = (int(v) for v in rng.integers(2, SIZE - size - 2, size=2))
    colour = contrasting_colour(picture, rng) if colour is None else colour
    kind = rng.integers(3)
    if kind == 0:
        draw.ellipse([x, y, x + size, y + size], fill=colour)
    elif kind == 1:
        draw.rectangle([x, y, x + size, y + size], fill=colour)
    else:
        draw.polygon([(x + size // 2, y), (x, y + size), (x + size, y + size)], fill=colour)


def draw_lines(picture, rng):
    """Thin lines in every picture, so a bright pixel alone does not give the class away."""
    draw = ImageDraw.Draw(picture)
    for _ in range(rng.integers(1, 4)):
        points = [tuple(int(v) for v in rng.integers(0, SIZE, size=2)) for _ in range(2)]
        draw.line(points, fill=contrasting_colour(picture, rng), width=1)


def shape_or_not(label, rng):
    image = background(rng)
    draw_lines(image, rng)
    if label == 1:
        draw_shape(image, rng)
    return image


def coloured_shape(label, rng):
    """A shape whose colour is the class, on a half-desaturated background with lines."""
    pixels = np.asarray(background(rng), dtype=float)
    image = Image.fromarray((0.5 * pixels + 0.5 * pixels.mean(axis=2, keepdims=True)).astype(np.uint8))
    draw_lines(image, rng)
    hue = np.array(list(COLOURS.values())[label])
    low = rng.uniform(0, 60)
    draw_shape(image, rng, tuple(int(v) for v in np.where(hue > 0, rng.uniform(150, 255), low)))
    return image


def class_names(classes):
    if not 2 <= classes <= MAX_CLASSES:
        raise ValueError(f"the demo has 2 to {MAX_CLASSES} classes")
    return CLASSES if classes == 2 else list(COLOURS)[:classes]


def pictures(labels, classes, rng):
    draw = shape_or_not if classes == 2 else coloured_shape
    return np.stack([np.asarray(draw(label, rng), dtype=np.uint8) for label in labels])


def write_demo(out, classes=2, layout="hdf5"):
    """Writes ``train.h5``, ``test.h5`` and ``samples/`` into ``out``, or with ``layout="folder"`` the same
    training and test pictures as PNG files, ``train/<class>/`` and ``test/<class>/`` (a folder set); returns the
    paths written (the two folders of a folder set)."""
    names = class_names(classes)
    out = Path(out)
    if layout != "folder":
        (out / "samples").mkdir(parents=True, exist_ok=True)
        for split in ("train", "test"):  # before any picture is drawn: a folder named test.h5 fails now, not later
            check_output(out / f"{split}.h5")
    rng = np.random.default_rng([SEED, classes])
    written = []
    for split, count in (("train", TRAIN), ("test", TEST)):
        y = rng.permutation(np.arange(count) % classes)
        x = pictures(y, classes, rng)
        if layout == "folder":
            written.append(write_folder(out / split, x, y, names))
        else:
            out.mkdir(parents=True, exist_ok=True)
            written.append(out / f"{split}.h5")
            write_hdf5(written[-1], split, x, y, names)
    if layout == "folder":
        return written
    # one of each class in turn, so the names are stable: plain-1.jpg, shape-2.png, ...
    (out / "samples").mkdir(parents=True, exist_ok=True)
    y = np.arange(max(SAMPLES, classes)) % classes
    x = pictures(y, classes, rng)
    for i, (pixels, label) in enumerate(zip(x, y, strict=True)):
        extension = "jpg" if i % 2 == 0 else "png"
        path = out / "samples" / f"{names[label]}-{i + 1}.{extension}"
        save_picture(pixels, path, "JPEG" if extension == "jpg" else "PNG")
        written.append(path)
    return written


def write_folder(root, x, y, names):
    """Pictures ``x`` as ``root/<class>/0000.png``, ``0001.png``, ... (numbered by their place in the split)."""
    for i, (pixels, label) in enumerate(zip(x, y, strict=True)):
        (root / names[label]).mkdir(parents=True, exist_ok=True)
        save_picture(pixels, root / names[label] / f"{i:04d}.png", "PNG")
    return root


def save_picture(pixels, path, kind):
    with atomic_path(path, output=True) as tmp:
        Image.fromarray(pixels).save(tmp, format=kind, quality=95)


# --- the demo table --------------------------------------------------------------------------------------

PLANTS, NEW_PLANTS = 600, 8  # rows of plants.csv and of new-plants.csv
SPECIES = ("cactus", "fern", "orchid")
PLANT_COLOURS = ("green", "grey", "purple", "red", "white")


def plant_rows(count, rng, first=1):
    """Rows of made-up house plants: an id, numbers, a category, a true/false and a few missing cells; the
    species follows from the leaves, the colour and the water, the price from the species, the height and
    whether it lives indoors."""
    rows = []
    for i in range(count):
        species = SPECIES[rng.integers(3)]
        leaf = {"cactus": 1.5, "fern": 4.0, "orchid": 6.0}[species] + rng.normal(0, 1.6)
        height = {"cactus": 25, "fern": 42, "orchid": 35}[species] + rng.normal(0, 12)
        water = {"cactus": 90, "fern": 300, "orchid": 180}[species] + rng.normal(0, 90)
        weights = {"cactus": (6, 4, 0, 1, 0), "fern": (8, 1, 0, 0, 1), "orchid": (1, 0, 4, 2, 4)}[species]
        colour = PLANT_COLOURS[rng.choice(5, p=np.asarray(weights) / sum(weights))]
        indoor = bool(rng.random() < (0.8 if species == "orchid" else 0.5))
        price = 6 + 0.12 * height + {"cactus": 2, "fern": 4, "orchid": 14}[species] + 3 * indoor + rng.normal(0, 2)
        rows.append(
            {
                "id": f"p{first + i:04d}",
                "height_cm": f"{max(height, 3):.1f}",
                "leaf_width_cm": f"{max(leaf, 0.2):.2f}",
                "water_ml_week": "" if rng.random() < 0.06 else f"{max(water, 0):.0f}",
                "colour": "" if rng.random() < 0.03 else colour,
                "indoor": "" if rng.random() < 0.03 else ("yes" if indoor else "no"),
                "species": species,
                "price": f"{price:.2f}",
            }
        )
    return rows


def write_demo_table(out):
    """Writes ``plants.csv`` (rows with a species and a price to learn) and ``new-plants.csv`` (rows without
    them, to predict) into ``out``; returns their paths."""
    import csv

    out = Path(out)
    paths = [out / "plants.csv", out / "new-plants.csv"]
    out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        check_output(path)
    rng = np.random.default_rng([SEED, len(SPECIES)])
    for path, rows, kept in (
        (paths[0], plant_rows(PLANTS, rng), None),
        (paths[1], plant_rows(NEW_PLANTS, rng, first=PLANTS + 1), ("species", "price")),
    ):
        with atomic_path(path, output=True) as tmp, open(tmp, "w", newline="", encoding="utf-8") as f:
            names = [name for name in rows[0] if not kept or name not in kept]
            writer = csv.DictWriter(f, names, extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    return paths
