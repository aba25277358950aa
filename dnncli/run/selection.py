"""Which trained model and which data: a run's checkpoint (last or best), its config, the set to evaluate on."""

from pathlib import Path

from ..config.load import load as load_config
from ..data.sets import load_file, load_split
from ..errors import UserError
from .layout import BEST, CHECKPOINT, CONFIG, METRICS, latest_run, run_checkpoint
from .listing import run_row


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


def choose_data(config, folder, data_file, split, saved, warn=None):
    """The data set to evaluate ``saved`` on, and its split: ``data_file`` read as the model reads it, else the
    run config's ``split`` (test by default)."""
    if data_file is not None:
        return load_file(data_file, config, split, saved, warn)
    if config is None:
        raise UserError(f"{folder}: no {CONFIG} here names a data set; pass --data FILE")
    split = split or "test"
    dataset = load_split(config, split, warn, encoder=saved.encoder)
    if dataset is None:
        raise UserError(f"{folder / CONFIG}: data.{split} is not set; pass --data FILE")
    return dataset, split


def default_json_path(checkpoint_file, data_file, split):
    """``evaluation-test.json`` beside the checkpoint; other checkpoints and --data files add their names."""
    checkpoint_file = Path(checkpoint_file)
    parts = ["evaluation"]
    if checkpoint_file.name != CHECKPOINT:
        parts.append(checkpoint_file.stem)
    parts.append(Path(data_file).stem if data_file else split)
    return checkpoint_file.parent / ("-".join(parts) + ".json")
