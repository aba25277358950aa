"""Pictures from files, decoded with Pillow: the one way a picture becomes pixels.

``load_picture`` is used wherever a picture file meets a model (``dnn predict``,
folder data sets, importing pictures), so the same file always gives the same
pixels. Its rules, in order:

1. Formats: JPEG, PNG, BMP, GIF and WebP only (``FORMATS``); nothing that would
   run another program (EPS) is ever opened.
2. Pillow's decompression-bomb limit stays on, and its warning zone counts as a
   bomb: more than ``Image.MAX_IMAGE_PIXELS`` pixels (89,478,485 by default, about
   9459 x 9459) is refused before any pixel is decoded.
3. The whole picture is decoded; a truncated or damaged file is refused, never
   half-read. A GIF or WebP animation gives its first frame. A JPEG much larger
   than the model's input is decoded at a reduced scale (1/2, 1/4 or 1/8, the
   JPEG decoder's own: Pillow's draft mode), the smallest that still leaves it at
   least ``DRAFT_MARGIN`` times the input's larger side each way; the resize of
   rule 6 then starts from that (how far the pixels move: docs/performance.md).
4. The EXIF orientation is applied, so the picture stands as a camera showed it.
5. Modes: 16-bit grey (``I;16``, ``I``) keeps its high byte (``v >> 8``); any
   transparency (LA, RGBA, PA, a palette or colour key with a transparent entry)
   is laid over white; then Pillow's ``convert`` gives the mode the model takes:
   ``RGB`` for (h, w, 3), ``L`` for (h, w) or (h, w, 1) (ITU-R 601-2 luma),
   ``RGBA`` for (h, w, 4), where transparency is kept instead. CMYK is converted
   by Pillow's formula, with no colour profile.
6. A picture of another size is resized to the model's (h, w) with
   ``RESAMPLE`` (Lanczos), aspect ratio not kept: crop first if it matters.
"""

import glob
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import UserError

FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP")
SUFFIXES = (".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".gif", ".webp")  # what a folder's pictures are called
RESAMPLE = Image.Resampling.LANCZOS
BACKGROUND = 255  # white, under transparent pixels
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
CHANNEL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
DRAFT_MARGIN = 4  # a draft-decoded JPEG keeps at least this many pixels per pixel of the model's input, each way


def picture_mode(input_shape):
    """The Pillow mode a model's input shape asks for: (h, w) or (h, w, 1) L, (h, w, 3) RGB, (h, w, 4) RGBA."""
    shape = tuple(input_shape)
    if len(shape) == 2:
        return "L"
    if len(shape) == 3 and shape[2] in CHANNEL_MODES:
        return CHANNEL_MODES[shape[2]]
    raise UserError(f"a model with input shape {shape} does not take pictures (it needs (h, w) or (h, w, 1, 3 or 4))")


def load_picture(path, input_shape):
    """The pixels of a picture file as uint8 of ``input_shape``, by the rules in this module's docstring.

    Raises ``UserError`` naming the file when it is missing, not a picture of an
    accepted format, truncated or damaged, or a decompression bomb.
    """
    mode = picture_mode(input_shape)
    height, width = input_shape[:2]
    side = DRAFT_MARGIN * max(height, width)  # square: the EXIF orientation may turn the picture
    with open_picture(path, draft=(side, side)) as image:
        image = ImageOps.exif_transpose(image)
        image = to_mode(image, mode)
    if image.size != (width, height):
        image = image.resize((width, height), RESAMPLE)
    return np.asarray(image, dtype=np.uint8).reshape(input_shape)


@contextmanager
def open_picture(path, draft=None):
    """``with open_picture(path) as image``: an accepted picture, fully decoded, or a ``UserError``.

    ``draft`` (width, height): a JPEG is decoded at the smallest reduced scale that is at least that large.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(path, formats=FORMATS)
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a picture") from None
    except PermissionError:
        raise UserError(f"{path}: cannot read (permission denied)") from None
    except UnidentifiedImageError:
        raise UserError(f"{path}: not a picture ({', '.join(FORMATS)} are read)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UserError(
            f"{path}: refused, over {Image.MAX_IMAGE_PIXELS} pixels (a possible decompression bomb)"
        ) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UserError(f"{path}: truncated or damaged picture ({e})") from None
    with image:
        try:
            if draft is not None and image.format == "JPEG":
                image.draft(image.mode, draft)
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise UserError(f"{path}: truncated or damaged picture ({e})") from None
        yield image


def to_mode(image, mode):
    """``image`` in ``mode`` (L, RGB or RGBA): 16-bit grey keeps its high byte, transparency goes over white."""
    if image.mode in SIXTEEN_BIT_MODES:
        high_byte = np.asarray(image).astype(np.uint32) >> 8
        image = Image.fromarray(np.clip(high_byte, 0, 255).astype(np.uint8), "L")
    if mode == "RGBA":
        return image.convert("RGBA")
    if image.has_transparency_data:
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (BACKGROUND,) * 3 + (255,))
        image = Image.alpha_composite(white, image)
    return image.convert(mode)


def is_picture_name(path):
    return path.suffix.lower() in SUFFIXES and not path.name.startswith(".")


def pictures_in(folder):
    """Every picture file below ``folder`` (by suffix, hidden files and folders skipped), sorted."""
    folder = Path(folder)
    found = []
    for path in folder.rglob("*"):
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        if not hidden and path.is_file() and is_picture_name(path):
            found.append(path)
    return sorted(found)


def expand_paths(arguments):
    """Picture paths from command-line arguments: files, folders (every picture below) and glob patterns.

    Returns ``(paths, problems)``: the paths in order without repeats, and a
    ``UserError`` for each folder or pattern that gives no picture. A named file
    is kept whether or not it exists or is a picture: reading it says what is wrong.
    """
    paths, problems = {}, []
    for argument in arguments:
        named = Path(argument)
        if named.exists() or not glob.has_magic(argument):
            matches = [named]
        else:
            matches = sorted(Path(m) for m in glob.glob(argument, recursive=True))
            if not matches:
                problems.append(UserError(f"{argument}: no files match this pattern"))
        for path in matches:
            if path.is_dir():
                found = pictures_in(path)
                if not found:
                    problems.append(UserError(f"{path}: no pictures in this folder ({', '.join(SUFFIXES)})"))
                paths.update(dict.fromkeys(found))
            else:
                paths[path] = None
    return list(paths), problems
