"""Which trained model and which data: a run's checkpoint (last or best), its config, the set to evaluate on."""

from pathlib import Path

from ..config.load import load as load_config
from ..config.schema import SCHEMA
from ..data.folder_sets import load_folder, visible_folders
from ..data.formats import DEFAULT_FIT
from ..data.hdf5 import holds, load_hdf5, open_hdf5
from ..data.sets import load_split
from ..errors import UserError
from .layout import BEST, CHECKPOINT, CONFIG, METRICS, latest_run, run_checkpoint
from .listing import run_row

LOOKUP_ORDER = ("test", "train")  # the order --data looks for a file's splits in


def model_path(run_folder=None, checkpoint_file=None, best=False):
    """The checkpoint to use: ``checkpoint_file``, else ``run_folder``'s (its best with ``best``), else the
    newest run's. The command line makes sure a checkpoint file comes alone."""
    if checkpoint_file:
        return Path(checkpoint_file)
    return run_checkpoint(run_folder or latest_run(), BEST if best else CHECKPOINT)


def unfinished_run(checkpoint_file):
    """A warning when ``checkpoint_file`` is the last checkpoint of a run that did not finish, else None."""
    checkpoint_file = Path(checkpoint_file)
    if checkpoint_file.name != CHECKPOINT or not (checkpoint_file.parent / METRICS).exists():
        return None
    row = run_row(checkpoint_file.parent)
    if row["status"] in ("finished", "broken"):
        return None
    done, total = row["iterations_done"], row["iterations"]
    progress = f" at iteration {done} of {total}" if done is not None and total is not None else ""
    return f"{checkpoint_file.parent} is a run that has not finished ({row['status']}{progress}): its model is not fully trained"


def run_config(folder):
    """The resolved config beside a checkpoint, or None when there is none."""
    path = Path(folder) / CONFIG
    return load_config(path) if path.exists() else None


def data_keys(config):
    """The HDF5 key names: the run's, or the cat layout's defaults."""
    if config is not None:
        return config["data"]["keys"]
    return {key: spec.default for key, spec in SCHEMA["data"]["keys"].items()}


def choose_data(config, folder, data_file, split, input_shape, warn=None, classes=None, fit=DEFAULT_FIT):
    """The data set to evaluate on, and the split whose keys it was read with.

    A folder given as ``data_file`` whose class folders are the model's ``classes`` is read in the model's order,
    its pictures made to fit by the model's ``fit``.
    """
    if data_file is None:
        if config is None:
            raise UserError(f"{folder}: no {CONFIG} here names a data set; pass --data FILE")
        split = split or "test"
        if config["data"][split] is None:
            raise UserError(f"{folder / CONFIG}: data.{split} is not set; pass --data FILE")
        return load_split(config, split, warn), split
    if Path(data_file).is_dir():
        names = sorted(p.name for p in visible_folders(data_file))
        order = list(classes) if classes is not None and sorted(classes) == names else None
        return load_folder(data_file, input_shape, warn, order=order, fit=fit), split or "test"
    keys = data_keys(config)
    if split is None:
        with open_hdf5(data_file) as f:
            present = [s for s in LOOKUP_ORDER if holds(f, keys[f"{s}_x"])]
        if not present:
            raise UserError(f"{data_file}: has neither {keys['test_x']!r} nor {keys['train_x']!r} pictures")
        split = present[0]
    settings = (f"data.keys.{split}_x", f"data.keys.{split}_y")
    in_memory = config["data"]["in_memory"] if config else SCHEMA["data"]["in_memory"].default
    return load_hdf5(data_file, keys[f"{split}_x"], keys[f"{split}_y"], keys["classes"], settings, in_memory), split


def default_json_path(checkpoint_file, data_file, split):
    """``evaluation-test.json`` beside the checkpoint; other checkpoints and --data files add their names."""
    checkpoint_file = Path(checkpoint_file)
    parts = ["evaluation"]
    if checkpoint_file.name != CHECKPOINT:
        parts.append(checkpoint_file.stem)
    parts.append(Path(data_file).stem if data_file else split)
    return checkpoint_file.parent / ("-".join(parts) + ".json")
