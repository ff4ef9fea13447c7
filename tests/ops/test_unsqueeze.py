"""Unsqueeze vs onnxruntime: axes as attribute (11) and input (13), negative and unsorted axes."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("axes", [[0], [4, 1], [-1], [0, -1, 2]])
def test_unsqueeze(axes, opset, backend):
    rng = np.random.default_rng(opset)
    inits = {}
    if opset < 13:
        node = helper.make_node("Unsqueeze", ["x"], ["y"], axes=axes)
    else:
        inits["a"] = np.array(axes, np.int64)
        node = helper.make_node("Unsqueeze", ["x", "a"], ["y"])
    model = make_model([node], [("x", [2, 3, 4])], [("y", None)], inits, opset)
    check_model(model, {"x": random_input((2, 3, 4), rng)}, backend)
