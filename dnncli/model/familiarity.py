"""How unlike its training data an input is: a distance a checkpoint can carry, for pictures and table rows.

An input is described by a few numbers, its features: for a picture ``picture_features`` (brightness,
contrast, colour, texture, palette, the slope of its spectrum), for a table row its encoded columns as
they are. ``fit`` standardises the training examples' features (z = (x - mean) / scale) and keeps the
inverse of their correlation shrunk towards the identity, C = (1 - s) R + s I, with Ledoit and Wolf's
shrinkage s (so a few examples or many features still give an invertible matrix). An input's distance is
Mahalanobis's, d = sqrt(z^T C^-1 z), and its unfamiliarity is d divided by the threshold: the distance
that ``PERCENT``% of training examples stay within when each is measured by a fit without it (``FOLDS``
folds), so an unfamiliarity above 1 is ``unfamiliar``, and about 1 in 20 inputs like the training data
is too. A table row's categories never seen in training add 1 each (``unseen``): such a row is always
unfamiliar. Why these features and this distance, and what they score on the course's cat model:
docs/honest-answers.md.

The fitted state is plain arrays and numbers (``Familiarity.arrays``, ``Familiarity.header``), the form
a checkpoint stores; ``Familiarity.restored`` reads it back.
"""

from dataclasses import dataclass

import numpy as np

PERCENT = 95  # the share of (held-out) training examples within the threshold
FOLDS = 5  # the threshold's distances are each measured by a fit on the other folds
FOLD_SEED = 0  # which examples go in which fold: fixed, so the same data always gives the same threshold
MIN_EXAMPLES = 10  # fewer cannot say what is usual: no fit
SCALE_FLOOR = 1e-3  # a feature that never varied in training still divides by this: leaving its value is far
MIN_SHRINKAGE = 0.01  # keeps C invertible when Ledoit and Wolf's estimate is 0
QUANTILES = 101  # the held-out distances kept, as percentiles 0, 1, ..., 100
FEATURE_BATCH = 256  # pictures whose features are computed at once (float64 copies of them)
# past this many features (a wide table's encoded columns) the precision is kept as its diagonal: n numbers, not
# n x n, and the distance is the standardised one (shrinkage 1, the correlations left out)
DIAGONAL_PAST = 256

# What ``picture_features`` measures, in its columns' order. Pixels count from 0 to 1; grey is ITU-R 601 luma.
PICTURE_FEATURES = (
    "brightness",  # mean grey
    "contrast",  # standard deviation of grey
    "chroma",  # mean of max(r, g, b) - min(r, g, b)
    "chroma_spread",  # its standard deviation
    "grey_share",  # share of pixels with chroma under 0.04
    "colourfulness",  # Hasler and Suesstrunk's: opponent colours' spread + 0.3 x their mean's size
    "gradient",  # mean size of grey's gradient (differences to the right and below)
    "edges",  # share of pixels whose gradient is over 0.25
    "flat",  # share of pixels whose gradient is under 0.01
    "fineness",  # mean size of grey's Laplacian over (mean gradient + 0.01): noise is fine, shapes are not
    "top_colour",  # share of pixels of the most common colour (3 bits a channel)
    "palette",  # share of the 512 such colours that the picture uses
    "grey_entropy",  # entropy of grey's histogram in 32 bins
    "spectrum_slope",  # slope of log amplitude against log frequency: near -1 to -2 in photographs
    "white",  # share of pixels with grey over 0.92
    "black",  # share of pixels with grey under 0.08
    "blueness",  # mean of blue - red
)
LUMA = np.array([0.299, 0.587, 0.114])
GREY_CHROMA = 0.04
EDGE, FLAT = 0.25, 0.01
COLOUR_BITS = 3
GREY_BINS = 32
SPECTRUM_BANDS = 6


def picture_features(pixels):
    """(m, len(PICTURE_FEATURES)) float64 for m uint8 pictures (m, h, w) or (m, h, w, channels).

    A grey picture counts as r = g = b; a fourth channel (alpha) is left out.
    """
    pixels = np.asarray(pixels)
    if len(pixels) == 0:
        return np.empty((0, len(PICTURE_FEATURES)))
    return np.vstack([batch_features(pixels[i : i + FEATURE_BATCH]) for i in range(0, len(pixels), FEATURE_BATCH)])


