"""Pad vs onnxruntime: constant/reflect/edge, pads as attribute (opset 2) and as input (11),
a constant value, axes (18), negative pads (cropping)."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input

SHAPE = [3, 3, 4, 5]  # reflect needs pads < each dim


def _run(backend, node, inits, opset, seed=0):
    rng = np.random.default_rng(seed)
    model = make_model([node], [("x", SHAPE)], [("y", None)], inits, opset)
    check_model(model, {"x": random_input(SHAPE, rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_attribute_form(mode, backend):
    node = helper.make_node("Pad", ["x"], ["y"], mode=mode, pads=[0, 1, 2, 1, 0, 2, 1, 3], value=1.5)
    _run(backend, node, {}, 2)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize("seed", range(2))
def test_pad_input_form(mode, seed, backend):
    rng = np.random.default_rng(seed)
    pads = [int(v) for v in rng.integers(0, 3, 8)]
    inits = {"p": np.array(pads, np.int64), "v": np.array(rng.standard_normal(), np.float32)}
    node = helper.make_node("Pad", ["x", "p", "v" if mode == "constant" else ""], ["y"], mode=mode)
    _run(backend, node, inits, [11, 13][seed], seed)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pad_axes(backend):
    inits = {"p": np.array([1, 2, 0, 3], np.int64), "a": np.array([-1, 1], np.int64)}
    node = helper.make_node("Pad", ["x", "p", "", "a"], ["y"])
    _run(backend, node, inits, 18)


@pytest.mark.parametrize("backend", BACKENDS)
def test_pad_negative_crops(backend):
    inits = {"p": np.array([0, -1, 1, 0, 0, 0, -2, 2], np.int64)}
    node = helper.make_node("Pad", ["x", "p"], ["y"])
    _run(backend, node, inits, 13)
