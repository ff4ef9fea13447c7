"""AveragePool vs onnxruntime: count_include_pad, ceil_mode, asymmetric pads, stride > kernel,
auto_pad."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


def _run(rng, shape, attrs, backend, opset=11):
    node = helper.make_node("AveragePool", ["x"], ["y"], name="pool", **attrs)
    model = make_model([node], [("x", list(shape))], [("y", None)], opset=opset)
    check_model(model, {"x": random_input(shape, rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(8))
def test_average_pool_random(seed, backend):
    rng = np.random.default_rng(seed)
    k = [int(v) for v in rng.integers(1, 5, 2)]
    s = [int(v) for v in rng.integers(1, 5, 2)]
    pads = [int(rng.integers(0, k[i % 2])) for i in range(4)]
    hw = [int(k[i] + rng.integers(0, 6)) for i in range(2)]
    attrs = dict(kernel_shape=k, strides=s, pads=pads, count_include_pad=seed % 2, ceil_mode=int(seed % 4 >= 2))
    _run(rng, (int(rng.integers(1, 3)), int(rng.integers(1, 8)), *hw), attrs, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool_auto_pad(auto_pad, count_include_pad, backend):
    rng = np.random.default_rng(1)
    attrs = dict(kernel_shape=[3, 2], strides=[2, 2], auto_pad=auto_pad, count_include_pad=count_include_pad)
    _run(rng, (2, 3, 8, 7), attrs, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_average_pool_ceil_and_count_include_pad(backend):
    # the ceil_mode overhang is not counted even with count_include_pad (only real pads are)
    rng = np.random.default_rng(2)
    attrs = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, count_include_pad=1)
    _run(rng, (1, 2, 6, 7), attrs, backend, opset=19)


@pytest.mark.parametrize("backend", BACKENDS)
def test_average_pool_opset7(backend):
    rng = np.random.default_rng(3)
    _run(rng, (1, 3, 7, 7), dict(kernel_shape=[7, 7]), backend, opset=7)
