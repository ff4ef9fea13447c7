"""Gemm vs onnxruntime: transA/transB, alpha/beta, C of every broadcastable shape (folded into
the bias or added after), runtime B and C, no C."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input

N, K, M = 3, 5, 4


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("c_shape", [(M,), (1, M), (1,), (N, M), (N, 1), None])
@pytest.mark.parametrize("seed", range(3))
def test_gemm_constant_b(seed, c_shape, backend):
    rng = np.random.default_rng(seed)
    ta, tb = seed % 2, int(seed >= 1)
    attrs = dict(transA=ta, transB=tb)
    if seed:
        attrs.update(alpha=float(rng.uniform(0.5, 2)), beta=float(rng.uniform(0.5, 2)))
    a_shape = (K, N) if ta else (N, K)
    inits = {"B": random_input((M, K) if tb else (K, M), rng)}
    ins = ["a", "B"]
    if c_shape is not None:
        inits["C"] = random_input(c_shape, rng)
        ins.append("C")
    model = make_model([helper.make_node("Gemm", ins, ["y"], **attrs)], [("a", list(a_shape))],
                       [("y", None)], inits, opset=[7 if c_shape else 11, 11, 13][seed])
    b_before = inits["B"].copy()
    check_model(model, {"a": random_input(a_shape, rng)}, backend)
    assert np.array_equal(inits["B"], b_before)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("tb", [0, 1])
def test_gemm_runtime_b_and_c(tb, backend):
    rng = np.random.default_rng(tb)
    b_shape = (M, K) if tb else (K, M)
    node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], transB=tb, alpha=0.7, beta=1.3)
    model = make_model([node], [("a", [N, K]), ("b", list(b_shape)), ("c", [M])], [("y", None)], opset=13)
    feeds = {"a": random_input((N, K), rng), "b": random_input(b_shape, rng), "c": random_input((M,), rng)}
    check_model(model, feeds, backend)
