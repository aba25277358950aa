"""The one dispatcher over the data formats: the train or test set a resolved config names."""

from .hdf5 import load_hdf5


def load_split(config, split, warn=None, progress=None):
    """The train or test set a resolved config names; None for a test set it leaves out.

    ``warn(text)`` hears of pictures skipped in a folder set, ``progress`` shows its decoding (``folders``).
    """
    data = config["data"]
    if data[split] is None:
        return None
    if data["format"] == "folder":
        from .folder_sets import load_folder  # Pillow is loaded only for a set that needs it

        shape = (data["size"], data["size"], 3)
        return load_folder(data[split], shape, warn, progress, data["classes"], config["dtype"])
    keys = data["keys"]
    settings = (f"data.keys.{split}_x", f"data.keys.{split}_y")
    return load_hdf5(
        data[split],
        keys[f"{split}_x"],
        keys[f"{split}_y"],
        keys["classes"],
        settings,
        data["in_memory"],
        config["dtype"],
    )
