"""Split vs onnxruntime: sizes as attribute (opset 11) and input (13), equal parts, num_outputs
with an uneven last part (18), negative axes."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


def _run(backend, opset, n_out, axis, attrs=None, inits=None, extra=()):
    rng = np.random.default_rng(opset * 10 + n_out)
    outs = [f"y{i}" for i in range(n_out)]
    node = helper.make_node("Split", ["x", *extra], outs, axis=axis, **(attrs or {}))
    model = make_model([node], [("x", [2, 7, 6])], [(o, None) for o in outs], inits or {}, opset)
    check_model(model, {"x": random_input((2, 7, 6), rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_split_attribute_sizes(backend):
    _run(backend, 11, 3, 1, {"split": [2, 4, 1]})


@pytest.mark.parametrize("backend", BACKENDS)
def test_split_input_sizes(backend):
    _run(backend, 13, 2, -1, inits={"s": np.array([5, 1], np.int64)}, extra=["s"])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opset", [2, 13])
def test_split_equal(opset, backend):
    _run(backend, opset, 3, 2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_split_num_outputs_uneven(backend):
    _run(backend, 18, 3, -2, {"num_outputs": 3})  # 7 -> 3, 3, 1
