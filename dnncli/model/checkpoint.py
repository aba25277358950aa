"""Checkpoints: a ``.npz`` of plain numeric arrays plus a small JSON header.

Arrays: ``W1, b1, ..., WL, bL``, optimizer state as ``state.<name>``, and
``header`` (UTF-8 JSON as uint8), which holds the input shape (its last size the
channels: 1 grey, 3 RGB) and ``fit``, how a picture is made that shape
(``data.fit``). Loading never unpickles (``allow_pickle=False``) and checks
everything before a single weight is used.

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
import math
import zipfile
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from ..data.encoding import from_header
from ..data.formats import DEFAULT_FIT, FITS
from ..engine import ACTIVATIONS, OUTPUT_ACTIVATIONS, THRESHOLD, Network
from ..engine.fastpath import FAST_A, FAST_C, FAST_CK, FAST_PATH_MAX_GRAM_BYTES, FAST_W1_0
from ..errors import RunFailure, UserError
from ..files import atomic_file, regular_file
from ..resources import available_memory
from ..text import gigabytes
from ..values import is_whole
from . import honesty

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
    path: object = None  # the file it was loaded from, for messages
    encoder: object = None  # a table model's ``encoding.Encoder``, checked against the network; None for pictures
    arrays: dict = field(default_factory=dict)  # arrays beside the weights: the familiarity's (``honesty.PREFIX``)

    @property
    def classes(self):
        return self.header["classes"]

    @property
    def takes_tables(self):
        return self.encoder is not None

    @property
    def regression(self):
        return self.net.output == "identity"

    @property
    def input_shape(self):
        return tuple(self.header["input_shape"])

    @property
    def pixel_scale(self):
        return self.header["scaling"]["divide_by"]

    @property
    def iteration(self):
        return self.header["iteration"]

    @property
    def fit(self):
        """How a picture is made the input's shape (``data.fit``); squash in checkpoints from before it was kept."""
        return self.header.get("fit", DEFAULT_FIT)

    @cached_property
    def familiarity(self):
        """How unlike the training inputs an input is (``familiarity.Familiarity``), or None when not saved."""
        return honesty.familiarity_of(self.header, self.arrays)

    @property
    def temperature(self):
        """What the logits are divided by before the output activation: 1 until the model is calibrated."""
        return self.header.get(honesty.CALIBRATION, {}).get("temperature", 1.0)

    @property
    def threshold(self):
        """The second class's probability above which a two-class model answers it: chosen from data, or 0.5."""
        return self.header.get(honesty.THRESHOLD, {}).get("threshold", THRESHOLD)

    @property
    def class_counts(self):
        """The training examples of each class, or None (regression, or a checkpoint from before they were kept)."""
        return self.header.get(honesty.CLASS_COUNTS)


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


def save(path, header, params, state=None, extra=None):
    """A checkpoint at ``path``: the header, the weights ``params``, optimizer ``state`` and ``extra`` arrays
    (the familiarity's, named as ``honesty.PREFIX`` says)."""
    text = json.dumps(header).encode("utf-8")
    if len(text) > MAX_HEADER_BYTES:  # never a file ``load`` refuses: what fills a header is checked before training
        raise RunFailure(
            f"{path}: a header of {len(text):,} bytes, more than the {MAX_HEADER_BYTES:,} a checkpoint holds"
        )
    arrays = {"header": np.frombuffer(text, dtype=np.uint8)}
    arrays.update(params)
    arrays.update(extra or {})
    for name, value in (state or {}).items():
        arrays[STATE_PREFIX + name] = np.asarray(value)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with atomic_file(path) as f:
        f.write(buffer.getbuffer())


# the JSON header holds the config, the history and a table's encoding: kilobytes, megabytes for a table of
# thousands of columns with their categories, never more than this
MAX_HEADER_BYTES = 64 * 2**20


