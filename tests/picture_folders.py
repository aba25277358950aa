"""A folder data set of real picture files, made from the demo set: JPEG and PNG, grey and RGBA, some broken."""

from pathlib import Path

import h5py
import numpy as np
from PIL import Image

BROKEN = {  # file name -> what is wrong with it (in train/shape/ and test/plain/)
    "cut.jpg": "the first 600 bytes of a JPEG",
    "notes.png": "a text file",
    "empty.jpg": "no bytes at all",
}


def save_picture(pixels, path, i):
    """Every third picture a JPEG, the others PNG; every fifth grey, every seventh RGBA with a transparent corner."""
    image = Image.fromarray(pixels)
    if i % 5 == 0:
        image = image.convert("L")
    elif i % 7 == 0:
        image = image.convert("RGBA")
        alpha = np.full(pixels.shape[:2], 255, dtype=np.uint8)
        alpha[:16, :16] = 0
        image.putalpha(Image.fromarray(alpha))
    if i % 3 == 0 and image.mode != "RGBA":
        image.save(path.with_suffix(".jpg"), quality=90)
    else:
        image.save(path.with_suffix(".png"))


def write_picture_folder(root, demo_data, broken=True):
    """root/train/<class>/ and root/test/<class>/ with the demo set's 300 + 100 pictures as files."""
    root = Path(root)
    for split in ("train", "test"):
        with h5py.File(demo_data / f"{split}.h5", "r") as f:
            pictures, labels = f[f"{split}_set_x"][()], f[f"{split}_set_y"][()]
            classes = [c.decode() for c in f["list_classes"][()]]
        for i, (pixels, label) in enumerate(zip(pictures, labels, strict=True)):
            folder = root / split / classes[label]
            folder.mkdir(parents=True, exist_ok=True)
            save_picture(pixels, folder / f"{i:04d}", i)
    if broken:
        for folder in (root / "train" / "shape", root / "test" / "plain"):
            some_jpeg = sorted(folder.glob("*.jpg"))[0].read_bytes()
            (folder / "cut.jpg").write_bytes(some_jpeg[:600])
            (folder / "notes.png").write_text("not a picture")
            (folder / "empty.jpg").write_bytes(b"")
    return root
