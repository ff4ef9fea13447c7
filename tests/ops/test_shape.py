"""Shape vs onnxruntime: the whole shape and start/end slices (15), as int64 outputs and feeding
a Reshape."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("start,end", [(None, None), (1, None), (-2, None), (0, -1), (1, 3), (-10, 10)])
def test_shape(start, end, backend):
    rng = np.random.default_rng(0)
    attrs = {k: v for k, v in (("start", start), ("end", end)) if v is not None}
    node = helper.make_node("Shape", ["x"], ["s"], **attrs)
    model = make_model([node], [("x", [2, 3, 4, 5])], [("s", None, TensorProto.INT64)], opset=15)
    check_model(model, {"x": random_input((2, 3, 4, 5), rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_shape_feeds_reshape(backend):
    rng = np.random.default_rng(1)
    nodes = [helper.make_node("Shape", ["t"], ["s"]), helper.make_node("Reshape", ["x", "s"], ["y"])]
    model = make_model(nodes, [("x", [2, 12]), ("t", [4, 6])], [("y", [4, 6])], opset=13)
    check_model(model, {"x": random_input((2, 12), rng), "t": random_input((4, 6), rng)}, backend)
