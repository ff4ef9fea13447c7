"""A model with a C++ custom op for the .cnnrt tests (Python and C API): conv -> com.example
ChannelShuffle -> conv, the kernel compiled from examples/plugin's channel_shuffle.cc with the
system compiler (plugin_build), and an independent float64 numpy reference of the whole model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import cnnrt

KERNEL = "com.example::ChannelShuffle"
SOURCE = Path(__file__).resolve().parents[2] / "examples" / "plugin" / "cnnrt_example_plugin" / "channel_shuffle.cc"
LIB_NAME = "libchannel_shuffle.so"


def build_shuffle_library(tmp_path) -> str:
    from plugin_build import build_plugin
    return build_plugin(tmp_path, SOURCE.read_text(), "channel_shuffle")


def register_shuffle(numpy=None):
    """The op's shape (no numpy kernel unless given: the cpu backend then runs the C++ one)."""
    return cnnrt.register_op("com.example", "ChannelShuffle", attrs={"groups": 2},
                             shape=lambda ins, attrs: ins[0], numpy=numpy)


def shuffle_model(rng, groups=3, c=6, hw=8):
    """x (N, 3, hw, hw) -> conv 3x3 (c, bias) -> ChannelShuffle(groups) -> conv 3x3 (4, bias) -> y.
    Returns the model and its weights (for the reference)."""
    w = {"w1": rng.standard_normal((c, 3, 3, 3)) / 3, "b1": rng.standard_normal(c),
         "w2": rng.standard_normal((4, c, 3, 3)) / 4, "b2": rng.standard_normal(4)}
    w = {k: v.astype(np.float32) for k, v in w.items()}
    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
             helper.make_node("ChannelShuffle", ["c1"], ["s"], domain="com.example", groups=groups,
                              name="shuffle"),
             helper.make_node("Conv", ["s", "w2", "b2"], ["y"], pads=[1, 1, 1, 1], name="conv2")]
    g = helper.make_graph(nodes, "conv_shuffle_conv",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, hw, hw])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, hw, hw])],
                          [numpy_helper.from_array(v, k) for k, v in w.items()])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    m.ir_version = 8
    return m, {**w, "groups": groups}


def _conv3x3(x, w, b):
    """Same-padded 3x3 convolution in float64, by windows (not the engine's algorithm)."""
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (3, 3), axis=(2, 3))  # n c h w kh kw
    return np.einsum("nchwij,mcij->nmhw", win, w) + b.reshape(1, -1, 1, 1)


def reference(weights, x):
    """The model in float64; the shuffle as a gather by channel index (output k <- input
    (k % groups) * (C / groups) + k // groups), written apart from the kernel's loops."""
    f = {k: np.asarray(v, np.float64) for k, v in weights.items() if k != "groups"}
    c1 = _conv3x3(x.astype(np.float64), f["w1"], f["b1"])
    groups, c = weights["groups"], c1.shape[1]
    src = [(k % groups) * (c // groups) + k // groups for k in range(c)]
    return _conv3x3(c1[:, src], f["w2"], f["b2"])
