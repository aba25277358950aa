"""A trained model as an ONNX graph (`dnn export`): what the model takes in, the model's answer out.

A picture model takes uint8 pictures (N, H, W, C). The graph does what ``model.predict.classify`` does: cast the
pixels to the model's float type, flatten each picture, divide by the checkpoint's ``divide_by``, then each
layer's ``a W^T + b`` and activation, then the output: sigmoid as the two columns (1 - p, p), or softmax. A
second output, ``label``, is the index of the class ``dnn predict`` picks (for a sigmoid, above
``engine.THRESHOLD``, 0.5: the argmax of (1 - p, p), which takes the first of a tie, as ``>`` does; above the
checkpoint's own threshold where one was chosen from data, ``Greater``). A calibrated checkpoint's logits are
divided by its temperature (``Div``) before the output activation, as ``model.predict`` does; the unfamiliarity
of an input is not in the graph. Class
names, input shape (its last size the channels: 1 for a grey model), scaling, the ``fit`` a picture is made to
the input's shape by (``data.fit``, which the program feeding the graph does) and the dnn version go in the
metadata.

A table model takes the raw columns, one input (N,) per feature column named as the column: numbers and
booleans as float64 (NaN missing), categories as text (empty or a CSV file's missing spelling, ``NA`` and the
like, missing). Each column's encoding is built from its kind's entry in ``TABLE_KINDS`` (keyed as
``data.columns.KINDS``) out of the statistics training fitted, as ``Encoder.encode`` applies them; the inputs
are joined, cast to the model's float type, and go through the same layers. A classifier answers as a picture
model does; a regression model answers ``predicted`` (N, targets) in the targets' units, in float64.

``onnx`` is the optional ``export`` extra, imported only when a graph is built.
"""

import json
from dataclasses import dataclass

import numpy as np

from .. import __version__
from ..data.tables import MISSING
from ..engine import THRESHOLD
from ..engine.activations import LEAKY_SLOPE
from ..errors import UserError
from ..files import atomic_file
from .checkpoint import check_scaling

OPSET = 17
IR_VERSION = 8  # the IR of opset 17: readable by every onnxruntime since 1.13
ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 3  # opset 17's ML operators: LabelEncoder maps a table's categories to inputs
INPUT, PROBABILITIES, LABEL = "pictures", "probabilities", "label"
PREDICTED = "predicted"  # a regression model's output: (N, targets) in their units

# hidden activation -> ONNX operator; engine.activations.ACTIVATIONS has the same keys. leaky_relu is written
# max(z, slope z) with the slope in the model's float type: LeakyRelu's alpha is a float32 attribute, off by 2e-10
ONNX_ACTIVATIONS = {"relu": "Relu", "leaky_relu": None, "sigmoid": "Sigmoid", "tanh": "Tanh"}


def layer_weights(saved):
    """``(W, b, activation)`` for each layer in order, W of shape (n_l, n_{l-1}) and b of (n_l,).

    The one place that reads the checkpoint's weights: a layer with more than
    ``W a + b`` (batch normalisation) is folded into its W and b here.
    """
    net, params = saved.net, saved.params
    for l in range(1, net.depth + 1):
        activation = net.activations[l - 1] if l < net.depth else net.output
        W, b = params[f"W{l}"], params[f"b{l}"]
        if net.normalised(l):
            # gamma (W a + b - mean) / sqrt(var + eps) + beta = (s W) a + s (b - mean) + beta, s = gamma / sqrt(var + eps)
            s = params[f"gamma{l}"] / np.sqrt(params[f"running_var{l}"] + net.batch_norm_epsilon)
            W, b = s * W, s * (b - params[f"running_mean{l}"]) + params[f"beta{l}"]
        yield W, b.reshape(-1), activation


