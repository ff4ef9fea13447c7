"""ReduceMean vs onnxruntime: axes as attribute (< 18) and input (18), negative axes, keepdims,
all axes, noop_with_empty_axes."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opset", [13, 18])
@pytest.mark.parametrize("axes,keepdims", [([2, 3], 1), ([-1], 0), ([0, -2], 1), (None, 1), (None, 0), ([1], 0)])
def test_reduce_mean(axes, keepdims, opset, backend):
    rng = np.random.default_rng(opset)
    inits = {}
    if opset < 18:
        node = helper.make_node("ReduceMean", ["x"], ["y"], keepdims=keepdims, **({"axes": axes} if axes else {}))
    else:
        if axes:
            inits["a"] = np.array(axes, np.int64)
        node = helper.make_node("ReduceMean", ["x", "a" if axes else ""], ["y"], keepdims=keepdims)
    model = make_model([node], [("x", [2, 3, 4, 5])], [("y", None)], inits, opset)
    check_model(model, {"x": random_input((2, 3, 4, 5), rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reduce_mean_noop_with_empty_axes(backend):
    rng = np.random.default_rng(3)
    node = helper.make_node("ReduceMean", ["x"], ["y"], noop_with_empty_axes=1)
    model = make_model([node], [("x", [2, 3])], [("y", None)], opset=18)
    check_model(model, {"x": random_input((2, 3), rng)}, backend)
