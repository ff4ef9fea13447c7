"""Concat vs onnxruntime: 1-4 inputs, every axis incl. negative, ragged sizes on the axis, a
constant input."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(6))
def test_concat(seed, backend):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(1, 5))
    axis = int(rng.integers(-rank, rank))
    base = [int(d) for d in rng.integers(1, 4, rank)]
    shapes = []
    for _ in range(int(rng.integers(1, 5))):
        s = list(base)
        s[axis] = int(rng.integers(1, 6))
        shapes.append(s)
    names = [f"x{i}" for i in range(len(shapes))]
    inits = {}
    if len(shapes) > 1 and seed % 2:  # the last input a constant
        inits[names[-1]] = random_input(shapes[-1], rng)
    node = helper.make_node("Concat", names, ["y"], axis=axis)
    inputs = [(n, s) for n, s in zip(names, shapes) if n not in inits]
    model = make_model([node], inputs, [("y", None)], inits, opset=[11, 13][seed % 2])
    check_model(model, {n: random_input(s, rng) for n, s in inputs}, backend)
