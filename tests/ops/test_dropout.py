"""Dropout (inference) vs onnxruntime at opsets 7, 12, 13: Y = X, the mask unused or absent."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opset", [7, 12, 13])
def test_dropout(opset, backend):
    rng = np.random.default_rng(opset)
    inits = {}
    ins = ["x"]
    if opset >= 12:
        inits = {"r": np.array(0.3, np.float32)}
        ins.append("r")
    nodes = [helper.make_node("Dropout", ins, ["d"], **({"ratio": 0.4} if opset < 12 else {})),
             helper.make_node("Relu", ["d"], ["y"])]  # something after it, as in AlexNet
    model = make_model(nodes, [("x", [3, 10])], [("y", None)], inits, opset)
    check_model(model, {"x": random_input((3, 10), rng)}, backend)
