"""What `dnn data info` tells of a data file or a folder set: a title and a row per split."""

from pathlib import Path

import numpy as np

from ..config.schema import SCHEMA, table_format
from ..errors import UserError
from ..text import decimal_size, plural
from .columns import KINDS, category_counts, inferred_kind
from .encoding import close_name
from .folder_sets import check_folder, class_folders, examples_of, split_folders
from .formats import DEFAULT_CHANNELS, SPLITS
from .hdf5 import check_pictures, find_dataset, holds, open_hdf5, read_classes, read_fit, read_labels
from .tables import read_table


def shape_text(shape):
    return " x ".join(str(s) for s in shape)


def counts_text(labels, classes):
    """ "cat 72, non-cat 137": every class with its count; a label without a class name is shown as a number."""
    counts = dict.fromkeys(classes, 0)
    for value, count in zip(*np.unique(labels, return_counts=True), strict=True):
        value = int(value)  # exact for any label type: a uint64 maximum stays positive
        name = classes[value] if 0 <= value < len(classes) else f"label {value}"
        counts[name] = counts.get(name, 0) + int(count)
    return ", ".join(f"{name} {count}" for name, count in counts.items())


def storage_text(pictures):
    if pictures.chunks is None:
        layout = "contiguous"
    else:
        per_chunk = pictures.chunks[0]
        layout = f"{plural(per_chunk, 'picture')} a chunk"
    compression = pictures.compression or "uncompressed"
    if pictures.compression_opts is not None:
        compression += f" level {pictures.compression_opts}"
    return f"{compression}, {layout}"


def hdf5_info(path):
    """(title, rows) of an HDF5 file in the cat layout: one row for each split it has."""
    rows, storage, fit = [], None, None
    with open_hdf5(path) as f:
        present = [s for s in SPLITS if holds(f, f"{s}_set_x")]
        if not present:
            have = ", ".join(sorted(f.keys())) or "nothing"
            raise UserError(f"{path}: has neither 'train_set_x' nor 'test_set_x' pictures (the file has: {have})")
        classes = read_classes(f, "list_classes", path) or []
        for split in present:
            pictures = find_dataset(f, f"{split}_set_x", path, f"data.keys.{split}_x")
            check_pictures(pictures, path, f"{split}_set_x")
            storage = storage or storage_text(pictures)
            fit = fit or read_fit(pictures, path, f"{split}_set_x")
            labels = []
            if holds(f, f"{split}_set_y"):
                labels = read_labels(f, f"{split}_set_y", pictures.shape[0], path, f"data.keys.{split}_y")
            shape, dtype = shape_text(pictures.shape[1:]), str(pictures.dtype)
            rows.append((split, pictures.shape[0], shape, dtype, counts_text(labels, classes) or "no labels"))
    fitted = f"; pictures made to fit by {fit}" if fit else ""
    title = f"{path}: HDF5, {decimal_size(Path(path).stat().st_size)} on disk ({storage}{fitted})"
    return title, rows


def folder_info(folder, size, warn=None, channels=DEFAULT_CHANNELS):
    """(title, rows) of a folder set, counting picture files (none is decoded)."""
    folder = check_folder(folder)
    splits = split_folders(folder) or {folder.name: folder}
    rows = []
    for name, path in splits.items():
        classes = class_folders(path, warn)
        paths, labels = examples_of(classes)
        names = [class_name for class_name, _ in classes]
        rows.append((name, len(paths), shape_text((size, size, channels)), "uint8", counts_text(labels, names)))
    colour = "grey" if channels == 1 else "RGB"
    title = f"{folder}: folder of pictures, counted by file; decoded to {size} x {size} {colour} (--size, --channels) when used"
    return title, rows


def info(path, size=64, warn=None, channels=DEFAULT_CHANNELS):
    """(title, rows) for an HDF5 file or a folder set."""
    path = Path(path)
    return folder_info(path, size, warn, channels) if path.is_dir() else hdf5_info(path)


def is_table(path):
    return not Path(path).is_dir() and table_format(path) is not None


def column_summary(table, name, kind):
    """(missing cells, what the column holds in a few words) for ``dnn data info`` and ``dnn check``."""
    cells = KINDS[kind].values(table, name)
    if kind == "category":
        missing = cells.null_count
        values, counts = category_counts(cells)
        shown = ", ".join(
            f"{v} {c}" for v, c in zip(values[:SHOWN_CATEGORIES], counts[:SHOWN_CATEGORIES], strict=False)
        )
        more = f", ... ({len(values) - SHOWN_CATEGORIES} more)" if len(values) > SHOWN_CATEGORIES else ""
        return missing, f"{plural(len(values), 'category', 'categories')}: {shown}{more}"
    present = cells[~np.isnan(cells)]
    missing = int(cells.size - present.size)
    if not present.size:
        return missing, "no values"
    if kind == "boolean":
        return missing, f"true {present.mean():.0%}"
    return missing, f"min {present.min():.4g}, mean {present.mean():.4g}, max {present.max():.4g}"


SHOWN_CATEGORIES = 3


def table_info(path, delimiter=None, kinds=None, warn=None):
    """(title, rows) of a CSV or Parquet file: a row per column with its kind (as read, or as ``kinds`` says),
    its missing cells and a summary of its values."""
    table = read_table(path, delimiter, warn)
    kinds = kinds or {}
    rows = []
    for name in table.names:
        kind = kinds.get(name) or inferred_kind(table, name)
        missing, summary = column_summary(table, name, kind)
        rows.append((name, kind, missing, summary))
    how = "Parquet" if table.format == "parquet" else f"CSV, cells split at {table.delimiter!r}"
    size = decimal_size(Path(path).stat().st_size)
    title = f"{path}: {how}, {size} on disk, {plural(table.rows, 'row')}, {plural(len(table.names), 'column')}"
    return title, rows


def table_columns(path, target=None, warn=None):
    """({column: kind} of every column but ``target``, the inputs they encode to, rows) of a table, for the
    starter config of `dnn init-config --table`; ``target``, when given, must be a column."""
    table = read_table(path, warn=warn)
    if target is not None and target not in table.names:
        raise UserError(f"--target: {path} has no column {target!r}{close_name(target, table.names)}")
    settings = {key: SCHEMA["data"][key].default for key in ("max_categories", "min_category_count")}
    columns, inputs = {}, 0
    for name in table.names:
        if name == target:
            continue
        kind = inferred_kind(table, name)
        columns[name] = kind
        stats = KINDS[kind].fit(KINDS[kind].values(table, name), settings)
        inputs += len(KINDS[kind].names(name, stats))
    return columns, inputs, table.rows
