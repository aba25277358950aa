"""Your own pictures: folder data sets, and importing them into an HDF5 file.

A folder data set has one subfolder per class, named after it; every picture
below a class folder (``pictures.pictures_in``) is an example of that class::

    photos/train/cat/001.jpg     photos/train/not-cat/garden.png
    photos/test/cat/...          photos/test/not-cat/...

Classes are the subfolder names, sorted (label 0 is the first). Pictures are
decoded by ``pictures.load_picture``, the function ``dnn predict`` uses, to grey or
RGB (``data.channels``) and made to fit by ``data.fit``, which the checkpoint keeps
(the channels in its input shape), so a file gives the same pixels in training as
in prediction. A picture that cannot be read
is skipped with a warning naming it; a class with no readable picture is an error.

``import_folder`` (``dnn data import``) decodes such a folder once into an HDF5
file in the cat layout, stored as ``hdf5.create_pictures`` stores pictures, the
fit written beside them (``hdf5.FIT``) for the runs trained on the file. A
folder holding ``train/`` and ``test/`` gives one file with both splits
(``train_set_x`` ... and ``test_set_x`` ...), which a config names as both
``data.train`` and ``data.test``.

Nothing here prints: warnings go to the ``warn(text)`` the caller passes, and
decoding reports to its ``progress(description, total)``, a context manager
whose value is called with the number of pictures done.
"""

import math
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from pathlib import Path

import h5py
import numpy as np

from ..errors import UserError, one_line
from ..files import atomic_path
from ..resources import available_memory
from ..text import binary_size, gigabytes, plural, short_path
from .dataset import Dataset
from .formats import DEFAULT_CHANNELS, DEFAULT_FIT, SPLITS
from .hdf5 import create_pictures, write_classes, write_labels
from .pictures import (
    NAMED,
    RESIZE_LIMIT,
    SUFFIXES,
    folder_files,
    is_picture_name,
    load_picture,
    resize_memory,
    skipped_files_text,
)

DECODE_BLOCK = 256  # pictures decoded (in parallel) and stored at a time
WORKERS = min(4, os.cpu_count() or 1)  # Pillow decodes and resizes without holding the GIL


def visible_folders(folder):
    return sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))


def split_folders(folder):
    """{"train": path, "test": path} for a folder holding train/ and/or test/; {} for a folder of classes."""
    found = {p.name: p for p in visible_folders(folder)}
    return {name: found[name] for name in SPLITS if name in found}


def check_folder(folder):
    folder = Path(folder)
    if not folder.exists():
        raise UserError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise UserError(
            f"{folder}: not a folder (a folder data set has a subfolder of pictures per class; an HDF5 file is data.format: hdf5)"
        )
    return folder


def class_folders(folder, warn=None, order=None):
    """[(class name, its picture files)] in class order, checked: at least two classes, none empty.

    The order is ``order`` (``data.classes``: the subfolder names, label 0 first) when given, else sorted.
    """
    folder = check_folder(folder)
    if split_folders(folder):
        raise UserError(f"{folder}: holds {' and '.join(f'{s}/' for s in split_folders(folder))}; name one of them")
    found = {p.name: folder_files(p) for p in visible_folders(folder)}
    classes = [(name, pictures) for name, (pictures, _) in found.items()]
    if len(classes) < 2:
        raise UserError(
            f"{folder}: a folder data set needs a subfolder of pictures per class, at least two; found {len(classes)}"
        )
    if order is not None:
        classes = in_order(folder, classes, order)
    for name, paths in classes:
        if not paths:
            raise UserError(f"{folder / name}: class {name!r} has no pictures ({', '.join(SUFFIXES)})")
    loose = sorted(p for p in folder.iterdir() if p.is_file() and is_picture_name(p))
    if loose and warn:
        names = ", ".join(one_line(p.name) for p in loose[:NAMED]) + (
            f" and {len(loose) - NAMED} more" if len(loose) > NAMED else ""
        )
        warn(f"{folder}: {plural(len(loose), 'picture')} outside the class folders not used: {names}")
    for name, (_, skipped) in found.items():
        if skipped and warn:
            warn(skipped_files_text(folder / name, skipped))
    return classes


