"""Slice vs onnxruntime: attribute form (opset 9), inputs (10, 13) with negative and huge
bounds, negative axes, negative and > 1 steps, omitted axes/steps."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input

SHAPE = [4, 5, 6]
BIG = np.iinfo(np.int64).max


@pytest.mark.parametrize("backend", BACKENDS)
def test_slice_attribute_form(backend):
    rng = np.random.default_rng(0)
    node = helper.make_node("Slice", ["x"], ["y"], starts=[1, -4], ends=[3, 1000], axes=[0, 2])
    model = make_model([node], [("x", SHAPE)], [("y", None)], opset=9)
    check_model(model, {"x": random_input(SHAPE, rng)}, backend)


CASES = [  # starts, ends, axes, steps
    ([0, 1], [3, -1], None, None),
    ([-1], [-BIG], [1], [-1]),
    ([5, 0], [0, BIG], [-1, 0], [-2, 3]),
    ([1, 2, 0], [4, 5, 6], [0, 1, 2], [2, 1, 4]),
    ([-100], [100], [-2], None),
    ([3], [1], [2], [-1]),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_slice_inputs(case, backend):
    rng = np.random.default_rng(case)
    starts, ends, axes, steps = CASES[case]
    inits = {"s": np.array(starts, np.int64), "e": np.array(ends, np.int64)}
    ins = ["x", "s", "e"]
    if axes is not None or steps is not None:
        inits["a"] = np.array(axes if axes is not None else list(range(len(starts))), np.int64)
        ins.append("a")
    if steps is not None:
        inits["p"] = np.array(steps, np.int64)
        ins.append("p")
    model = make_model([helper.make_node("Slice", ins, ["y"])], [("x", SHAPE)], [("y", None)], inits,
                       [10, 13][case % 2])
    check_model(model, {"x": random_input(SHAPE, rng)}, backend)
