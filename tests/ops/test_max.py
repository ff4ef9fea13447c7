"""Max vs onnxruntime: 1, 2 and 3 inputs (a chain of binary nodes), broadcasting, opsets 6-13."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_inputs,opset", [(1, 13), (2, 8), (3, 13), (4, 12), (3, 6)])
def test_max(n_inputs, opset, backend):
    rng = np.random.default_rng(n_inputs * 100 + opset)
    full = [2, 3, 4]
    # opset < 8 has no broadcasting: all inputs share one shape
    shapes = [full] * n_inputs if opset < 8 else [full, [3, 1], [4], [1, 3, 4]][:n_inputs]
    names = [f"x{i}" for i in range(n_inputs)]
    node = helper.make_node("Max", names, ["y"])
    model = make_model([node], list(zip(names, shapes)), [("y", None)], opset=opset)
    check_model(model, {n: random_input(s, rng) for n, s in zip(names, shapes)}, backend)
