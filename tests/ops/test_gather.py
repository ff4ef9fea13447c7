"""Gather vs onnxruntime: constant indices (scalar, 1-D, 2-D, negative) on every axis, and
Gather of a Shape (the PyTorch flatten idiom)."""

import numpy as np
import pytest
from onnx import TensorProto, helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(6))
def test_gather(seed, backend):
    rng = np.random.default_rng(seed)
    shape = [3, 4, 5]
    axis = int(rng.integers(-3, 3))
    d = shape[axis]
    idx = [np.array(int(rng.integers(-d, d))), rng.integers(-d, d, 3), rng.integers(0, d, (2, 2))][seed % 3]
    node = helper.make_node("Gather", ["x", "i"], ["y"], axis=axis)
    model = make_model([node], [("x", shape)], [("y", None)], {"i": np.asarray(idx, np.int64)}, [11, 13][seed % 2])
    check_model(model, {"x": random_input(shape, rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gather_of_shape(backend):
    rng = np.random.default_rng(9)
    nodes = [helper.make_node("Shape", ["x"], ["s"]), helper.make_node("Gather", ["s", "i"], ["y"], axis=0)]
    model = make_model(nodes, [("x", [2, 3, 4])], [("y", None, TensorProto.INT64)],
                       {"i": np.array([2, 0], np.int64)}, 13)
    check_model(model, {"x": random_input((2, 3, 4), rng)}, backend)