class Graph:
    """The nodes and initialisers of a graph being built. Every name it makes starts with ``prefix``, which no
    input of the graph starts with, so a table's columns may be called anything (``W1``, ``a0``)."""

    def __init__(self, dtype, path, prefix=""):
        from onnx import helper

        self.dtype, self.path, self.prefix = dtype, path, prefix
        self.float_type = helper.np_dtype_to_tensor_dtype(dtype)
        self.double = helper.np_dtype_to_tensor_dtype(np.dtype(np.float64))
        self.nodes, self.weights = [], {}

    def node(self, op, inputs, output, **attributes):
        """Adds an ``op`` node; returns the name of its output (``output`` under the prefix)."""
        from onnx import helper

        name = self.prefix + output
        self.nodes.append(helper.make_node(op, inputs, [name], **attributes))
        return name

    def output(self, op, inputs, name, **attributes):
        """Adds an ``op`` node whose output is the graph's output ``name`` (outside the prefix)."""
        from onnx import helper

        self.nodes.append(helper.make_node(op, inputs, [name], **attributes))
        return name

    def constant(self, name, value, dtype=None):
        """An initialiser holding ``value`` in ``dtype`` (default: the model's float type)."""
        from onnx import numpy_helper

        dtype = np.dtype(dtype or self.dtype)
        with np.errstate(over="ignore"):  # a weight too large for ``dtype`` is refused below
            array = np.asarray(value, dtype=dtype)
        if dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise UserError(f"{self.path}: {name} holds values beyond {dtype}; export it as float64")
        name = self.prefix + name
        self.weights.setdefault(name, numpy_helper.from_array(array, name))
        return name


def layers(graph, a, saved):
    """The network on rows ``a`` (N, inputs) in the model's float type: each hidden layer's ``a W^T + b`` and
    activation; returns the output layer's pre-activation ``z`` (N, outputs)."""
    with np.errstate(over="ignore", invalid="ignore"):  # a fold that overflows is refused by constant()
        weights = list(layer_weights(saved))
    for l, (W, b, activation) in enumerate(weights, start=1):
        z = graph.node("Gemm", [a, graph.constant(f"W{l}", W), graph.constant(f"b{l}", b)], f"z{l}", transB=1)
        if l == saved.net.depth:
            return z
        if activation == "leaky_relu":
            slope = graph.node("Mul", [z, graph.constant("slope", LEAKY_SLOPE)], f"s{l}")
            a = graph.node("Max", [z, slope], f"a{l}")
        else:
            a = graph.node(ONNX_ACTIVATIONS[activation], [z], f"a{l}")


def class_outputs(graph, z, saved):
    """``probabilities`` (N, K) and ``label`` (N,) from the output layer's ``z``: softmax, or a sigmoid's p as
    the two columns (1 - p, p)."""
    from onnx import TensorProto, helper

    if saved.temperature != 1:  # calibrated: z / T, as model.calibration does
        z = graph.node("Div", [z, graph.constant("temperature", saved.temperature)], "z_calibrated")
    if saved.net.output == "softmax":
        graph.output("Softmax", [z], PROBABILITIES, axis=1)
    else:
        p = graph.node("Sigmoid", [z], "p")
        q = graph.node("Sub", [graph.constant("one", 1), p], "q")
        graph.output("Concat", [q, p], PROBABILITIES, axis=1)
    if saved.net.output == "sigmoid" and saved.threshold != THRESHOLD:  # chosen from data: p above it
        above = graph.node("Greater", [p, graph.constant("threshold", saved.threshold)], "above")
        label = graph.node("Cast", [above], "above_label", to=TensorProto.INT64)
        graph.output("Reshape", [label, graph.constant("one_column", [-1], np.int64)], LABEL)
    else:
        graph.output("ArgMax", [PROBABILITIES], LABEL, axis=1, keepdims=0)
    return [
        helper.make_tensor_value_info(PROBABILITIES, graph.float_type, ["N", len(saved.classes)]),
        helper.make_tensor_value_info(LABEL, TensorProto.INT64, ["N"]),
    ]


