"""MaxPool vs onnxruntime: asymmetric pads, stride > kernel, ceil_mode, dilations, auto_pad."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


def _run(rng, shape, attrs, backend, opset=12):
    node = helper.make_node("MaxPool", ["x"], ["y"], name="pool", **attrs)
    model = make_model([node], [("x", list(shape))], [("y", None)], opset=opset)
    check_model(model, {"x": random_input(shape, rng)}, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(8))
def test_max_pool_random(seed, backend):
    rng = np.random.default_rng(seed)
    k = [int(v) for v in rng.integers(1, 4, 2)]
    s = [int(v) for v in rng.integers(1, 5, 2)]      # often > kernel
    d = [int(v) for v in rng.integers(1, 3, 2)] if seed % 2 else [1, 1]
    pads = [int(rng.integers(0, k[i % 2])) for i in range(4)]  # ORT: pad < kernel
    hw = [int((k[i] - 1) * d[i] + 1 + rng.integers(0, 6)) for i in range(2)]
    attrs = dict(kernel_shape=k, strides=s, dilations=d, pads=pads, ceil_mode=int(seed % 3 == 0))
    _run(rng, (int(rng.integers(1, 3)), int(rng.integers(1, 8)), *hw), attrs, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_max_pool_auto_pad(auto_pad, backend):
    rng = np.random.default_rng(1)
    _run(rng, (2, 3, 9, 8), dict(kernel_shape=[2, 3], strides=[2, 2], auto_pad=auto_pad), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool_ceil_mode_overhang(backend):
    # 3x3/2 on 6x6 with ceil_mode: the last window hangs past the input (GoogLeNet's pools)
    rng = np.random.default_rng(2)
    _run(rng, (1, 5, 6, 6), dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1), backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_max_pool_opset8_unused_indices(backend):
    rng = np.random.default_rng(3)
    _run(rng, (1, 2, 7, 7), dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]), backend, opset=8)
