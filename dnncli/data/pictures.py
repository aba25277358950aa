"""Pictures from files, decoded with Pillow: the one way a picture becomes pixels.

``load_picture`` is used wherever a picture file meets a model (``dnn predict``,
folder data sets, importing pictures), so the same file always gives the same
pixels. Its rules, in order:

1. Formats: JPEG, PNG, BMP, GIF, WebP, TIFF and the Netpbm formats (PPM, PGM,
   PBM) only (``FORMATS``), which Pillow decodes itself; nothing that would run
   another program (EPS) is ever opened. Only a regular file is opened (a FIFO
   would block), and an empty one is said to be empty.
2. Pillow's decompression-bomb limit stays on, and its warning zone counts as a
   bomb: more than ``Image.MAX_IMAGE_PIXELS`` pixels (89,478,485 by default, about
   9459 x 9459) is refused before any pixel is decoded.
3. The whole picture is decoded; a truncated or damaged file is refused, never
   half-read: so is a TIFF whose strips miss part of the picture or end past the
   file (Pillow would leave the rest black), and any file Pillow reads with a
   "Truncated File Read" warning. Pillow's other warnings (damaged EXIF tags it
   skips) are dropped, never printed. A GIF or WebP animation gives its first frame. A JPEG much larger
   than the model's input is decoded at a reduced scale (1/2, 1/4 or 1/8, the
   JPEG decoder's own: Pillow's draft mode), the smallest that still leaves it at
   least ``DRAFT_MARGIN`` times the input's larger side each way; the resize of
   rule 6 then starts from that (how far the pixels move: docs/performance/data.md).
4. The EXIF orientation is applied, so the picture stands as a camera showed it.
5. Modes: 16-bit grey (``I;16``, ``I``) keeps its high byte (``v >> 8``); any
   transparency (LA, RGBA, PA, a palette or colour key with a transparent entry)
   is laid over white; then Pillow's ``convert`` gives the mode the model takes:
   ``RGB`` for (h, w, 3), ``L`` for (h, w) or (h, w, 1) (ITU-R 601-2 luma),
   ``RGBA`` for (h, w, 4), where transparency is kept instead. CMYK is converted
   by Pillow's formula, with no colour profile.
6. A picture of another size is made the model's (h, w) by its ``fit``
   (``FITS``, ``data.fit``), resizing with ``RESAMPLE`` (Lanczos): ``squash``
   resizes it whole, aspect ratio not kept; ``crop`` takes the largest centred
   part of the model's aspect ratio, then resizes; ``pad`` resizes it whole to
   fit inside, aspect ratio kept, and fills the bands left at two sides with
   black (a letterbox). A picture whose resize would need more than
   ``RESIZE_LIMIT`` bytes (a 1 x 89 million strip is under the pixel limit, but
   resizing it to 64 x 64 makes a 64 x 89 million intermediate) is refused, as
   is one that runs out of memory.
"""

import glob
import io
import math
import os
import re
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import UserError, one_line
from ..files import regular_file
from ..text import binary_size, plural
from .formats import DEFAULT_FIT

FORMATS = ("JPEG", "PNG", "BMP", "GIF", "WEBP", "TIFF", "PPM")
SUFFIXES = (  # what a folder's pictures are called
    ".jpg",
    ".jpeg",
    ".jpe",
    ".png",
    ".bmp",
    ".gif",
    ".webp",
    ".tif",
    ".tiff",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
)
RESIZE_LIMIT = 512 * 2**20  # bytes a resize may take: thousands of times what a photo to 64 x 64 takes
NAMED = 10  # skipped files a warning names, before "and N more"
RESAMPLE = Image.Resampling.LANCZOS
BACKGROUND = 255  # white, under transparent pixels
SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
CHANNEL_MODES = {1: "L", 3: "RGB", 4: "RGBA"}
TRUNCATED_READ = "Truncated File Read"  # the warning Pillow gives for tags that end before they should
DRAFT_MARGIN = 4  # a draft-decoded JPEG keeps at least this many pixels per pixel of the model's input, each way
URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")  # a scheme and //: https://x/cat.jpg, which Path makes https:/x/cat.jpg


class PictureBytes(io.BytesIO):
    """A picture's bytes that came with no file (an upload, standard input), which ``load_picture`` reads as it
    reads a file; ``str()`` is its ``label`` (the name an upload came with, ``-``).

    It has no ``name`` attribute, so nothing downstream can take the label for a path.
    """

    def __init__(self, data, label):
        super().__init__(data)
        self.label = label

    def __str__(self):
        return self.label


