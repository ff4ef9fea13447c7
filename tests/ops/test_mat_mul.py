"""MatMul vs onnxruntime: 2-D, batched with broadcasting, 1-D operands, constant B."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("a,b", [((3, 5), (5, 4)), ((2, 3, 5), (5, 7)), ((2, 1, 3, 4), (3, 4, 2)),
                                 ((5,), (5, 3)), ((2, 3, 5), (5,))])
def test_mat_mul(a, b, backend):
    rng = np.random.default_rng(len(a) * 10 + len(b))
    model = make_model([helper.make_node("MatMul", ["a", "b"], ["y"])], [("a", list(a)), ("b", list(b))],
                       [("y", None)], opset=13)
    check_model(model, {"a": random_input(a, rng), "b": random_input(b, rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mat_mul_constant_b(backend):
    rng = np.random.default_rng(9)
    model = make_model([helper.make_node("MatMul", ["a", "W"], ["y"])], [("a", [4, 6])], [("y", None)],
                       {"W": random_input((6, 3), rng)}, opset=9)
    check_model(model, {"a": random_input((4, 6), rng)}, backend)
