"""Constant vs onnxruntime: value (tensor), value_float(s), value_int(s), each used by a
computation on a runtime input, and a Constant that is itself a graph output."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["value", "value_float", "value_floats", "value_int", "value_ints"])
def test_constant(kind, backend):
    rng = np.random.default_rng(len(kind))
    c = random_input((4,), rng)
    attrs = {"value": numpy_helper.from_array(c.reshape(1, 4), "c"), "value_float": float(c[0]),
             "value_floats": [float(v) for v in c], "value_int": 3, "value_ints": [2, -1, 5, 7]}
    nodes = [helper.make_node("Constant", [], ["c"], **{kind: attrs[kind]})]
    if "int" in kind:
        nodes.append(helper.make_node("Cast", ["c"], ["cf"], to=1))
        nodes.append(helper.make_node("Mul", ["x", "cf"], ["y"]))
    else:
        nodes.append(helper.make_node("Add", ["x", "c"], ["y"]))
    c_type = TensorProto.INT64 if "int" in kind else TensorProto.FLOAT
    model = make_model(nodes, [("x", [3, 4])], [("y", None), ("c", None, c_type)], opset=13)
    check_model(model, {"x": random_input((3, 4), rng)}, backend)
