"""A trained model as an ONNX graph (`dnn export`): uint8 pictures (N, H, W, C) in, class probabilities out.

The graph does what ``model.predict.classify`` does: cast the pixels to the
model's float type, flatten each picture, divide by the checkpoint's
``divide_by``, then each layer's ``a W^T + b`` and activation, then the output:
sigmoid as the two columns (1 - p, p), or softmax. A second output, ``label``,
is the index of the class ``dnn predict`` picks (for a sigmoid, above ``engine.THRESHOLD``, 0.5: the argmax of
(1 - p, p), which takes the first of a tie, as ``>`` does; above the checkpoint's own threshold where one was
chosen from data, ``Greater``). A calibrated checkpoint's logits are divided by its temperature (``Div``) before
the output activation, as ``model.predict`` does. The unfamiliarity of an input is not in the graph.
Class names, input shape (its last size the channels: 1 for a grey model), scaling, the
``fit`` a picture is made to the input's shape by (``data.fit``, which the program
feeding the graph does) and the dnn version go in the metadata.

``onnx`` is the optional ``export`` extra, imported only when a graph is built.
"""

import json

import numpy as np

from .. import __version__
from ..engine import THRESHOLD
from ..engine.activations import LEAKY_SLOPE
from ..errors import UserError
from ..files import atomic_file
from .checkpoint import check_scaling

OPSET = 17
IR_VERSION = 8  # the IR of opset 17: readable by every onnxruntime since 1.13
INPUT, PROBABILITIES, LABEL = "pictures", "probabilities", "label"

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


def build_model(saved, dtype=None):
    """The ``onnx.ModelProto`` of checkpoint ``saved``, computing in ``dtype`` (default: the checkpoint's)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    dtype = np.dtype(dtype or saved.header["dtype"])
    float_type = helper.np_dtype_to_tensor_dtype(dtype)
    nodes, weights = [], {}

    def constant(name, value):
        with np.errstate(over="ignore"):  # a weight too large for ``dtype`` is refused below
            array = np.asarray(value, dtype=dtype)
        if not np.all(np.isfinite(array)):
            raise UserError(f"{saved.path}: {name} holds values beyond {dtype}; export it as float64")
        weights.setdefault(name, numpy_helper.from_array(array, name))
        return name

    check_scaling(saved.pixel_scale, dtype.name, saved.path)  # loading checked it for the checkpoint's dtype

    nodes.append(helper.make_node("Cast", [INPUT], ["pixels"], to=float_type))
    nodes.append(helper.make_node("Flatten", ["pixels"], ["rows"], axis=1))
    nodes.append(helper.make_node("Div", ["rows", constant("divide_by", saved.pixel_scale)], ["a0"]))
    a = "a0"
    with np.errstate(over="ignore", invalid="ignore"):  # a fold that overflows is refused by constant()
        layers = list(layer_weights(saved))
    for l, (W, b, activation) in enumerate(layers, start=1):
        z = f"z{l}"
        nodes.append(helper.make_node("Gemm", [a, constant(f"W{l}", W), constant(f"b{l}", b)], [z], transB=1))
        if l == saved.net.depth and saved.temperature != 1:  # calibrated: z / T, as model.calibration does
            nodes.append(helper.make_node("Div", [z, constant("temperature", saved.temperature)], ["z_calibrated"]))
            z = "z_calibrated"
        a = f"a{l}"
        if activation == "softmax":
            nodes.append(helper.make_node("Softmax", [z], [PROBABILITIES], axis=1))
        elif activation == "sigmoid" and l == saved.net.depth:
            nodes.append(helper.make_node("Sigmoid", [z], ["p"]))
            nodes.append(helper.make_node("Sub", [constant("one", 1), "p"], ["q"]))
            nodes.append(helper.make_node("Concat", ["q", "p"], [PROBABILITIES], axis=1))
        elif activation == "leaky_relu":
            nodes.append(helper.make_node("Mul", [z, constant("slope", LEAKY_SLOPE)], [f"s{l}"]))
            nodes.append(helper.make_node("Max", [z, f"s{l}"], [a]))
        else:
            nodes.append(helper.make_node(ONNX_ACTIVATIONS[activation], [z], [a]))
    if saved.net.output == "sigmoid" and saved.threshold != THRESHOLD:  # chosen from data: p above it
        weights["one_column"] = numpy_helper.from_array(np.array([-1], dtype=np.int64), "one_column")
        nodes.append(helper.make_node("Greater", ["p", constant("threshold", saved.threshold)], ["above"]))
        nodes.append(helper.make_node("Cast", ["above"], ["above_label"], to=TensorProto.INT64))
        nodes.append(helper.make_node("Reshape", ["above_label", "one_column"], [LABEL]))
    else:
        nodes.append(helper.make_node("ArgMax", [PROBABILITIES], [LABEL], axis=1, keepdims=0))

    classes = saved.classes
    graph = helper.make_graph(
        nodes,
        "dnn",
        [helper.make_tensor_value_info(INPUT, TensorProto.UINT8, ["N", *saved.input_shape])],
        [
            helper.make_tensor_value_info(PROBABILITIES, float_type, ["N", len(classes)]),
            helper.make_tensor_value_info(LABEL, TensorProto.INT64, ["N"]),
        ],
        initializer=list(weights.values()),
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="dnn",
        producer_version=__version__,
        doc_string=f"uint8 pictures (N, {', '.join(map(str, saved.input_shape))}) -> probabilities of {classes}",
    )
    model.ir_version = IR_VERSION
    helper.set_model_props(model, metadata(saved, dtype))
    onnx.checker.check_model(model, full_check=True)
    return model


def metadata(saved, dtype):
    return {
        "classes": json.dumps(saved.classes),
        "input_shape": json.dumps(list(saved.input_shape)),
        "fit": saved.fit,
        "divide_by": json.dumps(saved.pixel_scale),
        "layers": json.dumps(list(saved.net.layers)),
        "activations": json.dumps(list(saved.net.activations)),
        "output": saved.net.output,
        "dtype": dtype.name,
        "iteration": str(saved.iteration),
        "temperature": json.dumps(saved.temperature),
        "threshold": json.dumps(saved.threshold),
        "dnn_version": __version__,
    }


def export(saved, path, dtype=None):
    """Write ``saved`` as an ONNX file at ``path`` (atomically); returns its size in bytes."""
    data = build_model(saved, dtype).SerializeToString()
    with atomic_file(path) as f:
        f.write(data)
    return len(data)
