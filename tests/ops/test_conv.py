"""Conv vs onnxruntime: groups (incl. depthwise), dilation, asymmetric pads, stride > kernel,
auto_pad, ragged channel counts, batch > 1, with and without bias."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


def _conv_model(rng, x_shape, w_shape, attrs, bias=True, opset=13):
    inits = {"W": random_input(w_shape, rng)}
    ins = ["x", "W"]
    if bias:
        inits["B"] = random_input((w_shape[0],), rng)
        ins.append("B")
    node = helper.make_node("Conv", ins, ["y"], name="conv0", **attrs)
    model = make_model([node], [("x", list(x_shape))], [("y", None)], inits, opset)
    return model, {"x": random_input(x_shape, rng)}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(8))
def test_conv_random(seed, backend):
    rng = np.random.default_rng(seed)
    g = [1, 1, 2, 3][seed % 4]
    cg, mg = int(rng.integers(1, 6)), int(rng.integers(1, 5))
    k = [int(v) for v in rng.integers(1, 5, 2)]
    s = [int(v) for v in rng.integers(1, 4, 2)]
    d = [int(v) for v in rng.integers(1, 3, 2)]
    pads = [int(v) for v in rng.integers(0, 3, 4)]
    hw = [int(k[i] + (k[i] - 1) * (d[i] - 1) + rng.integers(0, 7)) for i in range(2)]
    x_shape = (int(rng.integers(1, 4)), cg * g, *hw)
    attrs = dict(kernel_shape=k, strides=s, dilations=d, pads=pads, group=g)
    model, feeds = _conv_model(rng, x_shape, (mg * g, cg, *k), attrs, bias=bool(seed % 2))
    check_model(model, feeds, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("channels,mult", [(3, 1), (7, 2), (13, 1)])
def test_conv_depthwise(channels, mult, backend):
    rng = np.random.default_rng(channels)
    attrs = dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], group=channels)
    model, feeds = _conv_model(rng, (2, channels, 9, 8), (channels * mult, 1, 3, 3), attrs)
    check_model(model, feeds, backend)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("auto_pad", ["SAME_UPPER", "SAME_LOWER", "VALID"])
def test_conv_auto_pad(auto_pad, backend):
    rng = np.random.default_rng(len(auto_pad))
    # even kernel and stride 2 on odd sizes: the total pad is odd, so UPPER and LOWER differ
    attrs = dict(kernel_shape=[4, 2], strides=[2, 3], auto_pad=auto_pad)
    model, feeds = _conv_model(rng, (1, 3, 11, 10), (5, 3, 4, 2), attrs)
    check_model(model, feeds, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv_stride_larger_than_kernel_no_kernel_shape(backend):
    rng = np.random.default_rng(7)
    model, feeds = _conv_model(rng, (2, 4, 13, 12), (6, 4, 1, 2), dict(strides=[3, 4], pads=[0, 1, 2, 0]),
                               opset=7)
    check_model(model, feeds, backend)
