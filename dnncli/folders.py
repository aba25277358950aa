"""Your own pictures: folder data sets, `dnn data import` and `dnn data info`.

A folder data set has one subfolder per class, named after it; every picture
below a class folder (``images.pictures_in``) is an example of that class::

    photos/train/cat/001.jpg     photos/train/not-cat/garden.png
    photos/test/cat/...          photos/test/not-cat/...

Classes are the subfolder names, sorted (label 0 is the first). Pictures are
decoded by ``images.load_picture``, the function ``dnn predict`` uses, so a file
gives the same pixels in training as in prediction. A picture that cannot be read
is skipped with a warning naming it; a class with no readable picture is an error.

``dnn data import`` decodes such a folder once into an HDF5 file in the cat
layout. A folder holding ``train/`` and ``test/`` gives one file with both splits
(``train_set_x`` ... and ``test_set_x`` ...), which a config names as both
``data.train`` and ``data.test``.

Pictures are stored uint8, one picture per chunk: a shuffled mini-batch then
decompresses exactly the pictures it uses, each once, and reading in order costs
no more per picture (HDF5 suggests chunks of 10 KB to 1 MB; a 64 x 64 RGB
picture is 12 KB). They are compressed with LZF by default, which h5py always
has: it reads a picture in less than half of gzip's time, for files 8 per cent
larger. ``--compression gzip`` is for files other HDF5 tools must read, ``none``
for the fastest reads. The numbers are in docs/performance.md.
"""

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import h5py
import numpy as np
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .atomic import atomic_path
from .data import Dataset, decode_classes, encode_classes, open_hdf5
from .errors import UserError
from .images import SUFFIXES, is_picture_name, load_picture, pictures_in

SPLITS = ("train", "test")
DECODE_BLOCK = 256  # pictures decoded (in parallel) and stored at a time
WORKERS = min(4, os.cpu_count() or 1)  # Pillow decodes and resizes without holding the GIL
# name -> (h5py's filter, its level); gzip's higher levels are slower and shrink pictures hardly more
COMPRESSION = {"lzf": ("lzf", None), "gzip": ("gzip", 1), "none": (None, None)}


def visible_folders(folder):
    return sorted(p for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))


def split_folders(folder):
    """{"train": path, "test": path} for a folder holding train/ and/or test/; {} for a folder of classes."""
    found = {p.name: p for p in visible_folders(folder)}
    return {name: found[name] for name in SPLITS if name in found}


