"""Identity vs onnxruntime, including Identity as the graph output and of a constant."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opset", [1, 13, 16])
def test_identity(opset, backend):
    rng = np.random.default_rng(opset)
    nodes = [helper.make_node("Identity", ["x"], ["y"]), helper.make_node("Identity", ["c"], ["z"])]
    model = make_model(nodes, [("x", [2, 3])], [("y", None), ("z", None)], {"c": random_input((4,), rng)}, opset)
    check_model(model, {"x": random_input((2, 3), rng)}, backend)