def batch_features(pixels):
    x = pixels.astype(np.float64) / 255
    if x.ndim == 3:
        x = x[..., None]
    rgb = x[..., :3] if x.shape[-1] >= 3 else np.repeat(x[..., :1], 3, axis=-1)
    m = len(rgb)
    grey = rgb @ LUMA
    chroma = rgb.max(axis=-1) - rgb.min(axis=-1)
    red_green = rgb[..., 0] - rgb[..., 1]
    yellow_blue = (rgb[..., 0] + rgb[..., 1]) / 2 - rgb[..., 2]
    gradient, laplacian = texture(grey)
    codes = colour_codes(pixels if pixels.ndim == 4 and pixels.shape[-1] >= 3 else np.round(rgb * 255))
    colours = counts_per_picture(codes, 2 ** (3 * COLOUR_BITS))
    grey_bins = np.minimum((grey * GREY_BINS).astype(np.int64), GREY_BINS - 1)
    histogram = counts_per_picture(grey_bins, GREY_BINS) / grey[0].size
    entropy = -np.sum(histogram * np.log(np.where(histogram > 0, histogram, 1)), axis=1)
    columns = {
        "brightness": over_pixels(grey, np.mean),
        "contrast": over_pixels(grey, np.std),
        "chroma": over_pixels(chroma, np.mean),
        "chroma_spread": over_pixels(chroma, np.std),
        "grey_share": over_pixels(chroma < GREY_CHROMA, np.mean),
        "colourfulness": np.hypot(over_pixels(red_green, np.std), over_pixels(yellow_blue, np.std))
        + 0.3 * np.hypot(over_pixels(red_green, np.mean), over_pixels(yellow_blue, np.mean)),
        "gradient": over_pixels(gradient, np.mean),
        "edges": over_pixels(gradient > EDGE, np.mean),
        "flat": over_pixels(gradient < FLAT, np.mean),
        "fineness": over_pixels(laplacian, np.mean) / (over_pixels(gradient, np.mean) + 0.01),
        "top_colour": colours.max(axis=1) / grey[0].size,
        "palette": np.count_nonzero(colours, axis=1) / colours.shape[1],
        "grey_entropy": entropy,
        "spectrum_slope": spectrum_slope(grey),
        "white": over_pixels(grey > 0.92, np.mean),
        "black": over_pixels(grey < 0.08, np.mean),
        "blueness": over_pixels(rgb[..., 2] - rgb[..., 0], np.mean),
    }
    assert tuple(columns) == PICTURE_FEATURES
    return np.stack([np.broadcast_to(c, m) for c in columns.values()], axis=1).astype(np.float64)


def over_pixels(values, statistic):
    """``statistic`` of each picture's (m, h, w) values; 0 for pictures too small to have any."""
    if values.shape[1] == 0 or values.shape[2] == 0:
        return np.zeros(len(values))
    return statistic(values, axis=(1, 2))


def texture(grey):
    """Per pixel: the size of grey's gradient sqrt(dx^2 + dy^2), and of its Laplacian 4g - (the 4 neighbours)."""
    dx = np.diff(grey, axis=2)[:, :-1, :]
    dy = np.diff(grey, axis=1)[:, :, :-1]
    inner = grey[:, 1:-1, 1:-1]
    laplacian = 4 * inner - grey[:, :-2, 1:-1] - grey[:, 2:, 1:-1] - grey[:, 1:-1, :-2] - grey[:, 1:-1, 2:]
    return np.hypot(dx, dy), np.abs(laplacian)


def colour_codes(rgb255):
    """Each pixel's colour in ``COLOUR_BITS`` bits a channel, as one number."""
    q = rgb255[..., :3].astype(np.int64) >> (8 - COLOUR_BITS)
    return (q[..., 0] << (2 * COLOUR_BITS)) | (q[..., 1] << COLOUR_BITS) | q[..., 2]


def counts_per_picture(codes, n):
    """(m, n): how many pixels of each picture have each code 0 .. n - 1."""
    m = len(codes)
    flat = (codes.reshape(m, -1) + n * np.arange(m)[:, None]).ravel()
    return np.bincount(flat, minlength=n * m).reshape(m, n)