def load(path):
    """A checked ``Checkpoint``; anything else ends in a ``UserError`` naming the file.

    Every member's declared shape and dtype (its ``.npy`` header) is checked
    against what the JSON header and the network imply before any array data
    is read, so a small file cannot make dnn read gigabytes.
    """
    regular_file(path, "checkpoint")
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise UserError(f"{path}: not a readable dnn checkpoint (not an .npz archive)") from None
    try:
        with archive:
            return read_checkpoint(archive, path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError, NotImplementedError) as e:
        # a damaged member: a bad CRC, a truncated stream, an unknown compression
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{path}: not a readable dnn checkpoint ({reason})") from None


def read_checkpoint(archive, path):
    members = {}
    for info in archive.infolist():
        name = info.filename.removesuffix(".npy")
        if name == info.filename or name in members:
            raise UserError(f"{path}: not a dnn checkpoint (member {info.filename!r} is not one .npy array)")
        members[name] = info
    if "header" not in members:
        raise UserError(f"{path}: not a dnn checkpoint (no header)")
    header_info = members.pop("header")
    if header_info.file_size > MAX_HEADER_BYTES:
        raise UserError(f"{path}: the header is {header_info.file_size:,} bytes, more than a header holds")
    with archive.open(header_info) as f:
        shape, dtype = check_declared(
            path, "header", declared(f, path, "header"), ((range(MAX_HEADER_BYTES + 1),), ("uint8",))
        )
        header = read_header(read_data(f, path, "header", shape, dtype), path)
    net = check_header(header, path)
    encoder = checked_encoder(header, net, path) if "table" in header else None
    check_fits_in_memory(net, header["dtype"], path)
    expected = expected_arrays(net, header["dtype"], header)
    for name in members:
        if name not in expected and not name.startswith(STATE_PREFIX):
            raise UserError(f"{path}: not a dnn checkpoint (it holds an array {name!r}, which no checkpoint has)")
        if name not in expected:
            raise UserError(f"{path}: array {name!r} is no optimizer state of this network")
    for name in [*net.array_names, *honesty.expected_arrays(header, net)]:
        if name not in members:
            raise UserError(f"{path}: array {name} is missing")
    arrays = {}
    for name, info in members.items():
        with archive.open(info) as f:
            shape, dtype = check_declared(path, name, declared(f, path, name), expected[name])
            if info.file_size < math.prod(shape) * dtype.itemsize:
                raise UserError(f"{path}: array {name} is truncated")
            arrays[name] = read_data(f, path, name, shape, dtype)
    params = {name: arrays.pop(name) for name in net.array_names}
    check_params(net, params, header["dtype"], path)
    extra = {name: arrays.pop(name) for name in honesty.expected_arrays(header, net)}
    if extra:
        honesty.check_arrays(extra, path)
    state = {name[len(STATE_PREFIX) :]: value for name, value in arrays.items()}
    return Checkpoint(net, params, state, header, path, encoder, extra)


