"""The one dispatcher over the data formats: the train or test set a resolved config names, or a file given on
the command line (``--data``), read as a trained model reads it."""

from pathlib import Path

from ..config.schema import SCHEMA, data_format, defaults, table_format
from ..errors import UserError
from .hdf5 import holds, load_hdf5, open_hdf5

LOOKUP_ORDER = ("test", "train")  # the order a file given alone is looked through for its splits


def load_split(config, split, warn=None, progress=None, encoder=None):
    """The train or test set a resolved config names; None for a test set it leaves out.

    ``warn(text)`` hears of pictures skipped in a folder set, ``progress`` shows its decoding (``folder_sets``).
    A table's rows are split as its runs split them and encoded by ``encoder``, a trained model's (training
    fits its own: ``table_sets.load_table_sets``).
    """
    data = config["data"]
    kind = data_format(data)
    if kind == "table":
        from .table_sets import table_split  # pyarrow is loaded only for a table

        return table_split(config, split, encoder, warn)
    if data[split] is None:
        return None
    if kind == "folder":
        from .folder_sets import load_folder  # Pillow is loaded only for a set that needs it

        shape = (data["size"], data["size"], data["channels"])
        return load_folder(data[split], shape, warn, progress, data["classes"], data["fit"], config["dtype"])
    dataset = hdf5_split(data[split], split, data["keys"], data["in_memory"], config["dtype"])
    dataset.fit = dataset.fit or data["fit"]  # the file's own (dnn data import wrote it), else the config's
    return dataset


def hdf5_split(path, split, keys, in_memory, dtype):
    settings = (f"data.keys.{split}_x", f"data.keys.{split}_y")
    return load_hdf5(path, keys[f"{split}_x"], keys[f"{split}_y"], keys["classes"], settings, in_memory, dtype)


def load_file(path, config, split, saved, warn=None):
    """(data set, split) of a file or folder given for a trained model ``saved`` (a ``checkpoint.Checkpoint``),
    read with the run's ``config`` where there is one: a table encoded by the model's encoder, a folder set in
    the model's class order when its folders are the model's classes, an HDF5 file's ``split`` (by default the
    first of ``LOOKUP_ORDER`` it holds) with the run's keys, ``data.in_memory`` and dtype."""
    data = config["data"] if config is not None else defaults(SCHEMA["data"])
    kind = "folder" if Path(path).is_dir() else "table" if table_format(path) else "hdf5"
    if saved.takes_tables or kind == "table":
        if not saved.takes_tables:
            raise UserError(f"{path}: a table, but {saved.path} is a model of pictures")
        from .encoding import TableSpec, check_has_columns
        from .table_sets import encoded_rows, with_targets
        from .tables import read_table

        table = read_table(path, warn=warn)
        encoder = saved.encoder
        check_has_columns(table, encoder.feature_columns, f"the model {saved.path} takes")
        check_has_columns(
            table, encoder.target["columns"], "the model predicts: evaluate scores against it (dnn predict needs none)"
        )
        spec = TableSpec.of({**data, **table_keys(encoder)})
        return encoded_rows(with_targets(table, spec, warn), encoder, warn), split or "test"
    if kind == "folder":
        from .folder_sets import load_folder, visible_folders

        names = sorted(p.name for p in visible_folders(path))
        order = list(saved.classes) if sorted(saved.classes) == names else None
        return load_folder(path, saved.input_shape, warn, order=order, fit=saved.fit), split or "test"
    keys = data["keys"]
    if split is None:
        with open_hdf5(path) as f:
            present = [s for s in LOOKUP_ORDER if holds(f, keys[f"{s}_x"])]
        if not present:
            raise UserError(f"{path}: has neither {keys['test_x']!r} nor {keys['train_x']!r} pictures")
        split = present[0]
    dtype = config["dtype"] if config is not None else saved.header["dtype"]
    return hdf5_split(path, split, keys, data["in_memory"], dtype), split


def table_keys(encoder):
    """The ``data`` keys that read a table as ``encoder`` was fitted: its target, features and kinds (its id
    columns are kept by a prediction where a table has them; a score needs none)."""
    return {
        "target": encoder.target["columns"],
        "features": encoder.feature_columns,
        "id": [],
        "drop": [],
        "columns": {column["name"]: column["kind"] for column in encoder.columns},
        "task": encoder.task,
    }
