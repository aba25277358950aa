"""Checkpoints: a ``.npz`` of plain numeric arrays plus a small JSON header.

Arrays: ``W1, b1, ..., WL, bL``, optimizer state as ``state.<name>``, and
``header`` (UTF-8 JSON as uint8). Loading never unpickles
(``allow_pickle=False``) and checks everything before a single weight is used.

A hidden layer l with batch norm (the header's ``batch_norm``, one bool per hidden
layer, and ``batch_norm_epsilon``) adds four (n_l, 1) arrays beside ``Wl, bl``:
``gammal`` and ``betal`` (scale and shift, trained) and ``running_meanl`` and
``running_varl`` (the running statistics, not optimizer state). At inference the
layer computes ``gamma (W A + b - running_mean) / sqrt(running_var + eps) + beta``
before its activation (ONNX's BatchNormalization with scale=gamma, B=beta,
input_mean=running_mean, input_var=running_var, epsilon); folded into the weights,
``W' = s W`` and ``b' = s (b - running_mean) + beta`` with ``s = gamma / sqrt(running_var + eps)``.
"""

import io
import json
import zipfile
from dataclasses import dataclass

import numpy as np

from ..engine import ACTIVATIONS, OUTPUT_ACTIVATIONS, Network
from ..errors import UserError
from ..files import atomic_file

FORMAT = "dnn-checkpoint"
VERSION = 1
STATE_PREFIX = "state."
FLOAT_TYPES = ("float32", "float64")


@dataclass
class Checkpoint:
    net: Network
    params: dict
    state: dict
    header: dict

    @property
    def classes(self):
        return self.header["classes"]

    @property
    def input_shape(self):
        return tuple(self.header["input_shape"])

    @property
    def pixel_scale(self):
        return self.header["scaling"]["divide_by"]

    @property
    def iteration(self):
        return self.header["iteration"]


def make_header(net, classes, input_shape, pixel_scale, dtype, iteration, **extra):
    return {
        "format": FORMAT,
        "version": VERSION,
        "layers": list(net.layers),
        "activations": list(net.activations),
        "output": net.output,
        "classes": list(classes),
        "input_shape": list(input_shape),
        "scaling": {"divide_by": pixel_scale},
        "dtype": dtype,
        "iteration": iteration,
        "batch_norm": list(net.batch_norm),
        "batch_norm_epsilon": net.batch_norm_epsilon,
        **extra,
    }