def shown(path):
    """A path as short as it is clear: relative to the current folder when it lies below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def check_folder(folder):
    folder = Path(folder)
    if not folder.exists():
        raise UserError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise UserError(
            f"{folder}: not a folder (a folder data set has a subfolder of pictures per class; an HDF5 file is data.format: hdf5)"
        )
    return folder


def class_folders(folder):
    """[(class name, its picture files)] in class order, checked: at least two classes, none empty."""
    folder = check_folder(folder)
    if split_folders(folder):
        raise UserError(f"{folder}: holds {' and '.join(f'{s}/' for s in split_folders(folder))}; name one of them")
    classes = [(p.name, pictures_in(p)) for p in visible_folders(folder)]
    if len(classes) < 2:
        raise UserError(
            f"{folder}: a folder data set needs a subfolder of pictures per class, at least two; found {len(classes)}"
        )
    for name, paths in classes:
        if not paths:
            raise UserError(f"{folder / name}: class {name!r} has no pictures ({', '.join(SUFFIXES)})")
    loose = [p for p in folder.iterdir() if p.is_file() and is_picture_name(p)]
    if loose:
        warn(f"{folder}: {count(len(loose), 'picture')} outside the class folders not used")
    return classes


def count(n, noun):
    return f"{n} {noun}{'' if n == 1 else 's'}"


def warn(text):
    click.echo(f"Warning: {text}", err=True)


def report_skipped(skipped):
    """The pictures that could not be read, one line each (the reason names the file)."""
    if skipped:
        warn(f"skipped {count(len(skipped), 'picture')} that cannot be read:")
        for error in skipped:
            click.echo(f"  {error.format_message()}", err=True)


def try_to_load(path, input_shape):
    try:
        return load_picture(path, input_shape)
    except UserError as error:
        return error


def decode_into(pictures, paths, labels, input_shape, advance=None):
    """Decodes ``paths`` into ``pictures`` (an array or HDF5 dataset with a row for each path),
    packed in order; returns the labels of the pictures kept and the ``UserError`` of each skipped."""
    kept, skipped, written = [], [], 0
    with ThreadPoolExecutor(WORKERS) as pool:
        for start in range(0, len(paths), DECODE_BLOCK):
            block = slice(start, start + DECODE_BLOCK)
            results = list(pool.map(try_to_load, paths[block], [input_shape] * len(paths[block])))
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
            raise UserError(f"{Path(folder) / name}: none of the {len(paths)} pictures of class {name!r} can be read")


def examples_of(classes):
    """All picture paths of ``class_folders`` and their labels."""
    paths = [path for _, found in classes for path in found]
    labels = [label for label, (_, found) in enumerate(classes) for _ in found]
    return paths, labels


def decoding_bar(console=None, transient=False):
    """A rich bar on stderr while pictures are decoded; nothing when stderr is not a terminal."""
    console = console or Console(stderr=True)
    return Progress(
        TextColumn("decoding [bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,
    )


def load_folder(folder, input_shape):
    """A folder data set decoded into memory; unreadable pictures are skipped with a warning."""
    classes = class_folders(shown(folder))  # so warnings name files as a person would
    paths, labels = examples_of(classes)
    pictures = np.empty((len(paths), *input_shape), dtype=np.uint8)
    with decoding_bar(transient=True) as bar:
        task = bar.add_task(str(folder), total=len(paths))
        kept, skipped = decode_into(pictures, paths, labels, input_shape, lambda n: bar.advance(task, n))
    report_skipped(skipped)
    check_every_class_kept(folder, classes, kept)
    return Dataset(pictures[: len(kept)], kept, [name for name, _ in classes], str(folder))


# --- dnn data import --------------------------------------------------------


def import_plan(folder, split=None):
    """{split: (its folder, its class_folders)}: the splits of a folder with train/ and test/, else the folder as ``split``."""
    folder = check_folder(folder)
    splits = split_folders(folder)
    if not splits:
        return {split or "train": (folder, class_folders(folder))}
    for other in visible_folders(folder):
        if other.name not in SPLITS:
            warn(f"{other}: not used (a folder with train/ or test/ gives those two splits)")
    if split is not None and split not in splits:
        raise UserError(f"{folder}: has no {split}/ folder (it has {', '.join(f'{s}/' for s in splits)})")
    plan = {s: (splits[s], class_folders(splits[s])) for s in SPLITS if s in splits and split in (None, s)}
    names = {s: [name for name, _ in classes] for s, (_, classes) in plan.items()}
    if len(plan) == 2 and names["train"] != names["test"]:
        raise UserError(
            f"{folder}: train/ has classes {names['train']}, test/ has {names['test']}; they must be the same"
        )
    return plan


def create_pictures(f, key, m, input_shape, compression="lzf"):
    """An HDF5 dataset for ``m`` uint8 pictures, stored as import stores them (see the module's docstring)."""
    return f.create_dataset(
        key,
        shape=(m, *input_shape),
        maxshape=(None, *input_shape),
        dtype=np.uint8,
        chunks=(1, *input_shape),
        compression=COMPRESSION[compression][0],
        compression_opts=COMPRESSION[compression][1],
    )


def import_folder(folder, out, size, split=None, compression="lzf", console=None):
    """Decodes a folder set into an HDF5 file in the cat layout, atomically; returns the pictures skipped."""
    plan = import_plan(folder, split)
    input_shape = (size, size, 3)
    skipped = []
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f, decoding_bar(console) as bar:
        for name, (source, classes) in plan.items():
            paths, labels = examples_of(classes)
            pictures = create_pictures(f, f"{name}_set_x", len(paths), input_shape, compression)
            task = bar.add_task(name, total=len(paths))
            kept, missed = decode_into(pictures, paths, labels, input_shape, lambda n, task=task: bar.advance(task, n))
            check_every_class_kept(source, classes, kept)
            pictures.resize(len(kept), axis=0)
            f.create_dataset(f"{name}_set_y", data=kept)
            skipped += missed
        f.create_dataset("list_classes", data=encode_classes([name for name, _ in classes]))
    return skipped


# --- dnn data info ----------------------------------------------------------


def shape_text(shape):
    return " x ".join(str(s) for s in shape)


def counts_text(labels, classes):
    """ "cat 72, non-cat 137": every class with its count; a label without a class name is shown as a number."""
    counts = dict.fromkeys(classes, 0)
    for value, count in zip(*np.unique(labels, return_counts=True), strict=True):
        name = classes[value] if 0 <= value < len(classes) else f"label {value}"
        counts[name] = counts.get(name, 0) + int(count)
    return ", ".join(f"{name} {count}" for name, count in counts.items())


def size_text(n):
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000


def storage_text(pictures):
    if pictures.chunks is None:
        layout = "contiguous"
    else:
        per_chunk = pictures.chunks[0]
        layout = f"{per_chunk} picture{'s' if per_chunk > 1 else ''} a chunk"
    compression = pictures.compression or "uncompressed"
    if pictures.compression_opts is not None:
        compression += f" level {pictures.compression_opts}"
    return f"{compression}, {layout}"


def hdf5_info(path):
    """(title, rows) of an HDF5 file in the cat layout: one row for each split it has."""
    rows, storage = [], None
    with open_hdf5(path) as f:
        present = [s for s in SPLITS if f"{s}_set_x" in f and isinstance(f[f"{s}_set_x"], h5py.Dataset)]
        if not present:
            have = ", ".join(sorted(f.keys())) or "nothing"
            raise UserError(f"{path}: has neither 'train_set_x' nor 'test_set_x' pictures (the file has: {have})")
        classes = decode_classes(f["list_classes"][()], path, "list_classes") if "list_classes" in f else []
        for split in present:
            pictures = f[f"{split}_set_x"]
            storage = storage or storage_text(pictures)
            labels = np.asarray(f[f"{split}_set_y"][()]).ravel() if f"{split}_set_y" in f else []
            shape, dtype = shape_text(pictures.shape[1:]), str(pictures.dtype)
            rows.append((split, pictures.shape[0], shape, dtype, counts_text(labels, classes) or "no labels"))
    title = f"{path}: HDF5, {size_text(Path(path).stat().st_size)} on disk ({storage})"
    return title, rows


def folder_info(folder, size):
    """(title, rows) of a folder set, counting picture files (none is decoded)."""
    folder = check_folder(folder)
    splits = split_folders(folder) or {folder.name: folder}
    rows = []
    for name, path in splits.items():
        classes = class_folders(path)
        paths, labels = examples_of(classes)
        names = [class_name for class_name, _ in classes]
        rows.append((name, len(paths), shape_text((size, size, 3)), "uint8", counts_text(labels, names)))
    title = f"{folder}: folder of pictures, counted by file; decoded to {size} x {size} RGB (--size) when used"
    return title, rows


def print_info(path, size=64):
    """What ``dnn data info`` prints for an HDF5 file or a folder set: a line, then a table."""
    path = Path(path)
    title, rows = folder_info(path, size) if path.is_dir() else hdf5_info(path)
    table = Table("set", "examples", "shape", "dtype", "classes")
    table.columns[1].justify = "right"
    for set_name, examples, shape, dtype, classes in rows:
        table.add_row(set_name, str(examples), shape, dtype, classes)
    click.echo(title)
    Console(highlight=False).print(table)


# --- the commands -----------------------------------------------------------


@click.command("import")
@click.argument("folder", type=click.Path())
@click.option(
    "--out", required=True, type=click.Path(dir_okay=False), help="HDF5 file to write (replaced if it exists)."
)
@click.option("--size", type=click.IntRange(1), default=64, show_default=True, help="Pictures become SIZE x SIZE RGB.")
@click.option(
    "--split",
    type=click.Choice(SPLITS),
    help="Keys to write a folder of classes under [default: train]; for a folder with train/ and test/, import only this one.",
)
@click.option(
    "--compression",
    type=click.Choice(list(COMPRESSION)),
    default="lzf",
    show_default=True,
    help="lzf: small and fast to read (h5py has it); gzip: read by every HDF5 tool, slower; none: fastest, largest.",
)
def import_command(folder, out, size, split, compression):
    """Decode a folder of pictures, a subfolder per class, into an HDF5 file.

    FOLDER holds a subfolder per class (cat/, not-cat/, ...), or train/ and
    test/ with a subfolder per class in each, which gives one file with both
    splits. Pictures are decoded and resized as dnn predict does. Pictures that
    cannot be read are listed at the end and left out; the last line printed
    is the file.

    \b
    dnn data import photos --out photos.h5
    dnn data import photos/train --out train.h5 --size 32
    """
    out = Path(out)
    if not out.parent.is_dir():
        raise UserError(f"{out}: no such folder {out.parent}")
    try:
        skipped = import_folder(folder, out, size, split, compression)
    except OSError as e:
        raise UserError(f"{out}: cannot write ({e.strerror or e})") from None
    print_info(out)
    report_skipped(skipped)
    click.echo(str(out))


@click.command("info")
@click.argument("path", metavar="FILE_OR_FOLDER", type=click.Path())
@click.option(
    "--size",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Folder sets: the size pictures are decoded to (data.size).",
)
def info_command(path, size):
    """Examples, shape, dtype and classes of an HDF5 data file or a folder set.

    \b
    dnn data info photos.h5
    dnn data info photos/
    """
    print_info(path, size)
