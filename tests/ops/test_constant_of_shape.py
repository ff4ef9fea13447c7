"""ConstantOfShape vs onnxruntime: Shape(x) -> ConstantOfShape(value) -> Add x, float and int values."""

import numpy as np
import pytest
from onnx import helper, numpy_helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("value", [np.float32(1.75), np.int64(3), None])
def test_constant_of_shape(value, backend):
    rng = np.random.default_rng(1)
    attrs = {} if value is None else {"value": numpy_helper.from_array(np.array([value]), "v")}
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("ConstantOfShape", ["s"], ["c"], **attrs),
             helper.make_node("Cast", ["c"], ["cf"], to=1),
             helper.make_node("Add", ["x", "cf"], ["y"])]
    model = make_model(nodes, [("x", [2, 3, 4])], [("y", None)], opset=13)
    check_model(model, {"x": random_input((2, 3, 4), rng)}, backend)
