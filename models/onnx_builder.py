"""A small ONNX graph writer for the model builders.

Each layer method takes the name of its input value, adds one node, and returns the name of
its output value. Weights come from a weight source (see weights.py) asked by parameter
name, so the initializers carry the checkpoint's names ("features.0.0.weight") and a
builder reads like the network's definition.

Target: opset 17, IR version 8 (onnxruntime >= 1.14 and onnx.reference both accept it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8


@dataclass(frozen=True)
class Arch:
    """What the registry needs to know about one architecture."""
    name: str
    graph: Callable[..., "GraphBuilder"]  # graph(weight_source) -> GraphBuilder
    preprocess: dict  # a preprocess_meta spec
    real_weights: Optional[Callable[[], object]] = None  # () -> RealWeights; None: random only
    labels: str = "imagenet1k"  # the label set of the output (cnnrt.labels metadata)


def _pads(pads: int | Sequence[int]) -> list[int]:
    """int p -> [p, p, p, p]; (top, left, bottom, right) passes through (ONNX order)."""
    if isinstance(pads, int):
        return [pads] * 4
    pads = [int(p) for p in pads]
    if len(pads) != 4:
        raise ValueError(f"pads must be an int or (top, left, bottom, right), got {pads}")
    return pads


class GraphBuilder:
    def __init__(self, name: str, weights):
        self.name, self.weights = name, weights
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, onnx.TensorProto] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._count: dict[str, int] = {}

    # -- plumbing -------------------------------------------------------------------
    def _fresh(self, op: str) -> str:
        n = self._count.get(op, 0)
        self._count[op] = n + 1
        return f"{op.lower()}_{n}"

    def const(self, name: str, value) -> str:
        """A named initializer (shared if added twice with the same name)."""
        if name not in self.inits:
            self.inits[name] = numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)
        return name

    def param(self, name: str, shape: Sequence[int], role: str) -> str:
        """An initializer taken from the weight source, checked against `shape`."""
        return self.const(name, self.weights.get(name, tuple(shape), role))

    def node(self, op: str, inputs: Sequence[str], name: str | None = None, **attrs) -> str:
        name = name or self._fresh(op)
        self.nodes.append(helper.make_node(op, list(inputs), [name], name=name, **attrs))
        return name

    def input(self, name: str, shape: Sequence[int | str]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        return name

    def output(self, value: str, name: str, shape: Sequence[int | str]) -> str:
        """Expose `value` as graph output `name` (through an Identity when renaming)."""
        if value != name:
            self.nodes.append(helper.make_node("Identity", [value], [name], name=name))
        self.outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        return name

    # -- layers ---------------------------------------------------------------------
    def conv(self, x: str, prefix: str, cin: int, cout: int, k: int, stride: int = 1,
             pads: int | Sequence[int] = 0, group: int = 1, bias: bool = False,
             linear: bool = False) -> str:
        """Conv with weight `<prefix>.weight` [cout, cin/group, k, k] (and `<prefix>.bias`).

        `linear` tells a random weight source that no activation follows (LeCun instead
        of He scaling); real weights ignore it.
        """
        role = "conv_linear" if linear else "conv"
        ins = [x, self.param(f"{prefix}.weight", (cout, cin // group, k, k), role)]
        if bias:
            ins.append(self.param(f"{prefix}.bias", (cout,), "bias"))
        return self.node("Conv", ins, name=prefix, kernel_shape=[k, k], strides=[stride, stride],
                         pads=_pads(pads), group=group, dilations=[1, 1])

    def batch_norm(self, x: str, prefix: str, c: int, eps: float) -> str:
        ins = [x] + [self.param(f"{prefix}.{p}", (c,), f"bn_{p}")
                     for p in ("weight", "bias", "running_mean", "running_var")]
        return self.node("BatchNormalization", ins, name=prefix, epsilon=float(eps))

    def relu(self, x: str) -> str:
        return self.node("Relu", [x])

    def relu6(self, x: str) -> str:
        # Clip takes its bounds as inputs since opset 11; two shared scalar initializers.
        return self.node("Clip", [x, self.const("relu6_min", 0.0), self.const("relu6_max", 6.0)])

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b])

    def mul(self, a: str, b: str) -> str:
        return self.node("Mul", [a, b])

    def sigmoid(self, x: str) -> str:
        return self.node("Sigmoid", [x])

    def silu(self, x: str) -> str:
        # x * sigmoid(x) as two nodes, the way PyTorch exports nn.SiLU; cnnrt fuses the pair
        return self.mul(x, self.sigmoid(x))

    def squeeze_excite(self, x: str, prefix: str, c: int, squeeze: int, act: str = "silu") -> str:
        """x * sigmoid(fc2(act(fc1(avgpool(x))))), torchvision's SqueezeExcitation:
        1x1 convs with bias `<prefix>.fc1` (c -> squeeze) and `<prefix>.fc2` (squeeze -> c)."""
        s = self.conv(self.global_avg_pool(x), f"{prefix}.fc1", c, squeeze, 1, bias=True)
        s = getattr(self, act)(s)
        s = self.conv(s, f"{prefix}.fc2", squeeze, c, 1, bias=True, linear=True)
        return self.mul(self.sigmoid(s), x)

    def global_avg_pool(self, x: str) -> str:
        return self.node("GlobalAveragePool", [x])

    def max_pool(self, x: str, k: int, stride: int, pads: int | Sequence[int] = 0,
                 ceil: bool = False) -> str:
        """MaxPool k x k; `ceil` rounds the output size up as Caffe's pooling does."""
        return self.node("MaxPool", [x], kernel_shape=[k, k], strides=[stride, stride],
                         pads=_pads(pads), ceil_mode=int(ceil))

    def lrn(self, x: str, size: int, alpha: float = 1e-4, beta: float = 0.75,
            bias: float = 1.0) -> str:
        """Local response normalization across channels (ONNX divides alpha by size, as Caffe)."""
        return self.node("LRN", [x], size=size, alpha=float(alpha), beta=float(beta),
                         bias=float(bias))

    def concat(self, xs: Sequence[str], axis: int = 1) -> str:
        return self.node("Concat", list(xs), axis=axis)

    def avg_pool(self, x: str, k: int, stride: int, pads: int | Sequence[int] = 0) -> str:
        """AveragePool k x k; padded cells are left out of the mean (count_include_pad=0)."""
        return self.node("AveragePool", [x], kernel_shape=[k, k], strides=[stride, stride],
                         pads=_pads(pads), count_include_pad=0)

    def tanh(self, x: str) -> str:
        return self.node("Tanh", [x])

    def flatten(self, x: str) -> str:
        return self.node("Flatten", [x], axis=1)

    def gemm(self, x: str, prefix: str, cin: int, cout: int) -> str:
        """Fully connected layer, torch layout: weight [cout, cin], y = x W^T + b."""
        w = self.param(f"{prefix}.weight", (cout, cin), "fc")
        b = self.param(f"{prefix}.bias", (cout,), "bias")
        return self.node("Gemm", [x, w, b], name=prefix, transB=1)

    # -- result ---------------------------------------------------------------------
    def model(self, metadata: dict[str, str], check: bool = True) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs,
                                  initializer=list(self.inits.values()))
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="cnnrt.models", ir_version=IR_VERSION)
        helper.set_model_props(model, dict(metadata))
        if check:  # (with external data, check the saved file: onnx.checker.check_model(path))
            onnx.checker.check_model(model)
        return model

    def nbytes(self) -> int:
        """Bytes of initializer data held in memory (a protobuf message is limited to 2 GiB)."""
        return sum(len(t.raw_data) for t in self.inits.values())

    def move_to_external_data(self, folder: str, location: str, min_bytes: int = 1024) -> None:
        """Writes every initializer of `min_bytes` or more to the file `location` in `folder`
        (ONNX external data, 64-byte aligned so readers can memory-map each tensor) and drops
        its bytes from memory; model() then gives a small proto referring to that file."""
        import os

        from onnx.external_data_helper import set_external_data

        with open(os.path.join(folder, location), "wb") as f:
            for t in self.inits.values():
                if len(t.raw_data) < min_bytes:
                    continue
                f.write(b"\0" * (-f.tell() % 64))
                offset = f.tell()
                f.write(t.raw_data)
                set_external_data(t, location, offset, len(t.raw_data))
                t.ClearField("raw_data")
