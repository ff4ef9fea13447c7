"""Squeeze vs onnxruntime: axes as attribute (11) and input (13), negative axes, all size-1 axes."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input

SHAPE = [1, 3, 1, 4, 1]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("axes", [[0], [2, -1], None, [-5, 2, 4]])
def test_squeeze(axes, opset, backend):
    rng = np.random.default_rng(opset)
    inits = {}
    if opset < 13:
        node = helper.make_node("Squeeze", ["x"], ["y"], **({"axes": axes} if axes else {}))
    else:
        if axes:
            inits["a"] = np.array(axes, np.int64)
        node = helper.make_node("Squeeze", ["x", "a"] if axes else ["x"], ["y"])
    model = make_model([node], [("x", SHAPE)], [("y", None)], inits, opset)
    check_model(model, {"x": random_input(SHAPE, rng)}, backend)