def expected_arrays(net, dtype, header=None):
    """name -> (shape, dtypes) of every array a checkpoint of ``net`` (with ``header``) may hold; a range in a
    shape is the sizes allowed there."""
    shapes = {}
    for l in range(1, net.depth + 1):
        shapes[f"W{l}"] = (net.layers[l], net.layers[l - 1])
        shapes[f"b{l}"] = (net.layers[l], 1)
        if net.normalised(l):
            shapes.update({f"{kind}{l}": (net.layers[l], 1) for kind in ("gamma", "beta")})
    statistics = {
        f"{kind}{l}": (net.layers[l], 1)
        for l in range(1, net.depth)
        if net.normalised(l)
        for kind in ("running_mean", "running_var")
    }  # saved with the model, never trained: no optimizer state
    arrays = {name: (shape, (dtype,)) for name, shape in {**shapes, **statistics}.items()}
    # optimizer state: a velocity (v_), a mean (m_) and a mean square (s_) per parameter, Adam's step count t,
    # and the fast path's W1 = a W1_0 + C X^T, whose C has a column per training example
    examples = range(max(net.layers[0], math.isqrt(FAST_PATH_MAX_GRAM_BYTES // 8)) + 1)  # what the fast path takes
    fast = {FAST_W1_0: shapes["W1"], FAST_A: (), FAST_C: (net.layers[1], examples), FAST_CK: (net.layers[1], examples)}
    state = {name: (shape, FLOAT_TYPES) for name, shape in {**shapes, **fast}.items()}
    for name, (shape, dtypes) in state.items():
        for prefix in ("v_", "m_", "s_"):
            arrays[STATE_PREFIX + prefix + name] = (shape, dtypes)
    arrays.update({STATE_PREFIX + name: (shape, ("float64",)) for name, shape in fast.items()})
    arrays[STATE_PREFIX + "t"] = ((), ("int64", "int32"))
    arrays.update(honesty.expected_arrays(header or {}, net))
    return arrays


def declared(f, path, name):
    """(shape, dtype) that a .npy member's header declares, read without its data."""
    try:
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        else:
            raise ValueError(f"format version {version}")
    except (ValueError, EOFError, SyntaxError, TypeError, RecursionError, MemoryError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(f"{path}: array {name!r} is not a readable .npy array ({reason})") from None
    if fortran:
        raise UserError(f"{path}: array {name!r} is stored in Fortran order; dnn writes C order")
    return shape, dtype


def check_declared(path, name, found, wanted):
    """The declared (shape, dtype) of array ``name``, refused unless it is what the header implies."""
    (shape, dtype), (want_shape, want_dtypes) = found, wanted
    if dtype.hasobject:
        raise UserError(f"{path}: array {name} holds objects (Object arrays cannot be loaded: dnn never unpickles)")
    if dtype not in [np.dtype(d) for d in want_dtypes]:  # native byte order only
        if name == "header":
            raise UserError(f"{path}: the header is not JSON text")
        raise UserError(f"{path}: array {name} is {dtype}, the header says {' or '.join(want_dtypes)}")
    fits = len(shape) == len(want_shape) and all(
        n == w if isinstance(w, int) else n in w for n, w in zip(shape, want_shape, strict=False)
    )
    if not fits:
        if name == "header":
            raise UserError(f"{path}: the header is {shape} bytes, not JSON text of at most {MAX_HEADER_BYTES:,}")
        need = tuple(w if isinstance(w, int) else f"at most {w[-1]}" for w in want_shape)
        raise UserError(f"{path}: array {name} has shape {shape}, layer sizes need {need}")
    return shape, dtype


def read_data(f, path, name, shape, dtype):
    """The data of a .npy member whose header ``f`` has passed, into a new array (one copy, no more)."""
    array = np.empty(shape, dtype)
    view = memoryview(array.reshape(-1).view(np.uint8))
    done = 0
    while done < len(view):
        n = f.readinto(view[done:])
        if not n:
            raise UserError(f"{path}: array {name} is truncated")
        done += n
    return array


def check_fits_in_memory(net, dtype, path):
    """The weights a header describes, refused before they are read when this machine cannot hold them."""
    needed = sum(n * (previous + 1) for previous, n in zip(net.layers[:-1], net.layers[1:], strict=True))
    needed *= np.dtype(dtype).itemsize
    available = available_memory()
    if available is not None and needed > available:
        raise UserError(
            f"{path}: its layers {list(net.layers)} need {gigabytes(needed)} of weights, {gigabytes(available)} is available"
        )


def read_header(raw, path):
    try:
        header = json.loads(raw.tobytes().decode("utf-8"))
    except RecursionError:
        raise UserError(f"{path}: the header is not valid JSON (nested too deeply)") from None
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


def check_header(header, path):
    """The header's network description, checked field by field."""

    def bad(field, allowed):
        return UserError(f"{path}: header field {field!r} {allowed}, got {header.get(field)!r}")

    layers = header.get("layers")
    if not isinstance(layers, list) or len(layers) < 2 or not all(is_whole(n, 1) for n in layers):
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
    if len(set(classes)) != len(classes):  # a class's probability would hide another's of the same name
        raise bad("classes", "must name each class once")
    shape = header.get("input_shape")
    if not isinstance(shape, list) or not all(is_whole(n, 1) for n in shape) or math.prod(shape) != layers[0]:
        raise bad("input_shape", f"must be positive sizes whose product is the input size {layers[0]}")
    if not is_name_in(header.get("dtype"), FLOAT_TYPES):
        raise bad("dtype", "must be float32 or float64")
    scaling = header.get("scaling")
    divide_by = scaling.get("divide_by") if isinstance(scaling, dict) else None
    if isinstance(divide_by, bool) or not isinstance(divide_by, (int, float)) or not divide_by > 0:
        raise bad("scaling", "must be {'divide_by': a positive number}")
    check_scaling(divide_by, header["dtype"], path)
    iteration = header.get("iteration")
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise bad("iteration", "must be a whole number")
    if output == "sigmoid" and layers[-1] != 1:
        raise bad("layers", "must end in 1 for a sigmoid output")
    batch_norm = header.get("batch_norm", [False] * (len(layers) - 2))  # none in checkpoints older than it
    if (
        not isinstance(batch_norm, list)
        or len(batch_norm) != len(layers) - 2
        or not all(isinstance(b, bool) for b in batch_norm)
    ):
        raise bad("batch_norm", "must be a list of true or false, one per hidden layer")
    if header.get("fit", DEFAULT_FIT) not in FITS:
        raise bad("fit", f"must be one of {', '.join(FITS)}")
    epsilon = header.get("batch_norm_epsilon", Network.batch_norm_epsilon)  # the engine's default, as in configs
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise bad("batch_norm_epsilon", "must be a positive number")
    net = Network(tuple(layers), tuple(activations), output, tuple(batch_norm), float(epsilon))
    honesty.check_header(header, net, path)  # what it carries to doubt its answers by, where it has it
    return net


def checked_encoder(header, net, path):
    """A table model's encoder, checked against the network: its inputs are the first layer, its classes or
    targets the header's classes."""
    encoder = from_header(header["table"], path)
    if encoder.width != net.layers[0]:
        raise UserError(
            f"{path}: header field 'table' encodes {encoder.width} inputs, the first layer takes {net.layers[0]}"
        )
    if (encoder.task == "regression") != (net.output == "identity"):
        raise UserError(f"{path}: header field 'table' is for {encoder.task}, the output is {net.output}")
    names = encoder.classes if encoder.task == "classification" else encoder.target["columns"]
    if list(names) != list(header["classes"]):
        raise UserError(f"{path}: header field 'table' has other classes or targets than the header's 'classes'")
    return encoder


def scaling_range(dtype):
    """The divisors a ``dtype`` model can scale pixels by: 255 / divide_by stays below the largest float
    and 1 / divide_by above the smallest normal one, so no scaled pixel is inf or lost below it."""
    info = np.finfo(dtype)
    return 255 / float(info.max), 1 / float(info.tiny)


def check_scaling(divide_by, dtype, path):
    low, high = scaling_range(dtype)
    if not low <= divide_by <= high:  # exact for an int too large for a float: no conversion
        shown = (
            f"{divide_by:.6g}" if isinstance(divide_by, float) else f"an integer of {len(str(abs(divide_by))):,} digits"
        )
        raise UserError(
            f"{path}: divides pixels by {shown}; a {dtype} model takes a divisor from {low:.3g} to {high:.3g}"
        )


def check_params(net, params, dtype, path):
    for l in range(1, net.depth + 1):
        expected = {f"W{l}": (net.layers[l], net.layers[l - 1]), f"b{l}": (net.layers[l], 1)}
        if net.normalised(l):
            expected.update(
                {f"{kind}{l}": (net.layers[l], 1) for kind in ("gamma", "beta", "running_mean", "running_var")}
            )
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
