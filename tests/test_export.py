"""`dnn export`: the ONNX file passes onnx.checker and gives dnn's probabilities under onnxruntime."""

import json
import sys

import h5py
import numpy as np
import pytest

from conftest import train_run, write_config

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from dnncli import __version__  # noqa: E402
from dnncli.extras import install_command  # noqa: E402
from dnncli.model import checkpoint  # noqa: E402
from dnncli.model.predict import classify  # noqa: E402


def exported(dnn, run, out, *args):
    result = dnn("export", "--run", run, "--out", out, *args)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == str(out)
    return out


def run_onnx(path, pictures):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"pictures": pictures})


def assert_same_as_dnn(dnn, run, pictures, tmp_path, tolerance32=1e-6):
    """The float32 export within ``tolerance32`` of dnn, the float64 export within 1e-12, the same classes."""
    saved = checkpoint.load(run / "checkpoint.npz")
    probabilities, labels = classify(saved, pictures)
    for dtype, tolerance in (("float32", tolerance32), ("float64", 1e-12)):
        path = exported(dnn, run, tmp_path / f"{dtype}.onnx", "--dtype", dtype)
        onnx.checker.check_model(onnx.load(str(path)), full_check=True)
        out, label = run_onnx(path, pictures)
        assert out.dtype == np.dtype(dtype) and out.shape == (len(pictures), len(saved.classes))
        np.testing.assert_allclose(out, probabilities.T, rtol=0, atol=tolerance)
        np.testing.assert_array_equal(label, labels)
        one, one_label = run_onnx(path, pictures[3:4])  # any N
        np.testing.assert_allclose(one, probabilities.T[3:4], rtol=0, atol=tolerance)
        assert one_label[0] == labels[3]


def test_demo_model_matches_dnn(demo_run, demo_data, dnn, tmp_path):
    with h5py.File(demo_data / "test.h5") as f:
        pictures = f["test_set_x"][:]
    assert_same_as_dnn(dnn, demo_run, pictures, tmp_path)


def test_softmax_model_matches_dnn(softmax_run, three_class_data, dnn, tmp_path):
    with h5py.File(three_class_data / "test.h5") as f:
        pictures = f["test_set_x"][:]
    assert_same_as_dnn(dnn, softmax_run, pictures, tmp_path)


def test_cat_model_matches_dnn_on_the_cat_test_set(cat_data, dnn, tmp_path):
    config = write_config(
        tmp_path / "cat.yaml",
        cat_data,
        data={"train": str(cat_data / "train_catvnoncat.h5"), "test": str(cat_data / "test_catvnoncat.h5")},
        model={"layers": [12288, 20, 7, 5, 1], "activation": "leaky_relu"},
        training={"learning_rate": 0.0075, "iterations": 150},
    )
    run = train_run(tmp_path, config)
    with h5py.File(cat_data / "test_catvnoncat.h5") as f:
        pictures = f["test_set_x"][:]
    assert_same_as_dnn(dnn, run, pictures, tmp_path)


def test_batch_norm_is_folded_into_the_weights(demo_data, dnn, tmp_path):
    config = write_config(
        tmp_path / "bn.yaml",
        demo_data,
        model={"layers": [12288, 8, 4, 1], "batch_norm": True},
        training={"learning_rate": 0.05, "iterations": 30, "batch_size": 64},
    )
    run = train_run(tmp_path, config)
    saved = checkpoint.load(run / "checkpoint.npz")
    assert saved.net.has_batch_norm and not np.all(saved.params["running_var1"] == 1)  # statistics were kept
    with h5py.File(demo_data / "test.h5") as f:
        pictures = f["test_set_x"][:]
    assert_same_as_dnn(dnn, run, pictures, tmp_path)
    graph = onnx.load(str(tmp_path / "float64.onnx")).graph
    assert "BatchNormalization" not in {node.op_type for node in graph.node}  # folded, one Gemm a layer
    assert sum(node.op_type == "Gemm" for node in graph.node) == 3