def in_order(folder, classes, order):
    """``classes`` in the order ``data.classes`` gives, which must name every class folder once."""
    found = {name: paths for name, paths in classes}
    if sorted(order) != sorted(found):
        missing = [name for name in order if name not in found]
        extra = [name for name in found if name not in order]
        problem = (
            "; ".join(
                part
                for part in (
                    missing and f"no folder for {', '.join(missing)}",
                    extra and f"{', '.join(extra)} not named",
                )
                if part
            )
            or "a class named twice"
        )
        raise UserError(
            f"data.classes: must name each class folder of {folder} once ({problem}); it has {', '.join(sorted(found))}"
        )
    return [(name, found[name]) for name in order]


def skipped_text(skipped):
    """The pictures that could not be read, in one warning: a line each (the reason names the file)."""
    lines = [f"skipped {plural(len(skipped), 'picture')} that cannot be read:"]
    return "\n".join(lines + [f"  {error.format_message()}" for error in skipped])


def no_progress(description, total):
    return nullcontext(lambda n: None)


def try_to_load(path, input_shape, fit):
    try:
        return load_picture(path, input_shape, fit)
    except UserError as error:
        return error


def decode_into(pictures, paths, labels, input_shape, advance=None, fit=DEFAULT_FIT):
    """Decodes ``paths`` into ``pictures`` (an array or HDF5 dataset with a row for each path),
    packed in order; returns the labels of the pictures kept and the ``UserError`` of each skipped."""
    kept, skipped, written = [], [], 0
    with ThreadPoolExecutor(WORKERS) as pool:
        for start in range(0, len(paths), DECODE_BLOCK):
            block = slice(start, start + DECODE_BLOCK)
            count = len(paths[block])
            results = list(pool.map(try_to_load, paths[block], [input_shape] * count, [fit] * count))
            good = [
                (pixels, label)
                for pixels, label in zip(results, labels[block], strict=True)
                if not isinstance(pixels, UserError)
            ]
            skipped += [error for error in results if isinstance(error, UserError)]
            if good:
                pictures[written : written + len(good)] = np.stack([pixels for pixels, _ in good])
                written += len(good)
                kept += [label for _, label in good]
            if advance:
                advance(len(results))
    return np.array(kept, dtype=np.int64), skipped


def check_every_class_kept(folder, classes, labels):
    counts = np.bincount(labels, minlength=len(classes))
    for (name, paths), count in zip(classes, counts, strict=True):
        if count == 0:
            which = "its one picture" if len(paths) == 1 else f"none of the {len(paths)} pictures"
            raise UserError(f"{Path(folder) / name}: {which} of class {name!r} can be read")


def check_decoding_memory(folder, count, input_shape, dtype=None):
    """``count`` pictures of ``input_shape`` must fit in memory before they are decoded (``data.size``); with
    ``dtype``, a set to train on, so also their rows scaled for the network, as ``disk.memory_needed`` counts
    an HDF5 set."""
    scaled = np.dtype(dtype).itemsize if dtype is not None else 0
    needed, available = count * math.prod(input_shape) * (1 + scaled), available_memory()
    shape = " x ".join(str(n) for n in input_shape)
    if resize_memory((1, 1), input_shape[1::-1]) > RESIZE_LIMIT:
        raise UserError(
            f"{folder}: pictures of {shape} are more than a picture may be resized to "
            f"({binary_size(RESIZE_LIMIT)} a picture); use a smaller size (data.size, --size)"
        )
    if available is not None and needed > available:
        raise UserError(
            f"{folder}: {plural(count, 'picture')} of {shape} need {gigabytes(needed)}, more than the "
            f"{gigabytes(available)} of memory available; use a smaller size (data.size, --size)"
        )


