"""Pictures unlike any of the course's cat set, made with NumPy and Pillow, and real photos of such kinds.

``generated`` makes 64 x 64 RGB pictures of seven kinds: noise, flat colours, rendered text, line drawings,
silhouettes, sky-like gradients and microscope-like blobs. ``UNLIKE_PHOTOS`` names photos that scikit-image
ships in its wheel (no download) of the same kinds: text and a printed page, a horse's silhouette, the
Hubble deep field and the moon, slides under a microscope and a retina, textures, a chessboard, drawings.
``ORDINARY_PHOTOS`` are ordinary scenes (and a cat): not the target, measured for the record.
Used by tests/test_familiarity.py and bench/familiarity.py (docs/honest-answers.md).
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

SIDE = 64
DRAWN = 4  # shapes are drawn this many times larger, then shrunk: smooth edges as a photo has
WORDS = "the quick brown fox jumps over a lazy dog while seven wizards quietly hex jumbo plans".split()


def noise(rng, i):
    """Uniform colour noise, Gaussian colour noise about grey, or grey noise, in turn."""
    if i % 3 == 0:
        return rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    if i % 3 == 1:
        return np.clip(rng.normal(128, 40, (SIDE, SIDE, 3)), 0, 255).astype(np.uint8)
    return np.repeat(rng.integers(0, 256, (SIDE, SIDE, 1), dtype=np.uint8), 3, axis=2)


def flat(rng, i):
    return np.broadcast_to(rng.integers(0, 256, 3, dtype=np.uint8), (SIDE, SIDE, 3)).copy()


def paper(rng):
    """A large light canvas to draw on."""
    return Image.new("RGB", (SIDE * DRAWN, SIDE * DRAWN), (int(rng.integers(225, 256)),) * 3)


def shrunk(image):
    return np.asarray(image.resize((SIDE, SIDE), Image.Resampling.LANCZOS), dtype=np.uint8)


def text(rng, i):
    image = paper(rng)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=int(rng.integers(18, 34)))
    y = int(rng.integers(0, 12))
    while y < SIDE * DRAWN:
        draw.text((int(rng.integers(-10, 10)), y), " ".join(rng.choice(WORDS, 4)), fill=(0, 0, 0), font=font)
        y += int(font.size * 1.3)
    return shrunk(image)


def lines(rng, i):
    """Straight lines, ellipses and rectangles in black outline."""
    image = paper(rng)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 12))):
        x0, y0, x1, y1 = (int(v) for v in rng.integers(0, SIDE * DRAWN, 4))
        box = (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))
        width = int(rng.integers(2, 7))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.line((x0, y0, x1, y1), fill=(0, 0, 0), width=width)
        elif shape == 1:
            draw.ellipse(box, outline=(0, 0, 0), width=width)
        else:
            draw.rectangle(box, outline=(0, 0, 0), width=width)
    return shrunk(image)


def silhouette(rng, i):
    """A black four-legged animal shape, a body, a head and legs, on a light ground."""
    image = paper(rng)
    draw = ImageDraw.Draw(image)
    c = SIDE * DRAWN // 2
    w, h = int(rng.integers(60, 110)), int(rng.integers(35, 60))
    draw.ellipse((c - w, c - h, c + w, c + h), fill=(0, 0, 0))
    head = c + w - 10 if rng.random() < 0.5 else c - w + 10
    r = int(rng.integers(18, 32))
    draw.ellipse((head - r, c - h - r, head + r, c - h + r), fill=(0, 0, 0))
    for k in range(4):
        x = c - w + 15 + k * (2 * w - 30) // 3
        draw.rectangle((x - 6, c, x + 6, c + h + int(rng.integers(30, 60))), fill=(0, 0, 0))
    return shrunk(image)


def sky(rng, i):
    """A blue gradient, darker at the top, with a few soft white clouds."""
    top = np.array([rng.integers(10, 60), rng.integers(60, 120), rng.integers(150, 230)], dtype=np.float64)
    bottom = np.array([rng.integers(150, 210), rng.integers(190, 235), rng.integers(235, 256)], dtype=np.float64)
    t = np.linspace(0, 1, SIDE)[:, None, None]
    picture = np.broadcast_to(top * (1 - t) + bottom * t, (SIDE, SIDE, 3))
    clouds = Image.new("L", (SIDE, SIDE), 0)
    draw = ImageDraw.Draw(clouds)
    for _ in range(int(rng.integers(0, 4))):
        x, y, r = int(rng.integers(0, SIDE)), int(rng.integers(0, SIDE)), int(rng.integers(4, 14))
        draw.ellipse((x - 2 * r, y - r, x + 2 * r, y + r), fill=int(rng.integers(120, 220)))
    alpha = np.asarray(clouds.filter(ImageFilter.GaussianBlur(3)), dtype=np.float64)[:, :, None] / 255
    return np.clip(picture * (1 - alpha) + 250 * alpha, 0, 255).astype(np.uint8)


def microscope(rng, i):
    """Purple cells on a pale pink ground, slightly out of focus, as a stained slide."""
    ground = (int(rng.integers(220, 250)), int(rng.integers(190, 230)), int(rng.integers(215, 245)))
    image = Image.new("RGB", (SIDE, SIDE), ground)
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(15, 40))):
        x, y, r = int(rng.integers(0, SIDE)), int(rng.integers(0, SIDE)), int(rng.integers(2, 6))
        colour = (int(rng.integers(60, 140)), int(rng.integers(20, 80)), int(rng.integers(110, 180)))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    return np.asarray(image.filter(ImageFilter.GaussianBlur(0.8)), dtype=np.uint8)


KINDS = {
    "noise": noise,
    "flat colour": flat,
    "text": text,
    "line drawing": lines,
    "silhouette": silhouette,
    "sky": sky,
    "microscope": microscope,
}


def generated(per_kind=8, seed=0):
    """(kinds, pictures): ``per_kind`` pictures of each kind, uint8 (m, 64, 64, 3), and each one's kind."""
    rng = np.random.default_rng(seed)
    kinds = [kind for kind in KINDS for _ in range(per_kind)]
    return kinds, np.stack([KINDS[kind](rng, i % per_kind) for i, kind in enumerate(kinds)])


UNLIKE_PHOTOS = (
    "text",  # handwritten sums on paper
    "page",  # a printed page
    "horse",  # a silhouette
    "hubble_deep_field",  # the sky at night
    "moon",  # its surface
    "ihc",  # a stained slide under a microscope
    "cell",  # a cell under a microscope
    "microaneurysms",  # a retina's vessels, in grey
    "retina",  # a retina, in colour
    "brick",  # textures
    "grass",
    "gravel",
    "chessboard_GRAY",  # patterns and drawings
    "chessboard_RGB",
    "logo",
    "phantom",
    "color",
    "coins",
    "clock_motion",
)
ORDINARY_PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "motorcycle_left", "motorcycle_right", "rocket")


def photo_paths(names):
    """The files of scikit-image's shipped photos ``names`` (skimage.data's folder; nothing is downloaded)."""
    import skimage.data

    folder = Path(skimage.data.__file__).parent
    files = {path.stem: path for path in folder.iterdir() if path.suffix in (".png", ".jpg")}
    return [files[name] for name in names]
