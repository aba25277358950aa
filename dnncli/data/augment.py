"""Augmentation of training pictures: horizontal flips, small shifts, brightness and contrast jitter.

Pictures are uint8, (n, height, width[, channels]); augmented ones are uint8 too, pictures like any
other, which the one scaling (``dataset.scale_pixels``) then hands to the network. Every draw comes
from the generator the caller passes, so the same generator gives the same pictures.
"""

import numpy as np

from ..errors import UserError


def describe_augmentation(augment):
    """``data.augment`` in words, or None when it changes nothing."""
    parts = []
    if augment["flip"]:
        parts.append("horizontal flips (half the pictures)")
    if augment["shift"]:
        parts.append(f"shifts of up to {augment['shift']} pixels each way (edges repeated)")
    if augment["brightness"]:
        parts.append(f"brightness +-{augment['brightness']:g} x 255")
    if augment["contrast"]:
        parts.append(f"contrast x (1 +-{augment['contrast']:g})")
    return ", ".join(parts) or None


def check_augmentable(input_shape, path):
    """Flips and shifts need pictures: (height, width) or (height, width, channels)."""
    if len(input_shape) not in (2, 3):
        shape = "x".join(map(str, input_shape))
        raise UserError(
            f"data.augment: works on pictures (height x width x channels); {path} holds examples of {shape}"
        )


def augment_pictures(pixels, rng, flip=False, shift=0, brightness=0.0, contrast=0.0):
    """Each picture mirrored left to right (probability 1/2), moved by whole pixels (edge pixels fill the
    gap), then  p = (p - mean) c + mean + 255 b  with c in [1 - contrast, 1 + contrast] and b in
    [-brightness, brightness], the mean over the picture, rounded and clipped to 0..255.

    Every draw is made whatever is switched on, so a picture's draws do not depend on the other settings.
    """
    n, height, width = pixels.shape[:3]
    flips = (rng.random(n) < 0.5) & flip
    dy, dx = rng.integers(-shift, shift + 1, size=(2, n))
    factor = 1 + contrast * rng.uniform(-1, 1, n)
    offset = 255 * brightness * rng.uniform(-1, 1, n)
    # a window of the pictures with their edges repeated `shift` times: plain slices, no gather
    padded = np.pad(pixels, ((0, 0), (shift, shift), (shift, shift)) + ((0, 0),) * (pixels.ndim - 3), mode="edge")
    moved = np.empty_like(pixels)
    for k in range(n):
        picture = padded[k, :, ::-1] if flips[k] else padded[k]  # mirrored padding is the mirror's padding
        top, left = shift - dy[k], shift - dx[k]
        moved[k] = picture[top : top + height, left : left + width]
    if not (brightness or contrast):
        return moved
    values = moved.astype(np.float32)
    axes = tuple(range(1, values.ndim))
    shape = (n,) + (1,) * (values.ndim - 1)
    mean = values.mean(axis=axes, keepdims=True)
    values -= mean
    values *= factor.astype(np.float32).reshape(shape)
    values += mean + offset.astype(np.float32).reshape(shape)
    np.rint(values, out=values)
    return np.clip(values, 0, 255).astype(np.uint8)