def examples_of(classes):
    """All picture paths of ``class_folders`` and their labels."""
    paths = [path for _, found in classes for path in found]
    labels = [label for label, (_, found) in enumerate(classes) for _ in found]
    return paths, labels


def load_folder(folder, input_shape, warn=None, progress=no_progress, order=None, fit=DEFAULT_FIT, dtype=None):
    """A folder data set decoded into memory to ``input_shape`` by ``fit``, its classes in ``order`` (else
    sorted); unreadable pictures are skipped with a warning. ``dtype``: the float type it will be trained in
    (see ``check_decoding_memory``)."""
    shown = short_path(folder)  # so warnings name files as a person would
    classes = class_folders(shown, warn, order)
    paths, labels = examples_of(classes)
    check_decoding_memory(folder, len(paths), input_shape, dtype)
    pictures = np.empty((len(paths), *input_shape), dtype=np.uint8)
    with (progress or no_progress)(str(folder), len(paths)) as advance:
        # decoded with their numbers for labels, so the numbers kept say which files were
        kept, skipped = decode_into(pictures, paths, np.arange(len(paths)), input_shape, advance, fit)
    if skipped and warn:
        warn(skipped_text(skipped))
    kept_labels = np.asarray(labels, dtype=np.int64)[kept]
    check_every_class_kept(folder, classes, kept_labels)
    files = [Path(paths[i]).relative_to(shown).as_posix() for i in kept]
    return Dataset(pictures[: len(kept)], kept_labels, [name for name, _ in classes], str(folder), files, fit)


# --- dnn data import --------------------------------------------------------


def import_plan(folder, split=None, warn=None):
    """{split: (its folder, its class_folders)}: the splits of a folder with train/ and test/, else the folder as ``split``."""
    folder = check_folder(folder)
    splits = split_folders(folder)
    if not splits:
        return {split or "train": (folder, class_folders(folder, warn))}
    for other in visible_folders(folder):
        if other.name not in SPLITS and warn:
            warn(f"{other}: not used (a folder with train/ or test/ gives those two splits)")
    if split is not None and split not in splits:
        raise UserError(f"{folder}: has no {split}/ folder (it has {', '.join(f'{s}/' for s in splits)})")
    plan = {s: (splits[s], class_folders(splits[s], warn)) for s in SPLITS if s in splits and split in (None, s)}
    names = {s: [name for name, _ in classes] for s, (_, classes) in plan.items()}
    if len(plan) == 2 and names["train"] != names["test"]:
        raise UserError(
            f"{folder}: train/ has classes {names['train']}, test/ has {names['test']}; they must be the same"
        )
    return plan


def import_folder(
    folder, out, size, split=None, compression="lzf", warn=None, progress=no_progress, channels=DEFAULT_CHANNELS,
    fit=DEFAULT_FIT,
):  # fmt: skip
    """Decodes a folder set into an HDF5 file in the cat layout, atomically, pictures of ``size`` x ``size`` x
    ``channels`` made to fit by ``fit``; returns the pictures skipped."""
    plan = import_plan(folder, split, warn)
    input_shape = (size, size, channels)
    skipped = []
    with atomic_path(out, output=True) as tmp, h5py.File(tmp, "w") as f:
        for name, (origin, classes) in plan.items():
            paths, labels = examples_of(classes)
            check_decoding_memory(origin, min(len(paths), DECODE_BLOCK), input_shape)
            pictures = create_pictures(f, f"{name}_set_x", len(paths), input_shape, compression, fit)
            with (progress or no_progress)(name, len(paths)) as advance:
                kept, missed = decode_into(pictures, paths, labels, input_shape, advance, fit)
            check_every_class_kept(origin, classes, kept)
            pictures.resize(len(kept), axis=0)
            write_labels(f, name, kept)
            skipped += missed
        write_classes(f, [name for name, _ in classes])
    return skipped