def test_metadata_says_what_the_model_takes(demo_run, dnn, tmp_path):
    model = onnx.load(str(exported(dnn, demo_run, tmp_path / "m.onnx")))
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["classes"]) == ["plain", "shape"]
    assert json.loads(meta["input_shape"]) == [64, 64, 3]
    assert meta["dnn_version"] == __version__ and json.loads(meta["divide_by"]) == 255.0
    assert meta["output"] == "sigmoid" and json.loads(meta["layers"]) == [12288, 8, 4, 1]
    [picture] = model.graph.input
    dims = picture.type.tensor_type.shape.dim
    assert picture.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert dims[0].dim_param == "N" and [d.dim_value for d in dims[1:]] == [64, 64, 3]


def test_best_and_errors(demo_run, dnn, tmp_path, monkeypatch):
    result = dnn("export", "--run", demo_run, "--best", "--out", tmp_path / "b.onnx")
    assert result.exit_code == 2 and "best.npz" in result.stderr  # the demo run has no validation set
    result = dnn("export", "--run", demo_run, "--out", tmp_path / "no" / "m.onnx")
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert dnn("export", "--run", demo_run).exit_code == 2  # --out is required
    monkeypatch.setitem(sys.modules, "onnx", None)  # as when the export extra is not installed
    result = dnn("export", "--run", demo_run, "--out", tmp_path / "m.onnx")
    assert result.exit_code == 2 and install_command("export") in result.stderr
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("activations", [["tanh", "sigmoid"], ["leaky_relu", "relu"]])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_hidden_activation_on_a_grey_model(activations, dtype, dnn, tmp_path):
    """A (6, 5) grey model with random weights, saved as training saves one: every hidden activation in ONNX."""
    from dnncli.engine import Network

    rng = np.random.default_rng(3)
    net = Network((30, 7, 4, 3), tuple(activations), "softmax")
    params = {}
    for l in range(1, net.depth + 1):
        params[f"W{l}"] = rng.normal(0, 1, (net.layers[l], net.layers[l - 1])).astype(dtype)
        params[f"b{l}"] = rng.normal(0, 1, (net.layers[l], 1)).astype(dtype)
    header = checkpoint.make_header(net, ["a", "b", "c"], (6, 5), 255.0, dtype, 10)
    checkpoint.save(tmp_path / "grey.npz", header, params)
    saved = checkpoint.load(tmp_path / "grey.npz")
    pictures = rng.integers(0, 256, (50, 6, 5), dtype=np.uint8)
    result = dnn("export", "--checkpoint", tmp_path / "grey.npz", "--out", tmp_path / "grey.onnx")
    assert result.exit_code == 0, result.output
    probabilities, labels = classify(saved, pictures)
    out, label = run_onnx(tmp_path / "grey.onnx", pictures)
    np.testing.assert_allclose(out, probabilities.T, rtol=0, atol=1e-6 if dtype == "float32" else 1e-12)
    np.testing.assert_array_equal(label, labels)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda h, p: p.update(W2=p["W2"] * 1e39), "W2 holds values beyond float32; export it as float64"),
        (
            lambda h, p: h.update(scaling={"divide_by": 1e-300}),
            "divides pixels by 1e-300; a float32 model takes a divisor",
        ),
    ],
    ids=["weights", "scaling"],
)
def test_what_float32_cannot_hold_is_refused_when_a_float64_model_is_exported_as_float32(
    demo_run, dnn, tmp_path, change, message
):
    saved = checkpoint.load(demo_run / "checkpoint.npz")
    header, params = dict(saved.header), dict(saved.params)
    change(header, params)
    checkpoint.save(tmp_path / "m.npz", header, params, extra=saved.arrays)
    assert dnn("export", "--checkpoint", tmp_path / "m.npz", "--out", tmp_path / "m.onnx").exit_code == 0
    result = dnn("export", "--checkpoint", tmp_path / "m.npz", "--out", tmp_path / "f.onnx", "--dtype", "float32")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith(f"Error: {tmp_path / 'm.npz'}: {message}") and len(result.stderr.splitlines()) == 1
    assert "Warning" not in result.stderr and not (tmp_path / "f.onnx").exists()
