"""A small CNN with every kind of node the insight tools must account for: a conv + BN + ReLU
chain and a residual add (fused into one step each), an Identity (removed), a Constant (folded
into a weight) and an output head (Flatten + Gemm). Random weights of order 1 / sqrt(fan-in),
so activations stay of order 1."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper

from oracle import make_model

# the ONNX nodes, and which of them leave no step of their own after optimization
NODES = ["c1", "bn1", "r1", "c2", "add", "r2", "id", "mp", "shape_const", "flat", "fc", "sm"]
FOLDED = {"id", "shape_const"}


def small_cnn(channels: int = 16, size: int = 16, classes: int = 10, seed: int = 0) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    c = channels
    w = lambda *s: (rng.standard_normal(s) / np.sqrt(np.prod(s[1:]))).astype(np.float32)
    init = {"w1": w(c, 3, 3, 3), "b1": w(c), "w2": w(c, c, 3, 3),
            "scale": (1 + 0.1 * rng.standard_normal(c)).astype(np.float32),
            "bias": w(c), "mean": (0.1 * rng.standard_normal(c)).astype(np.float32),
            "var": (1 + 0.1 * rng.random(c)).astype(np.float32),
            "wfc": w(classes, c * (size // 2) ** 2), "bfc": w(classes)}
    mk = helper.make_node
    nodes = [
        mk("Conv", ["x", "w1", "b1"], ["c1_out"], name="c1", pads=[1, 1, 1, 1]),
        mk("BatchNormalization", ["c1_out", "scale", "bias", "mean", "var"], ["bn1_out"], name="bn1"),
        mk("Relu", ["bn1_out"], ["r1_out"], name="r1"),
        mk("Conv", ["r1_out", "w2"], ["c2_out"], name="c2", pads=[1, 1, 1, 1]),
        mk("Add", ["c2_out", "r1_out"], ["add_out"], name="add"),
        mk("Relu", ["add_out"], ["r2_out"], name="r2"),
        mk("Identity", ["r2_out"], ["id_out"], name="id"),
        mk("MaxPool", ["id_out"], ["mp_out"], name="mp", kernel_shape=[2, 2], strides=[2, 2]),
        mk("Constant", [], ["shape"], name="shape_const",
           value=onnx.numpy_helper.from_array(np.array([1, -1], np.int64))),
        mk("Reshape", ["mp_out", "shape"], ["flat_out"], name="flat"),
        mk("Gemm", ["flat_out", "wfc", "bfc"], ["logits"], name="fc", transB=1),
        mk("Softmax", ["logits"], ["prob"], name="sm", axis=1),
    ]
    return make_model(nodes, [("x", [1, 3, size, size])], [("prob", [1, classes])], init)