def build_model(saved, dtype=None):
    """The ``onnx.ModelProto`` of checkpoint ``saved``, computing in ``dtype`` (default: the checkpoint's)."""
    import onnx
    from onnx import helper

    dtype = np.dtype(dtype or saved.header["dtype"])
    if saved.takes_tables:
        graph, inputs, outputs, about, opsets = table_graph(saved, dtype)
    else:
        graph, inputs, outputs, about, opsets = picture_graph(saved, dtype)
    model = helper.make_model(
        helper.make_graph(graph.nodes, "dnn", inputs, outputs, initializer=list(graph.weights.values())),
        opset_imports=[helper.make_opsetid(domain, version) for domain, version in opsets.items()],
        producer_name="dnn",
        producer_version=__version__,
        doc_string=about,
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(model, metadata(saved, dtype))
    onnx.checker.check_model(model, full_check=True)
    return model


def picture_graph(saved, dtype):
    """(graph, inputs, outputs, doc string, opsets) of a picture model: uint8 pictures in, probabilities out."""
    from onnx import TensorProto, helper

    check_scaling(saved.pixel_scale, dtype.name, saved.path)  # loading checked it for the checkpoint's dtype
    graph = Graph(dtype, saved.path)
    pixels = graph.node("Cast", [INPUT], "pixels", to=graph.float_type)
    rows = graph.node("Flatten", [pixels], "rows", axis=1)
    a0 = graph.node("Div", [rows, graph.constant("divide_by", saved.pixel_scale)], "a0")
    outputs = class_outputs(graph, layers(graph, a0, saved), saved)
    inputs = [helper.make_tensor_value_info(INPUT, TensorProto.UINT8, ["N", *saved.input_shape])]
    shape = ", ".join(map(str, saved.input_shape))
    return graph, inputs, outputs, f"uint8 pictures (N, {shape}) -> probabilities of {saved.classes}", {"": OPSET}


def metadata(saved, dtype):
    about = {
        "layers": json.dumps(list(saved.net.layers)),
        "activations": json.dumps(list(saved.net.activations)),
        "output": saved.net.output,
        "dtype": dtype.name,
        "iteration": str(saved.iteration),
        "dnn_version": __version__,
    }
    if not saved.regression:  # how the probabilities and the label are made: /T, and above the threshold
        about.update(temperature=json.dumps(saved.temperature), threshold=json.dumps(saved.threshold))
    if saved.takes_tables:
        return {**table_metadata(saved.encoder), **about}
    return {
        "classes": json.dumps(saved.classes),
        "input_shape": json.dumps(list(saved.input_shape)),
        "fit": saved.fit,
        "divide_by": json.dumps(saved.pixel_scale),
        **about,
    }


# --- tables ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableKind:
    input_type: type  # the NumPy type of the column's input: float64, or text
    encode: object  # (graph, input, statistics, i) -> the (N, width) float64 tensors of the column's inputs, in order


def as_column(graph, x, i, suffix=""):
    """A column's (N,) input as (N, 1)."""
    return graph.node("Unsqueeze", [x, graph.constant("axis1", [1], np.int64)], f"c{i}{suffix}.column")


def absent(graph, cells, i):
    """Where a number is missing: NaN, and infinity, which ``dnn predict`` refuses and a graph cannot."""
    nan = graph.node("IsNaN", [cells], f"c{i}.nan")
    return graph.node("Or", [nan, graph.node("IsInf", [cells], f"c{i}.inf")], f"c{i}.missing")


def with_indicator(graph, value, missing, stats, i):
    if not stats["missing"]:
        return [value]
    return [value, graph.node("Cast", [missing], f"c{i}.indicator", to=graph.double)]


def export_number(graph, x, stats, i):
    """(x - mean) / std, 0 where missing; the indicator."""
    cells = as_column(graph, x, i)
    missing = absent(graph, cells, i)
    centred = graph.node("Sub", [cells, graph.constant(f"c{i}.mean", stats["mean"], np.float64)], f"c{i}.centred")
    scaled = graph.node("Div", [centred, graph.constant(f"c{i}.std", stats["std"], np.float64)], f"c{i}.scaled")
    value = graph.node("Where", [missing, graph.constant("zero", 0.0, np.float64), scaled], f"c{i}.value")
    return with_indicator(graph, value, missing, stats, i)


def export_boolean(graph, x, stats, i):
    """0 or 1, the training share of 1s where missing; the indicator."""
    cells = as_column(graph, x, i)
    missing = absent(graph, cells, i)
    filled = graph.constant(f"c{i}.mean", stats["mean"], np.float64)
    return with_indicator(graph, graph.node("Where", [missing, filled, cells], f"c{i}.value"), missing, stats, i)


def export_category(graph, x, stats, i):
    """One-hot: each cell's input (``encode_category``'s positions) by a ``LabelEncoder``, then compared with
    each input's position. Missing text goes to the missing input, or to none; an unseen category to ``other``,
    or to none."""
    kept = len(stats["categories"])
    other = kept if stats["other"] else -1
    missing = kept + bool(stats["other"]) if stats["missing"] else -1
    spellings = [text for text in MISSING if text not in stats["categories"]]
    position = graph.node(
        "LabelEncoder", [x], f"c{i}.position", domain=ML_DOMAIN,
        keys_strings=stats["categories"] + spellings,
        values_int64s=list(range(kept)) + [missing] * len(spellings),
        default_int64=other,
    )  # fmt: skip
    width = kept + bool(stats["other"]) + bool(stats["missing"])
    positions = graph.constant(f"c{i}.positions", np.arange(width), np.int64)
    hot = graph.node("Equal", [as_column(graph, position, i, ".position"), positions], f"c{i}.hot")
    return [graph.node("Cast", [hot], f"c{i}.value", to=graph.double)]


TABLE_KINDS = {  # keyed as data.columns.KINDS (a test checks)
    "number": TableKind(np.float64, export_number),
    "category": TableKind(np.str_, export_category),
    "boolean": TableKind(np.float64, export_boolean),
}


def tensor_type(numpy_type):
    from onnx import TensorProto, helper

    return TensorProto.STRING if numpy_type is np.str_ else helper.np_dtype_to_tensor_dtype(np.dtype(numpy_type))


def table_graph(saved, dtype):
    """(graph, inputs, outputs, doc string, opsets) of a table model: a (N,) input per feature column, the
    probabilities and label or the predicted values out."""
    from onnx import helper

    encoder = saved.encoder
    names = encoder.feature_columns
    answers = [PREDICTED] if saved.regression else [PROBABILITIES, LABEL]
    for name in names:
        if name in answers:
            raise UserError(
                f"{saved.path}: feature column {name!r} has the name of the ONNX graph's output {name!r}; "
                "a graph's names are unique, so this model cannot be exported"
            )
    prefix = "dnn."
    while any(name.startswith(prefix) for name in names):
        prefix = "_" + prefix
    graph = Graph(dtype, saved.path, prefix)
    inputs, pieces = [], []
    for i, column in enumerate(encoder.columns):
        kind = TABLE_KINDS[column["kind"]]
        inputs.append(helper.make_tensor_value_info(column["name"], tensor_type(kind.input_type), ["N"]))
        pieces += kind.encode(graph, column["name"], column, i)
    joined = graph.node("Concat", pieces, "inputs", axis=1)
    z = layers(graph, graph.node("Cast", [joined], "a0", to=graph.float_type), saved)
    if saved.regression:
        targets = encoder.target["columns"]
        values = graph.node("Cast", [z], "standardised", to=graph.double)
        scaled = graph.node("Mul", [values, graph.constant("target.std", encoder.target["std"], np.float64)], "scaled")
        graph.output("Add", [scaled, graph.constant("target.mean", encoder.target["mean"], np.float64)], PREDICTED)
        outputs = [helper.make_tensor_value_info(PREDICTED, graph.double, ["N", len(targets)])]
        about = f"a table's {len(names)} columns, (N,) each -> predicted {', '.join(targets)}"
    else:
        outputs = class_outputs(graph, z, saved)
        about = f"a table's {len(names)} columns, (N,) each -> probabilities of {saved.classes}"
    return graph, inputs, outputs, about, {"": OPSET, ML_DOMAIN: ML_OPSET}


def table_metadata(encoder):
    answer = (
        {"classes": encoder.classes} if encoder.task == "classification" else {"targets": encoder.target["columns"]}
    )
    return {
        "data": "table",
        "columns": json.dumps(encoder.described_columns()),
        "missing_text": json.dumps(MISSING),
        "task": encoder.task,
        **{key: json.dumps(value) for key, value in answer.items()},
    }


def export(saved, path, dtype=None):
    """Write ``saved`` as an ONNX file at ``path`` (atomically); returns its size in bytes."""
    data = build_model(saved, dtype).SerializeToString()
    with atomic_file(path, output=True) as f:
        f.write(data)
    return len(data)