def picture_mode(input_shape):
    """The Pillow mode a model's input shape asks for: (h, w) or (h, w, 1) L, (h, w, 3) RGB, (h, w, 4) RGBA."""
    shape = tuple(input_shape)
    if len(shape) == 2:
        return "L"
    if len(shape) == 3 and shape[2] in CHANNEL_MODES:
        return CHANNEL_MODES[shape[2]]
    raise UserError(f"a model with input shape {shape} does not take pictures (it needs (h, w) or (h, w, 1, 3 or 4))")


def squash(image, size):
    return image.resize(size, RESAMPLE)


def crop(image, size):
    return ImageOps.fit(image, size, RESAMPLE)  # the centre, of the aspect ratio of size, then resized


def pad(image, size):
    return ImageOps.pad(image, size, RESAMPLE, color=None)  # None: zeros, black in every mode


FITS = {"squash": squash, "crop": crop, "pad": pad}  # data.fit: how a picture is made (width, height) ``size``


def load_picture(path, input_shape, fit=DEFAULT_FIT):
    """The pixels of a picture file as uint8 of ``input_shape``, made to fit it by ``fit`` (``FITS``), by the
    rules in this module's docstring.

    Raises ``UserError`` naming the file when it is missing, not a picture of an
    accepted format, truncated or damaged, or a decompression bomb.
    """
    mode = picture_mode(input_shape)
    height, width = input_shape[:2]

    def check_resizable(image):  # from the header, before decoding; either way up, as EXIF may turn it
        w, h = image.size
        needed = max(resize_memory((w, h), (width, height)), resize_memory((h, w), (width, height)))
        if needed > RESIZE_LIMIT:
            raise UserError(
                f"{path}: a {w} x {h} picture is too far from {width} x {height} to resize "
                f"(it would take {binary_size(needed)}, more than {binary_size(RESIZE_LIMIT)})"
            )

    side = DRAFT_MARGIN * max(height, width)  # square: the EXIF orientation may turn the picture
    try:
        with open_picture(path, check_resizable, draft=(side, side)) as image:
            image = ImageOps.exif_transpose(image)
            try:
                image = to_mode(image, mode)
            except ValueError as e:  # a mode Pillow reads but cannot convert, such as a TIFF in LAB colour
                raise UserError(f"{path}: its colour mode {image.mode} cannot be converted to {mode} ({e})") from None
        if image.size != (width, height):
            image = FITS[fit](image, (width, height))
        return np.asarray(image, dtype=np.uint8).reshape(input_shape)
    except MemoryError:
        raise UserError(f"{path}: not enough memory to decode and resize this picture") from None


def resize_memory(size, target):
    """Bytes Pillow's resize of ``size`` to ``target`` takes: the image after its first pass (the width
    resampled) and the result, at 4 bytes a pixel, and the filter weights of each axis (Lanczos covers 3
    input pixels either side of each output pixel, per unit of shrinking)."""
    (w, h), (out_w, out_h) = size, target
    intermediate = out_w * h * 4 if out_w != w else 0
    weights = sum(out * (2 * math.ceil(3 * max(n / out, 1)) + 1) * 8 for n, out in ((w, out_w), (h, out_h)))
    return intermediate + out_w * out_h * 4 + weights


def check_picture_file(path):
    """A picture named by a path must be a regular file with something in it."""
    if not os.path.lexists(path):
        raise UserError(f"{path}: no such file")
    if os.path.isdir(path):
        raise UserError(f"{path}: is a folder, not a picture")
    regular_file(path, "picture")
    if os.path.getsize(path) == 0:
        raise UserError(f"{path}: not a picture (an empty file)")


@contextmanager
def open_picture(path, before_decoding=None, draft=None):
    """``with open_picture(path) as image``: an accepted picture, fully decoded, or a ``UserError``.

    ``path`` is a file's path, or an open binary file (an upload to ``dnn serve``), read as it is.
    ``before_decoding(image)`` may refuse the picture from its header alone. ``draft`` (width, height): a
    JPEG is decoded at the smallest reduced scale that is at least that large."""
    if isinstance(path, (str, os.PathLike)):
        check_picture_file(path)
    elif not path.getbuffer().nbytes:
        raise UserError(f"{path}: not a picture (an empty file)")
    with refusing_truncation(path):
        with decoded(path, before_decoding, draft) as image:
            yield image


@contextmanager
def decoded(path, before_decoding, draft):
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
        if image.format == "TIFF":
            check_strips(image, path)
        if before_decoding:
            before_decoding(image)
        try:
            if draft is not None and image.format == "JPEG":
                image.draft(image.mode, draft)
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise UserError(f"{path}: truncated or damaged picture ({e})") from None
        yield image


