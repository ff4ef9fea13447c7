"""What a converter sees: the ONNX node (inputs already mapped to cnnrt Values) and a context
that emits cnnrt nodes, makes constants, and raises errors naming the model file, node and op."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper
from onnx.helper import get_attribute_value, tensor_dtype_to_np_dtype

from ..errors import UnsupportedOpError
from ..ir import Node, Value


@dataclass
class OnnxNode:
    op_type: str
    domain: str
    name: str                     # the ONNX node name, or a generated one such as "Conv_3"
    opset: int                    # the model's opset for this node's domain
    inputs: list[Value | None]    # None for an absent optional input ("" in ONNX)
    output_names: list[str]       # "" for an absent optional output
    attrs: dict[str, Any] = field(default_factory=dict)
    used_outputs: list[bool] = field(default_factory=list)  # read by a node or a graph output

    def input(self, i: int) -> Value | None:
        return self.inputs[i] if i < len(self.inputs) else None

    def attr(self, name: str, default=None):
        return self.attrs.get(name, default)


def tensor_to_array(t: onnx.TensorProto, external: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """A read-only numpy array of the tensor (external data from the pre-mapped memmaps)."""
    if external and t.name in external:
        arr = external[t.name]
    elif t.data_type == onnx.TensorProto.FLOAT and t.raw_data and sys.byteorder == "little":
        # the common case (every weight of the zoo): one copy out of the protobuf, not two
        arr = np.frombuffer(t.raw_data, dtype=np.float32).reshape(tuple(t.dims))
    else:
        arr = numpy_helper.to_array(t)
    arr = np.asarray(arr)
    if arr.dtype.kind not in "biuf":
        raise UnsupportedOpError(f"tensor {t.name!r} has dtype {arr.dtype}, which cnnrt does not support")
    arr.setflags(write=False)  # constants are shared and never modified
    return arr


def attribute_dict(node: onnx.NodeProto, external=None) -> dict[str, Any]:
    """ONNX attributes as Python values: str (decoded), int, float, lists, numpy arrays."""
    out = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.TENSOR:
            out[a.name] = tensor_to_array(a.t, external)
        elif a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS,
                        onnx.AttributeProto.SPARSE_TENSOR, onnx.AttributeProto.TENSORS):
            out[a.name] = a  # kept raw; no supported op reads these
        else:
            v = get_attribute_value(a)
            if isinstance(v, bytes):
                v = v.decode("utf-8", "replace")
            elif isinstance(v, list):
                v = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in v]
            out[a.name] = v
    return out


def np_dtype_name(elem_type: int) -> str:
    """ONNX TensorProto.DataType -> numpy dtype name ('float32', 'int64', ...)."""
    try:
        return str(np.dtype(tensor_dtype_to_np_dtype(elem_type)))
    except (KeyError, TypeError, ValueError):
        name = onnx.TensorProto.DataType.Name(elem_type) if elem_type in onnx.TensorProto.DataType.values() else elem_type
        raise UnsupportedOpError(f"ONNX element type {name} has no numpy equivalent cnnrt supports") from None


class ConvContext:
    """Collects the cnnrt graph being built; converters call emit/const/unsupported."""

    def __init__(self, source: str, reserved_names: set[str]):
        self.source = source
        self.nodes: list[Node] = []
        self._used_value_names = set(reserved_names)
        self._used_node_names: set[str] = set()
        self.node: OnnxNode | None = None   # the ONNX node being converted
        self.onnx_ranks: dict[str, int] | None = None  # lazily from onnx shape inference
        self.rank_source: onnx.ModelProto | None = None
        self.fresh: set[int] = set()  # ids of the Values made for the current ONNX node

    # --- names -----------------------------------------------------------------------------
    def unique_value_name(self, base: str) -> str:
        name, k = base, 0
        while name in self._used_value_names:
            k += 1
            name = f"{base}_{k}"
        self._used_value_names.add(name)
        return name

    def _unique_node_name(self, base: str) -> str:
        name, k = base, 0
        while name in self._used_node_names:
            k += 1
            name = f"{base}:{k}"
        self._used_node_names.add(name)
        return name

    # --- building --------------------------------------------------------------------------
    def emit(self, op: str, inputs: list[Value | None], attrs: dict | None = None,
             n_out: int = 1) -> list[Value]:
        """Appends a cnnrt node for the current ONNX node; returns its (fresh) output Values."""
        origin = self.node.name if self.node else op
        outs = [Value(self.unique_value_name(f"{origin}:{op}{i if n_out > 1 else ''}"))
                for i in range(n_out)]
        self.fresh.update(id(v) for v in outs)
        self.nodes.append(Node(op, self._unique_node_name(origin), list(inputs), outs,
                               dict(attrs or {}), [origin]))
        return outs

    def emit1(self, op: str, inputs: list[Value | None], attrs: dict | None = None) -> Value:
        return self.emit(op, inputs, attrs)[0]

    def constant(self, array, hint: str = "const", dtype=None) -> Value:
        """A new constant Value holding `array` (copied into a read-only array)."""
        arr = np.array(array, dtype=dtype)
        arr.setflags(write=False)
        base = f"{self.node.name}:{hint}" if self.node else hint
        v = Value(self.unique_value_name(base), str(arr.dtype), tuple(arr.shape), arr)
        self.fresh.add(id(v))
        return v

    def const(self, v: Value | None, what: str, default=None) -> np.ndarray | None:
        """The constant array behind input `v` (None/absent -> default); runtime values refused."""
        if v is None:
            return default
        if v.const is None:
            self.unsupported(f"its {what} input {v.name!r} must be a constant (an initializer or a "
                             f"Constant node), but it is computed at run time")
        return v.const

    # --- errors ----------------------------------------------------------------------------
    def describe(self) -> str:
        n = self.node
        dom = f"{n.domain} " if n.domain not in ("", "ai.onnx") else ""
        return f"{self.source}: node {n.name!r} uses op {dom}{n.op_type} (opset {n.opset})"

    def unsupported(self, why: str):
        raise UnsupportedOpError(f"{self.describe()}; cnnrt does not support this: {why}")

    def rank_of(self, v: Value) -> int | None:
        """The rank of an ONNX value, from ONNX's own shape inference (used by legacy ops only)."""
        if v.shape is not None:
            return len(v.shape)
        if self.onnx_ranks is None:
            self.onnx_ranks = {}
            if self.rank_source is not None:
                try:
                    inferred = onnx.shape_inference.infer_shapes(self.rank_source)
                    g = inferred.graph
                    for vi in [*g.value_info, *g.input, *g.output]:
                        tt = vi.type.tensor_type
                        if tt.HasField("shape"):
                            self.onnx_ranks[vi.name] = len(tt.shape.dim)
                except Exception:  # noqa: BLE001 - rank stays unknown, the caller refuses clearly
                    pass
        return self.onnx_ranks.get(v.name)