def spectrum_slope(grey):
    """The least-squares slope of log mean amplitude against log frequency, over ``SPECTRUM_BANDS``
    octave-like bands from the lowest frequency to the highest; 0 when fewer than two bands hold any."""
    m, h, w = grey.shape
    if h < 2 or w < 2:
        return np.zeros(m)
    amplitude = np.abs(np.fft.rfft2(grey - grey.mean(axis=(1, 2), keepdims=True)))
    fy, fx = np.fft.fftfreq(h)[:, None], np.fft.rfftfreq(w)[None, :]
    radius = np.hypot(fy, fx)
    edges = np.geomspace(1 / max(h, w), 0.5 * np.sqrt(2), SPECTRUM_BANDS + 1)
    centres, levels = [], []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        band = (radius >= low) & (radius < high)
        if band.any():
            centres.append(np.log(np.sqrt(low * high)))
            in_band = np.ascontiguousarray(amplitude[:, band])  # rows summed each alone, in any batch
            levels.append(np.log(in_band.sum(axis=1) / in_band.shape[1] + 1e-9))
    if len(centres) < 2:
        return np.zeros(m)
    # summed a band at a time, elementwise: a picture's slope is the same to the bit whatever pictures come with it
    x = np.array(centres) - np.mean(centres)
    mean_level = sum(levels) / len(levels)
    return sum(xb * (level - mean_level) for xb, level in zip(x, levels, strict=True)) / (x @ x)


def ledoit_wolf_shrinkage(z):
    """Ledoit and Wolf's (2004) shrinkage s of the covariance S = z^T z / m of centred rows ``z`` towards
    mu I (mu = trace(S) / n): s = min(b^2, d^2) / d^2, d^2 = ||S - mu I||^2 / n the distance to the target,
    b^2 = (1 / m^2) sum_k ||z_k z_k^T - S||^2 / n the spread of the rows' outer products about S."""
    m, n = z.shape
    S = z.T @ z / m
    mu = np.trace(S) / n
    d2 = (np.sum(S * S) - 2 * mu * np.trace(S) + n * mu * mu) / n
    if d2 <= 0:
        return 1.0
    squares = z * z
    # sum_k ||z_k z_k^T||^2 = sum_k (z_k . z_k)^2, and sum_k <z_k z_k^T, S> = m ||S||^2
    b2 = (np.sum(squares.sum(axis=1) ** 2) / m - np.sum(S * S)) / (n * m)
    return float(min(b2, d2) / d2)


@dataclass
class Familiarity:
    """A fitted state: the training features' ``mean`` and ``scale``, the ``precision`` C^-1 of their
    shrunk correlation, the held-out distances' percentiles 0 .. 100 (``quantiles``), and ``threshold``."""

    mean: np.ndarray  # (n,)
    scale: np.ndarray  # (n,)
    precision: np.ndarray  # (n, n)
    quantiles: np.ndarray  # (QUANTILES,)
    threshold: float
    percent: float = PERCENT
    kind: str = "pictures"  # what the features describe: "pictures" (picture_features) or "rows"
    examples: int = 0
    shrinkage: float = 0.0
    diagonal: bool = False  # ``precision`` is (n,), the diagonal of an identity: past ``DIAGONAL_PAST`` features

    @property
    def features(self):
        return len(self.mean)

    def distances(self, features):
        """Mahalanobis distance of each row of ``features`` (m, n) from the training mean; inf past float's range."""
        return mahalanobis(np.asarray(features, dtype=np.float64), self.mean, self.scale, self.precision)

    def unfamiliarity(self, features, unseen=None):
        """Distance over the threshold, plus 1 for each category never seen in training (``unseen``, (m,)
        counts, for table rows): above 1 is unfamiliar."""
        score = self.distances(features) / self.threshold
        if unseen is not None:
            score = score + np.asarray(unseen, dtype=np.float64)
        return score

    def unfamiliar(self, features, unseen=None):
        return self.unfamiliarity(features, unseen) > 1

    def farther_than(self, distances):
        """The share of (held-out) training examples that lie nearer than each distance, from the percentiles."""
        return np.interp(distances, self.quantiles, np.linspace(0, 1, QUANTILES))

    @property
    def arrays(self):
        """The arrays a checkpoint stores (names without a prefix)."""
        return {name: getattr(self, name) for name in ARRAYS}

    @property
    def header(self):
        """The numbers and names a checkpoint's JSON header stores."""
        return {
            "kind": self.kind,
            "features": self.features,
            "threshold": self.threshold,
            "percent": self.percent,
            "examples": self.examples,
            "shrinkage": self.shrinkage,
            "diagonal": self.diagonal,
        }

    @classmethod
    def restored(cls, header, arrays):
        """A ``Familiarity`` from what ``header`` and ``arrays`` saved (checked by the caller: shapes from
        ``saved_shapes``, finite numbers, positive scale and threshold)."""
        fields = {name: header[name] for name in ("threshold", "percent", "kind", "examples", "shrinkage")}
        fields["diagonal"] = bool(header.get("diagonal", False))
        return cls(**{name: np.asarray(arrays[name], dtype=np.float64) for name in ARRAYS}, **fields)


