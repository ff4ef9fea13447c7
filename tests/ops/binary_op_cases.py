"""The shared cases of the binary ops (Add, Sub, Mul, Div, Pow) vs onnxruntime: random shapes
with numpy broadcasting both ways, a constant operand, and the opset < 7 `broadcast`/`axis`
form (checked against numpy in float64, since onnxruntime no longer runs it).

Each test_<op>.py calls binary_op_tests() once; `data` shapes the operands for the op (a
divisor away from zero, a positive base for Pow)."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, assert_close, check_model, make_model, random_input, require_backend, run_cnnrt


def _shapes(rng):
    a = [int(d) for d in rng.integers(1, 5, int(rng.integers(1, 5)))]
    b = [1 if rng.random() < 0.3 else d for d in a[int(rng.integers(0, len(a))):]]
    if rng.random() < 0.5:
        a = [1 if rng.random() < 0.3 else d for d in a]
    return a, b


def binary_op_tests(op: str, np_fn, data=lambda x, operand: x):
    """(broadcast test, constant-operand test, legacy-broadcast test) for ONNX op `op`."""

    def operand(rng, shape, i):
        return data(random_input(shape, rng), i)

    @pytest.mark.parametrize("backend", BACKENDS)
    @pytest.mark.parametrize("seed", range(4))
    def test_broadcast(seed, backend):
        rng = np.random.default_rng(seed)
        a, b = _shapes(rng)
        node = helper.make_node(op, ["a", "b"], ["y"])
        model = make_model([node], [("a", a), ("b", b)], [("y", None)], opset=[7, 13, 14, 17][seed])
        check_model(model, {"a": operand(rng, a, 0), "b": operand(rng, b, 1)}, backend)

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_constant_operand(backend):
        rng = np.random.default_rng(5)
        node = helper.make_node(op, ["a", "c"], ["y"])
        model = make_model([node], [("a", [2, 3, 4])], [("y", None)], {"c": operand(rng, (3, 1), 1)})
        check_model(model, {"a": operand(rng, (2, 3, 4), 0)}, backend)

    @pytest.mark.parametrize("backend", BACKENDS)
    def test_legacy_broadcast_axis(backend):
        require_backend(backend)
        rng = np.random.default_rng(6)
        c = operand(rng, (3,), 1)
        node = helper.make_node(op, ["a", "c"], ["y"], broadcast=1, axis=1)
        model = make_model([node], [("a", [2, 3, 4, 5])], [("y", [2, 3, 4, 5])], {"c": c}, opset=6)
        a = operand(rng, (2, 3, 4, 5), 0)
        expected = np_fn(a.astype(np.float64), c.reshape(3, 1, 1).astype(np.float64)).astype(np.float32)
        assert_close(run_cnnrt(model, {"a": a}, backend)[0], expected)

    return test_broadcast, test_constant_operand, test_legacy_broadcast_axis