@contextmanager
def refusing_truncation(path):
    """Pillow's warnings while a picture is read and decoded, never printed raw: "Truncated File Read" (a
    TIFF's or an EXIF block's tags end early) refuses the picture as truncated, whatever Pillow made of it;
    the others (damaged EXIF or metadata tags, which Pillow skips) are dropped."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            if any(str(w.message).startswith(TRUNCATED_READ) for w in caught):
                raise UserError(
                    f"{path}: truncated or damaged picture (a block of its tags ends early: {TRUNCATED_READ})"
                ) from None


def check_strips(image, path):
    """A TIFF's strips or tiles, from its header: they must lie inside the file and cover the picture.

    Pillow reads only the strips the header lists and leaves the rest of the picture black: a file whose
    header lists one strip of 16 rows for 1.5 million would be read as a blank picture, not refused.
    """
    w, h = image.size
    extents = {tuple(tile.extents) for tile in image.tile}  # a plane of a planar TIFF repeats the extents
    covered = sum(max(0, min(x1, w) - max(x0, 0)) * max(0, min(y1, h) - max(y0, 0)) for x0, y0, x1, y1 in extents)
    if covered < w * h:
        raise UserError(f"{path}: truncated or damaged picture (its strips hold {covered:,} of its {w * h:,} pixels)")
    size = os.path.getsize(path) if isinstance(path, (str, os.PathLike)) else path.getbuffer().nbytes
    for offsets, counts in ((273, 279), (324, 325)):  # StripOffsets and StripByteCounts; TileOffsets and TileByteCounts
        ends = [o + n for o, n in zip(image.tag_v2.get(offsets, ()), image.tag_v2.get(counts, ()), strict=False)]
        if ends and max(ends) > size:
            raise UserError(f"{path}: truncated or damaged picture (its data ends at byte {max(ends):,} of {size:,})")


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
    return folder_files(folder)[0]


def folder_files(folder):
    """(pictures, skipped) below ``folder``, sorted: picture files by suffix, and the other files that are not
    hidden, or are not regular files (a FIFO would block), which a caller names in a warning."""
    folder = Path(folder)
    pictures, skipped = [], []
    for path in folder.rglob("*"):
        if any(part.startswith(".") for part in path.relative_to(folder).parts) or path.is_dir():
            continue
        (pictures if path.is_file() and is_picture_name(path) else skipped).append(path)
    return sorted(pictures), sorted(skipped)


def skipped_files_text(folder, skipped):
    """A warning naming the files of ``folder`` that are not read as pictures."""
    names = ", ".join(one_line(str(p)) for p in skipped[:NAMED])
    more = f" and {len(skipped) - NAMED} more" if len(skipped) > NAMED else ""
    return f"{folder}: {plural(len(skipped), 'file')} skipped, not picture files ({', '.join(SUFFIXES)}): {names}{more}"


def expand_paths(arguments, warn=None):
    """Picture paths from command-line arguments: files, folders (every picture below) and glob patterns.

    Returns ``(paths, problems)``: the paths in order without repeats, and a
    ``UserError`` for each folder or pattern that gives no picture. A named file
    is kept whether or not it exists or is a picture: reading it says what is wrong.
    The files a folder holds that are not pictures are named to ``warn(text)``.
    """
    paths, problems = {}, []
    for argument in arguments:
        named = Path(argument)
        if URL.match(argument) and not named.exists():
            problems.append(
                UserError(
                    f"{argument}: a URL; URLs are not fetched, only files are read (download it, or pipe it in: curl -sL URL | dnn predict -)"
                )
            )
            continue
        if named.exists() or not glob.has_magic(argument):
            matches = [named]
        else:
            matches = sorted(Path(m) for m in glob.glob(argument, recursive=True))
            if not matches:
                problems.append(UserError(f"{argument}: no files match this pattern"))
        for path in matches:
            if path.is_dir():
                found, skipped = folder_files(path)
                if skipped and warn:
                    warn(skipped_files_text(path, skipped))
                if not found:
                    problems.append(UserError(f"{path}: no pictures in this folder ({', '.join(SUFFIXES)})"))
                paths.update(dict.fromkeys(found))
            else:
                paths[path] = None
    return list(paths), problems


def preview_picture(path, longest):
    """A picture file as a person would see it, RGB uint8, shrunk to at most ``longest`` pixels a side
    (aspect ratio kept), decoded by the rules of ``load_picture``."""
    with open_picture(path) as image:
        image = to_mode(ImageOps.exif_transpose(image), "RGB")
    image.thumbnail((longest, longest), RESAMPLE)
    return np.asarray(image, dtype=np.uint8)
