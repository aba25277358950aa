"""Which trained model and which data: a run's checkpoint (last or best), its config, the set to evaluate on."""

from pathlib import Path

from ..config.load import load as load_config
from ..data.dataset import held_out
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
    if split == VALIDATION:
        return validation_split(config, folder, saved, warn), split
    dataset = load_split(config, split, warn, encoder=saved.encoder)
    if dataset is None:
        raise UserError(f"{folder / CONFIG}: data.{split} is not set; pass --data FILE")
    return dataset, split


VALIDATION = "validation"


def validation_split(config, folder, saved, warn=None):
    """The examples a run of ``config`` held out for validation (``training.validation_fraction``), chosen as
    training chose them, read as ``saved`` reads them; a ``UserError`` for a run without them."""
    if config is None:
        raise UserError(f"{folder}: no {CONFIG} here says which examples were held out for validation")
    fraction, seed = config["training"]["validation_fraction"], config["seed"]
    if not fraction:
        raise UserError(
            f"{Path(folder) / CONFIG}: training.validation_fraction is 0, so no examples were held out for "
            "validation; train with one, e.g. --set training.validation_fraction=0.2"
        )
    if saved.takes_tables:
        from ..data.encoding import encoded_set
        from ..data.table_sets import split_tables

        table = split_tables(config, with_test=False, warn=warn).train
        return encoded_set(table, saved.encoder, held_out(table.rows, fraction, seed)[1])
    train = load_split(config, "train", warn)
    return train.subset(held_out(train.m, fraction, seed)[1])


def default_json_path(checkpoint_file, data_file, split):
    """``evaluation-test.json`` beside the checkpoint; other checkpoints and --data files add their names."""
    checkpoint_file = Path(checkpoint_file)
    parts = ["evaluation"]
    if checkpoint_file.name != CHECKPOINT:
        parts.append(checkpoint_file.stem)
    parts.append(Path(data_file).stem if data_file else split)
    return checkpoint_file.parent / ("-".join(parts) + ".json")
