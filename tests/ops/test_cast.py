"""Cast vs onnxruntime: float32 to float64/float16/int32/int64/uint8/bool and int64 back to float."""

import numpy as np
import pytest

import cnnrt
from onnx import TensorProto, helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("to", [TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.INT32, TensorProto.INT64,
                                TensorProto.UINT8, TensorProto.BOOL, TensorProto.FLOAT])
def test_cast(to, backend):
    rng = np.random.default_rng(to)
    node = helper.make_node("Cast", ["x"], ["y"], to=to)
    model = make_model([node], [("x", [3, 5])], [("y", None, to)], opset=13)
    x = random_input((3, 5), rng) * 10
    if to == TensorProto.UINT8:
        x = np.abs(x)  # negative floats to unsigned is undefined behaviour
    if backend == "cpu" and to != TensorProto.FLOAT:
        # the cpu engine computes in float32 only: other runtime dtypes are refused, clearly,
        # without fallback; by default the cast falls back to the reference backend
        with pytest.raises(cnnrt.UnsupportedOpError, match="cpu backend"):
            cnnrt.load(model, backend="cpu", fallback=False).run({"x": x})
        report = cnnrt.load(model, backend="cpu").compiled().report
        assert set(report["node_backends"].values()) == {"reference"}, report
    check_model(model, {"x": x}, backend, rtol=1e-3 if to == TensorProto.FLOAT16 else 1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_cast_int_to_float(backend):
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Cast", ["s"], ["y"], to=TensorProto.FLOAT)]
    model = make_model(nodes, [("x", [2, 7])], [("y", None)], opset=13)
    check_model(model, {"x": random_input((2, 7), rng)}, backend)
