"""Clip vs onnxruntime: attribute bounds (opset 6), input bounds (11, 13) given, half given or
absent, and ReLU6."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("bounds", [(-0.5, 0.7), (0.0, 6.0), (None, 0.3), (-0.2, None), (None, None)])
@pytest.mark.parametrize("opset", [6, 11, 13])
def test_clip(opset, bounds, backend):
    rng = np.random.default_rng(opset)
    lo, hi = bounds
    if opset < 11:
        attrs = {k: v for k, v in (("min", lo), ("max", hi)) if v is not None}
        node, inits = helper.make_node("Clip", ["x"], ["y"], **attrs), {}
    else:
        inits = {k: np.array(v, np.float32) for k, v in (("lo", lo), ("hi", hi)) if v is not None}
        node = helper.make_node("Clip", ["x", "lo" if lo is not None else "", "hi" if hi is not None else ""], ["y"])
    model = make_model([node], [("x", [2, 3, 5])], [("y", None)], inits, opset)
    x = random_input((2, 3, 5), rng) * 4
    check_model(model, {"x": x}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_clip_bounds_from_constant_nodes(backend):
    rng = np.random.default_rng(1)
    nodes = [helper.make_node("Constant", [], ["lo"], value=helper.make_tensor("v", 1, [], [-1.0])),
             helper.make_node("Constant", [], ["hi"], value=helper.make_tensor("v", 1, [], [1.5])),
             helper.make_node("Clip", ["x", "lo", "hi"], ["y"])]
    model = make_model(nodes, [("x", [4, 6])], [("y", None)], opset=13)
    check_model(model, {"x": random_input((4, 6), rng) * 3}, backend)
