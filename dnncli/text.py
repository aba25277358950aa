"""How a path, a count and a size read in any message: one meaning per name, across the package."""

import json
import math
from pathlib import Path


def short_path(path):
    """A path as short as it is clear: relative to the current folder when it lies below it."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def plural(n, noun, nouns=None):
    """``1 picture``, ``2 pictures``, ``3 classes``: the one way a count and its noun read in any message;
    ``nouns`` for a plural made otherwise (``categories``)."""
    if n == 1:
        return f"{n} {noun}"
    return f"{n} {nouns or noun + ('es' if noun.endswith(('s', 'x', 'ch', 'sh')) else 's')}"


def decimal_size(n):
    """Bytes in 1000-based units, as disks and files are sized: ``4.4 MB``."""
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000


def binary_size(n):
    """Bytes in 1024-based units, as memory is sized: ``1.2 MiB``."""
    if n < 1024:
        return f"{n:,} bytes"
    return f"{n / 1024:.1f} KiB" if n < 1024**2 else f"{n / 1024**2:.1f} MiB"


def gigabytes(n):
    """Bytes of memory in 1024-based gigabytes, as the memory checks say them: ``1.5 GB``."""
    return f"{n / 2**30:.1f} GB"


def finite_json(value):
    """``value`` with each float that is nan or infinite as None: JSON has no NaN or Infinity (RFC 8259)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: finite_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(item) for item in value]
    return value


def json_text(value, indent=None):
    """Valid JSON of ``value``, a number that is not finite written as null."""
    return json.dumps(finite_json(value), indent=indent, allow_nan=False)
