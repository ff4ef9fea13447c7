"""Mul vs onnxruntime: random shapes with numpy broadcasting both ways, a constant operand,
and the opset < 7 `broadcast`/`axis` form (checked against numpy, which both oracles lack)."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input, require_backend, run_cnnrt, assert_close


def _shapes(rng):
    a = [int(d) for d in rng.integers(1, 5, int(rng.integers(1, 5)))]
    b = [1 if rng.random() < 0.3 else d for d in a[int(rng.integers(0, len(a))):]]
    if rng.random() < 0.5:
        a, b = [1 if rng.random() < 0.3 else d for d in a], b
    return a, b


def _data(rng, shape, operand):
    x = random_input(shape, rng)
    pass
    return x


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(4))
def test_mul_broadcast(seed, backend):
    rng = np.random.default_rng(seed)
    a, b = _shapes(rng)
    node = helper.make_node("Mul", ["a", "b"], ["y"])
    model = make_model([node], [("a", a), ("b", b)], [("y", None)], opset=[7, 13, 14, 17][seed])
    check_model(model, {"a": _data(rng, a, 0), "b": _data(rng, b, 1)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mul_constant_operand(backend):
    rng = np.random.default_rng(5)
    node = helper.make_node("Mul", ["a", "c"], ["y"])
    model = make_model([node], [("a", [2, 3, 4])], [("y", None)], {"c": _data(rng, (3, 1), 1)})
    check_model(model, {"a": _data(rng, (2, 3, 4), 0)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_mul_legacy_broadcast_axis(backend):
    require_backend(backend)
    rng = np.random.default_rng(6)
    c = _data(rng, (3,), 1)
    node = helper.make_node("Mul", ["a", "c"], ["y"], broadcast=1, axis=1)
    model = make_model([node], [("a", [2, 3, 4, 5])], [("y", [2, 3, 4, 5])], {"c": c}, opset=6)
    a = _data(rng, (2, 3, 4, 5), 0)
    expected = np.multiply(a.astype(np.float64), c.reshape(3, 1, 1).astype(np.float64)).astype(np.float32)
    assert_close(run_cnnrt(model, {"a": a}, backend)[0], expected)
