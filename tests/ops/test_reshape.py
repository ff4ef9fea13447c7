"""Reshape vs onnxruntime: 0 (copy a dim), -1 (infer), allowzero, and the opset-1 attribute form
(checked against numpy, as onnxruntime no longer runs opset 1)."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, assert_close, check_model, make_model, random_input, require_backend, run_cnnrt


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("target,opset", [([0, -1], 5), ([2, 0, 5, 4], 13), ([-1], 13), ([2, 0, 1, -1], 14),
                                          ([4, 3, 10], 14), ([0, 0, 20], 5)])
def test_reshape(target, opset, backend):
    rng = np.random.default_rng(opset)
    node = helper.make_node("Reshape", ["x", "s"], ["y"])
    model = make_model([node], [("x", [2, 3, 4, 5])], [("y", None)], {"s": np.array(target, np.int64)}, opset)
    check_model(model, {"x": random_input((2, 3, 4, 5), rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reshape_allowzero_without_zeros(backend):
    rng = np.random.default_rng(1)
    node = helper.make_node("Reshape", ["x", "s"], ["y"], allowzero=1)
    model = make_model([node], [("x", [2, 3, 4])], [("y", None)], {"s": np.array([4, -1], np.int64)}, 14)
    check_model(model, {"x": random_input((2, 3, 4), rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_reshape_opset1_attribute(backend):
    require_backend(backend)
    rng = np.random.default_rng(2)
    node = helper.make_node("Reshape", ["x"], ["y"], shape=[3, -1])
    model = make_model([node], [("x", [2, 3, 4])], [("y", [3, 8])], opset=1, check=False)
    x = random_input((2, 3, 4), rng)
    assert_close(run_cnnrt(model, {"x": x}, backend)[0], x.reshape(3, -1))