ARRAYS = ("mean", "scale", "precision", "quantiles")


def saved_shapes(features, diagonal=False):
    """name -> shape of each array a ``Familiarity`` of ``features`` features saves: what a checkpoint checks."""
    precision = (features,) if diagonal else (features, features)
    return {"mean": (features,), "scale": (features,), "precision": precision, "quantiles": (QUANTILES,)}


def mahalanobis(features, mean, scale, precision):
    """sqrt(z^T P z) of each row's z = (x - mean) / scale (P a diagonal when it is one-dimensional); inf for a
    row past float's range."""
    z = (features - mean) / scale
    with np.errstate(over="ignore", invalid="ignore"):
        # einsum's own loops (no BLAS): a row's distance is the same to the bit whatever rows come with it
        squares = (
            np.einsum("ij,j->i", z * z, precision) if precision.ndim == 1 else np.einsum("ij,jk,ik->i", z, precision, z)
        )
        d = np.sqrt(np.maximum(squares, 0))
    return np.where(np.isfinite(d), d, np.inf)


def fit_distance(features):
    """(mean, scale, precision, shrinkage) of training ``features`` (m, n); past ``DIAGONAL_PAST`` features the
    precision is the diagonal of an identity (shrinkage 1)."""
    mean = features.mean(axis=0)
    scale = np.maximum(features.std(axis=0), SCALE_FLOOR)
    if features.shape[1] > DIAGONAL_PAST:
        return mean, scale, np.ones(features.shape[1]), 1.0
    z = (features - mean) / scale
    shrinkage = max(ledoit_wolf_shrinkage(z - z.mean(axis=0)), MIN_SHRINKAGE)
    correlation = z.T @ z / len(z)
    shrunk = (1 - shrinkage) * correlation + shrinkage * np.eye(z.shape[1])
    return mean, scale, np.linalg.inv(shrunk), shrinkage


def held_out_distances(features, folds=FOLDS, seed=FOLD_SEED):
    """Each example's distance under a fit on the other folds: what a new input like the training data scores."""
    order = np.random.default_rng(seed).permutation(len(features))
    distances = np.empty(len(features))
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        mean, scale, precision, _ = fit_distance(features[rest])
        distances[part] = mahalanobis(features[part], mean, scale, precision)
    return distances


def fit(features, kind="pictures", percent=PERCENT):
    """A ``Familiarity`` of training ``features`` (m, n), or None with fewer than ``MIN_EXAMPLES`` examples."""
    features = np.asarray(features, dtype=np.float64)
    if len(features) < MIN_EXAMPLES:
        return None
    mean, scale, precision, shrinkage = fit_distance(features)
    held_out = held_out_distances(features)
    quantiles = np.percentile(held_out, np.linspace(0, 100, QUANTILES))
    threshold = float(np.percentile(held_out, percent))
    return Familiarity(
        mean,
        scale,
        precision,
        quantiles,
        max(threshold, np.finfo(np.float64).eps),
        percent,
        kind,
        len(features),
        shrinkage,
        precision.ndim == 1,
    )