def save(path, header, params, state=None):
    arrays = {"header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8)}
    arrays.update(params)
    for name, value in (state or {}).items():
        arrays[STATE_PREFIX + name] = np.asarray(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with atomic_file(path) as f:
        f.write(buffer.getbuffer())


def load(path):
    """A checked ``Checkpoint``; anything else ends in a ``UserError`` naming the file."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except FileNotFoundError:
        raise UserError(f"{path}: no such checkpoint") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, not a checkpoint") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError, RuntimeError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{path}: not a readable dnn checkpoint ({reason})") from None
    if not isinstance(arrays, dict) or "header" not in arrays:
        raise UserError(f"{path}: not a dnn checkpoint (no header)")
    header = read_header(arrays.pop("header"), path)
    net = check_header(header, path)
    params = {}
    for name in net.array_names:
        if name not in arrays:
            raise UserError(f"{path}: array {name} is missing")
        params[name] = arrays.pop(name)
    check_params(net, params, header["dtype"], path)
    state = {}
    for name in list(arrays):
        if not name.startswith(STATE_PREFIX):
            raise UserError(f"{path}: unexpected array {name!r}")
        value = arrays.pop(name)
        if value.dtype.kind not in "fiu" or value.dtype.hasobject:
            raise UserError(f"{path}: array {name!r} is not numeric ({value.dtype})")
        state[name[len(STATE_PREFIX) :]] = value
    return Checkpoint(net, params, state, header)


def read_header(raw, path):
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise UserError(f"{path}: the header is not JSON text")
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise UserError(f"{path}: the header is not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise UserError(
            f"{path}: not a dnn checkpoint (format {header.get('format') if isinstance(header, dict) else None!r})"
        )
    if header.get("version") != VERSION:
        raise UserError(
            f"{path}: checkpoint format version {header.get('version')!r}; this dnn reads version {VERSION}"
        )
    return header


def is_name_in(value, table):
    return isinstance(value, str) and value in table


def is_positive_int(value):
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def check_header(header, path):
    """The header's network description, checked field by field."""

    def bad(field, allowed):
        return UserError(f"{path}: header field {field!r} {allowed}, got {header.get(field)!r}")

    layers = header.get("layers")
    if not isinstance(layers, list) or len(layers) < 2 or not all(is_positive_int(n) for n in layers):
        raise bad("layers", "must be a list of at least two positive sizes")
    activations = header.get("activations")
    if (
        not isinstance(activations, list)
        or len(activations) != len(layers) - 2
        or not all(is_name_in(a, ACTIVATIONS) for a in activations)
    ):
        raise bad("activations", f"must name one of {', '.join(ACTIVATIONS)} per hidden layer")
    output = header.get("output")
    if not is_name_in(output, OUTPUT_ACTIVATIONS):
        raise bad("output", f"must be one of {', '.join(OUTPUT_ACTIVATIONS)}")
    classes = header.get("classes")
    n_classes = 2 if output == "sigmoid" else layers[-1]
    if not isinstance(classes, list) or len(classes) != n_classes or not all(isinstance(c, str) for c in classes):
        raise bad("classes", f"must be a list of {n_classes} class names")
    shape = header.get("input_shape")
    if not isinstance(shape, list) or not all(is_positive_int(n) for n in shape) or int(np.prod(shape)) != layers[0]:
        raise bad("input_shape", f"must be positive sizes whose product is the input size {layers[0]}")
    scaling = header.get("scaling")
    divide_by = scaling.get("divide_by") if isinstance(scaling, dict) else None
    if isinstance(divide_by, bool) or not isinstance(divide_by, (int, float)) or not divide_by > 0:
        raise bad("scaling", "must be {'divide_by': a positive number}")
    if not is_name_in(header.get("dtype"), FLOAT_TYPES):
        raise bad("dtype", "must be float32 or float64")
    iteration = header.get("iteration")
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise bad("iteration", "must be a whole number")
    if output == "sigmoid" and layers[-1] != 1:
        raise bad("layers", "must end in 1 for a sigmoid output")
    batch_norm = header.get("batch_norm", [False] * (len(layers) - 2))  # none in checkpoints older than it
    if not isinstance(batch_norm, list) or len(batch_norm) != len(layers) - 2 or not all(isinstance(b, bool) for b in batch_norm):
        raise bad("batch_norm", "must be a list of true or false, one per hidden layer")
    epsilon = header.get("batch_norm_epsilon", 1e-5)
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise bad("batch_norm_epsilon", "must be a positive number")
    return Network(tuple(layers), tuple(activations), output, tuple(batch_norm), float(epsilon))


def check_params(net, params, dtype, path):
    for l in range(1, net.depth + 1):
        expected = {f"W{l}": (net.layers[l], net.layers[l - 1]), f"b{l}": (net.layers[l], 1)}
        if net.normalised(l):
            expected.update({f"{kind}{l}": (net.layers[l], 1) for kind in ("gamma", "beta", "running_mean", "running_var")})
        for name, shape in expected.items():
            value = params[name]
            if value.dtype != np.dtype(dtype):
                raise UserError(f"{path}: array {name} is {value.dtype}, the header says {dtype}")
            if value.shape != shape:
                raise UserError(f"{path}: array {name} has shape {value.shape}, layer sizes need {shape}")
            if not np.all(np.isfinite(value)):
                raise UserError(f"{path}: array {name} holds nan or inf")
        if net.normalised(l) and np.any(params[f"running_var{l}"] < 0):
            raise UserError(f"{path}: array running_var{l} holds a negative variance")
