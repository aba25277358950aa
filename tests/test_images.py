"""The one picture decoder: formats, modes, orientation, size, and every kind of bad file."""

import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from dnncli.data.pictures import RESAMPLE, SUFFIXES, expand_paths, load_picture, pictures_in
from dnncli.errors import UserError

RGB = (8, 6, 3)  # a model's input shape: 8 high, 6 wide


def checker(height=8, width=6):
    """Two colours in a checkerboard, so a flip, a turn or a channel swap shows."""
    yy, xx = np.mgrid[0:height, 0:width]
    a = np.where(((yy + xx) % 2)[..., None] == 0, [200, 30, 90], [10, 220, 140])
    a[0, 0] = [255, 255, 0]  # one marked corner
    return a.astype(np.uint8)


def save(image, path, **options):
    image.save(path, **options)
    return path


def png_header(path, width, height):
    """A PNG that only claims its size: signature, IHDR (8-bit grey), an empty IDAT, IEND."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )
    return path


# --- formats ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, options",
    [("p.png", {}), ("p.bmp", {}), ("p.webp", {"lossless": True})],
)
def test_lossless_formats_give_the_exact_pixels(tmp_path, name, options):
    a = checker()
    path = save(Image.fromarray(a), tmp_path / name, **options)
    np.testing.assert_array_equal(load_picture(path, RGB), a)


def test_jpeg_gives_pixels_close_to_the_original(tmp_path):
    a = np.full((8, 6, 3), [180, 60, 20], dtype=np.uint8)
    path = save(Image.fromarray(a), tmp_path / "p.jpg", quality=95)
    got = load_picture(path, RGB)
    assert got.dtype == np.uint8 and got.shape == RGB
    assert np.abs(got.astype(int) - a).max() <= 3


def test_gif_gives_the_first_frame(tmp_path):
    first, second = (Image.new("RGB", (6, 8), colour) for colour in ((255, 0, 0), (0, 0, 255)))
    path = save(first, tmp_path / "a.gif", save_all=True, append_images=[second], duration=100, loop=0)
    with Image.open(path) as check:
        assert check.n_frames == 2
    got = load_picture(path, RGB)
    assert (got == [255, 0, 0]).all()


def test_the_content_decides_not_the_name(tmp_path):
    a = checker()
    path = save(Image.fromarray(a), tmp_path / "really-a-png.jpg", format="PNG")
    np.testing.assert_array_equal(load_picture(path, RGB), a)


# --- modes --------------------------------------------------------------------


def test_grey_becomes_three_equal_channels(tmp_path):
    grey = np.arange(48, dtype=np.uint8).reshape(8, 6) * 5
    got = load_picture(save(Image.fromarray(grey, "L"), tmp_path / "g.png"), RGB)
    np.testing.assert_array_equal(got, np.repeat(grey[..., None], 3, axis=2))


def test_bilevel_becomes_black_and_white(tmp_path):
    bits = Image.fromarray(np.eye(8, 6, dtype=bool))
    assert bits.mode == "1"
    got = load_picture(save(bits, tmp_path / "b.png"), RGB)
    np.testing.assert_array_equal(got[..., 0], np.eye(8, 6) * 255)


def test_rgb_becomes_grey_by_luma(tmp_path):
    a = checker()
    got = load_picture(save(Image.fromarray(a), tmp_path / "c.png"), (8, 6))
    # ITU-R 601-2: L = R 299/1000 + G 587/1000 + B 114/1000, rounded
    luma = np.round(a @ np.array([299, 587, 114]) / 1000)
    assert got.shape == (8, 6)
    assert np.abs(got - luma).max() <= 1
    np.testing.assert_array_equal(load_picture(tmp_path / "c.png", (8, 6, 1))[..., 0], got)


def test_transparency_is_laid_over_white(tmp_path):
    a = np.zeros((8, 6, 4), dtype=np.uint8)
    a[..., :3] = [0, 0, 255]
    a[:4, :, 3] = 0  # top half transparent
    a[4:, :, 3] = 255  # bottom half opaque
    a[4, 0, 3] = 128  # one pixel half-covered
    got = load_picture(save(Image.fromarray(a, "RGBA"), tmp_path / "t.png"), RGB)
    assert (got[:4] == 255).all()
    assert (got[5:] == [0, 0, 255]).all()
    assert np.abs(got[4, 0].astype(int) - [127, 127, 255]).max() <= 1


def test_rgba_model_keeps_transparency(tmp_path):
    a = np.dstack([checker(), np.full((8, 6), 77, dtype=np.uint8)])
    got = load_picture(save(Image.fromarray(a, "RGBA"), tmp_path / "t.png"), (8, 6, 4))
    np.testing.assert_array_equal(got, a)


def test_grey_with_alpha(tmp_path):
    la = np.dstack([np.full((8, 6), 40, np.uint8), np.zeros((8, 6), np.uint8)])
    la[:, :3, 1] = 255
    got = load_picture(save(Image.fromarray(la, "LA"), tmp_path / "la.png"), RGB)
    assert (got[:, :3] == 40).all() and (got[:, 3:] == 255).all()


def test_palette_with_a_transparent_entry(tmp_path):
    image = Image.new("P", (6, 8), 1)
    image.putpalette([0, 0, 0, 200, 10, 10] + [0] * 762)
    image.paste(0, (0, 0, 6, 2))  # index 0, made transparent below
    path = save(image, tmp_path / "p.gif", transparency=0)
    got = load_picture(path, RGB)
    assert (got[:2] == 255).all()
    assert (got[2:] == [200, 10, 10]).all()
    np.testing.assert_array_equal(load_picture(save(image, tmp_path / "p.png", transparency=0), RGB), got)


def test_cmyk_jpeg(tmp_path):
    image = Image.new("CMYK", (6, 8), (0, 255, 255, 0))  # no cyan, full magenta and yellow: red
    path = save(image, tmp_path / "c.jpg", quality=95)
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    got = load_picture(path, RGB)
    assert np.abs(got.astype(int) - [255, 0, 0]).max() <= 3


def test_sixteen_bit_grey_keeps_the_high_byte(tmp_path):
    deep = (np.arange(48, dtype=np.uint16) * 1365).reshape(8, 6)
    image = Image.fromarray(deep)
    assert image.mode == "I;16"
    path = save(image, tmp_path / "d.png")
    with Image.open(path) as check:
        assert check.mode.startswith("I")
    got = load_picture(path, (8, 6, 1))
    np.testing.assert_array_equal(got[..., 0], deep >> 8)


# --- orientation and size -----------------------------------------------------


@pytest.mark.parametrize(
    "orientation, turn",
    [(1, lambda a: a), (3, lambda a: np.rot90(a, 2)), (6, lambda a: np.rot90(a, -1)), (8, np.rot90)],
)
def test_exif_orientation_is_applied(tmp_path, orientation, turn):
    stored = checker(6, 8)  # stored 8 wide, 6 high; orientations 6 and 8 stand it upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save(Image.fromarray(stored), tmp_path / "o.png", exif=exif)
    expected = turn(stored)
    np.testing.assert_array_equal(load_picture(path, expected.shape), expected)


def test_exif_orientation_of_a_jpeg(tmp_path):
    stored = np.zeros((16, 32, 3), np.uint8)
    stored[:, :16] = [255, 0, 0]  # left half red
    stored[:, 16:] = [0, 0, 255]  # right half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90 degrees clockwise to show: the left half goes on top
    path = save(Image.fromarray(stored), tmp_path / "o.jpg", exif=exif, quality=95)
    got = load_picture(path, (32, 16, 3)).astype(int)
    assert np.abs(got[2:14].mean(axis=(0, 1)) - [255, 0, 0]).max() < 8
    assert np.abs(got[18:30].mean(axis=(0, 1)) - [0, 0, 255]).max() < 8


def test_other_sizes_are_resized_with_lanczos(tmp_path):
    rng = np.random.default_rng(0)
    big = rng.integers(0, 256, size=(50, 30, 3), dtype=np.uint8)
    path = save(Image.fromarray(big), tmp_path / "big.png")
    got = load_picture(path, RGB)
    assert got.shape == RGB
    np.testing.assert_array_equal(got, np.asarray(Image.fromarray(big).resize((6, 8), RESAMPLE)))
    assert RESAMPLE == Image.Resampling.LANCZOS


def test_a_small_picture_is_enlarged(tmp_path):
    path = save(Image.new("RGB", (2, 3), (10, 20, 30)), tmp_path / "s.bmp")
    got = load_picture(path, (64, 64, 3))
    assert got.shape == (64, 64, 3) and (got == [10, 20, 30]).all()


def test_a_shape_that_is_not_a_picture():
    with pytest.raises(UserError, match=r"input shape \(12288,\)"):
        load_picture("any.png", (12288,))


# --- bad files ----------------------------------------------------------------


def cut(path, keep=0.5):
    data = path.read_bytes()
    out = path.with_name("cut-" + path.name)
    out.write_bytes(data[: int(len(data) * keep)])
    return out


def noisy(tmp_path, name, **options):
    a = np.random.default_rng(1).integers(0, 256, size=(40, 30, 3), dtype=np.uint8)
    return save(Image.fromarray(a), tmp_path / name, **options)


@pytest.mark.parametrize("name, options", [("n.jpg", {}), ("n.png", {}), ("n.bmp", {}), ("n.gif", {}), ("n.webp", {})])
def test_truncated_pictures_are_refused(tmp_path, name, options):
    truncated = cut(noisy(tmp_path, name, **options))
    with pytest.raises(UserError, match=f"^{truncated}: truncated or damaged picture"):
        load_picture(truncated, RGB)


def grey_tiff(width, height, rows_per_strip, strips, data):
    """An uncompressed 8-bit grey TIFF whose header lists ``strips`` (offset, bytes), followed by ``data``."""
    entries = [(256, 4, [width]), (257, 4, [height]), (258, 3, [8]), (259, 3, [1]), (262, 3, [1]), (277, 3, [1])]
    entries += [(273, 4, [o for o, _ in strips]), (278, 4, [rows_per_strip]), (279, 4, [n for _, n in strips])]
    ifd_size = 2 + 12 * len(entries) + 4
    arrays = b""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, values in entries:
        packed = struct.pack(f"<{len(values)}{'I' if kind == 4 else 'H'}", *values)
        if len(packed) <= 4:
            ifd += struct.pack("<HHI", tag, kind, len(values)) + packed.ljust(4, b"\0")
        else:  # stored after the IFD
            ifd += struct.pack("<HHII", tag, kind, len(values), 8 + ifd_size + len(arrays))
            arrays += packed
    return b"II*\0" + struct.pack("<I", 8) + ifd + b"\0\0\0\0" + arrays + data


def test_a_tiff_whose_strips_miss_most_of_the_picture_is_refused(tmp_path):
    # 16 rows of 1.5 million listed: Pillow read it as a blank picture, after seconds of work
    path = tmp_path / "few.tif"
    header = len(grey_tiff(24, 1_572_864, 16, [(0, 384)], b""))
    path.write_bytes(grey_tiff(24, 1_572_864, 16, [(header, 384)], bytes(range(256)) + bytes(128)))
    with pytest.raises(
        UserError, match=f"^{path}: truncated or damaged picture \\(its strips hold 384 of its 37,748,736 pixels\\)$"
    ):
        load_picture(path, RGB)
    whole = tmp_path / "whole.tif"
    header = len(grey_tiff(24, 32, 16, [(0, 384), (0, 384)], b""))
    whole.write_bytes(grey_tiff(24, 32, 16, [(header, 384), (header + 384, 384)], bytes(768)))
    assert load_picture(whole, RGB).shape == RGB  # the same file with every strip is read


def test_a_tiff_whose_strip_ends_past_the_file_is_refused(tmp_path):
    path = tmp_path / "short.tif"
    header = len(grey_tiff(24, 16, 16, [(0, 384)], b""))
    path.write_bytes(grey_tiff(24, 16, 16, [(header, 384)], bytes(100)))
    with pytest.raises(UserError, match=f"^{path}: truncated or damaged picture"):
        load_picture(path, RGB)


EXIF_HEADER = b"II*\0\x08\0\0\0\x01\0"  # little-endian TIFF tags, one entry


@pytest.mark.parametrize(
    "name, exif, refused",
    [
        ("junk.jpg", b"Exif\0\0MM\0*\0\0\0\x08\xff\xff", False),  # Pillow warned "Corrupt EXIF data"
        (
            "past.jpg",
            b"Exif\0\0" + EXIF_HEADER + b"\x12\x01\x02\0\x05\0\0\0\xff\xff\0\0",
            True,
        ),  # "Truncated File Read"
        ("past.png", EXIF_HEADER + b"\x12\x01\x05\0\x01\0\0\0\x1a\0\0\0\0\0\0\0", True),
    ],
    ids=["corrupt-exif", "exif-past-its-end-jpeg", "exif-past-its-end-png"],
)
def test_pillows_warnings_never_reach_stderr_and_a_truncated_read_refuses(tmp_path, recwarn, name, exif, refused):
    path = save(Image.fromarray(checker()), tmp_path / name, exif=exif)
    if refused:  # the orientation lies past the end of its tags: the picture may stand wrong
        with pytest.raises(UserError, match=f"^{path}: truncated or damaged picture .*Truncated File Read"):
            load_picture(path, RGB)
    else:
        assert load_picture(path, RGB).shape == RGB
    assert not recwarn.list, [str(w.message) for w in recwarn.list]


def test_missing_file(tmp_path):
    with pytest.raises(UserError, match=f"^{tmp_path / 'nope.png'}: no such file$"):
        load_picture(tmp_path / "nope.png", RGB)


def test_folder(tmp_path):
    with pytest.raises(UserError, match="is a folder, not a picture"):
        load_picture(tmp_path, RGB)


@pytest.mark.parametrize(
    "content", [b"", b"hello, not a picture\n", b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 6 8\n"]
)
def test_not_a_picture(tmp_path, content):
    path = tmp_path / "x.png"
    path.write_bytes(content)
    with pytest.raises(UserError, match=f"^{path}: not a picture"):
        load_picture(path, RGB)


def test_formats_outside_the_list_are_refused(tmp_path):
    path = save(Image.fromarray(checker()), tmp_path / "t.pcx")
    with pytest.raises(UserError, match="not a picture"):
        load_picture(path, RGB)


@pytest.mark.parametrize("side", [10_000, 20_000])  # 1e8 pixels: Pillow's warning zone; 4e8: its error
def test_decompression_bombs_are_refused_before_decoding(tmp_path, side):
    assert side * side > Image.MAX_IMAGE_PIXELS
    path = png_header(tmp_path / "bomb.png", side, side)
    with pytest.raises(UserError, match=f"^{path}: refused, over {Image.MAX_IMAGE_PIXELS} pixels"):
        load_picture(path, RGB)


@settings(max_examples=60, deadline=None)
@given(keep=st.integers(0, 400), junk=st.binary(max_size=40))
def test_any_damage_is_a_user_error_or_a_picture(tmp_path_factory, keep, junk):
    """Cut a valid PNG anywhere and add junk: the decoder returns pixels or a UserError, nothing else."""
    folder = tmp_path_factory.mktemp("damage")
    path = save(Image.fromarray(checker(20, 15)), folder / "p.png")
    path.write_bytes(path.read_bytes()[:keep] + junk)
    try:
        got = load_picture(path, RGB)
    except UserError as e:
        assert str(path) in e.message
    else:
        assert got.shape == RGB and got.dtype == np.uint8


# --- finding pictures ---------------------------------------------------------


def picture_tree(root):
    (root / "sub").mkdir(parents=True)
    (root / ".hidden").mkdir()
    for name in ("b.png", "a.JPG", "sub/c.webp", "notes.txt", ".d.png", ".hidden/e.png"):
        (root / name).write_bytes(b"x")
    return root


def test_pictures_in_a_folder(tmp_path):
    root = picture_tree(tmp_path / "pics")
    assert pictures_in(root) == [root / "a.JPG", root / "b.png", root / "sub" / "c.webp"]


def test_expand_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    picture_tree(tmp_path / "pics")
    (tmp_path / "empty").mkdir()
    paths, problems = expand_paths(["pics/b.png", "pics", "pics/*.png", "missing.png", "nothing/*.jpg", "empty"])
    assert [str(p) for p in paths] == ["pics/b.png", "pics/a.JPG", "pics/sub/c.webp", "missing.png"]
    assert [e.message for e in problems] == [
        "nothing/*.jpg: no files match this pattern",
        f"empty: no pictures in this folder ({', '.join(SUFFIXES)})",
    ]
