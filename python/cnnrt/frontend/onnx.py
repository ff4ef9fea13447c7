"""ONNX -> cnnrt IR: `import_onnx(model_or_path)`.

Stages: load (onnx_load: path checks, parse, external data as memmaps) -> opset table per domain
-> constants (initializers, including those old exporters also list as graph inputs) -> graph
inputs (type info: dtype names, int or symbolic dims) -> nodes in topological order, each through
the converter picked by (domain, op, opset) from onnx_registry -> graph outputs.
The frontend maps only: no folding, no shape inference (the passes do that once the batch is
bound), so Shape/Gather/Concat chains arrive as nodes with constant-able inputs.
"""

from __future__ import annotations

import heapq
import os

import numpy as np
import onnx

from ..errors import CnnrtError, ModelLoadError, UnsupportedOpError
from ..ir import Graph, Value
from . import onnx_ops_elementwise, onnx_ops_nn, onnx_ops_tensor  # noqa: F401  (register converters)
from .onnx_context import ConvContext, OnnxNode, attribute_dict, np_dtype_name, tensor_to_array
from .onnx_load import check_model_proto, load_model_proto, map_external_data
from .onnx_registry import find_converter, register_converter

__all__ = ["import_onnx", "register_converter"]


def import_onnx(model: str | os.PathLike | onnx.ModelProto | bytes, *,
                source: str | None = None) -> Graph:
    """Converts an ONNX model (a path, a ModelProto or its serialized bytes) to a cnnrt Graph.

    `source` names the model in error messages and Graph.source (default: the path, or
    "<memory>" for a ModelProto; for a ModelProto with external data it is also the file
    whose folder holds that data).
    """
    if isinstance(model, (bytes, bytearray, memoryview)):
        proto = onnx.ModelProto()
        try:
            proto.ParseFromString(bytes(model))
        except Exception as e:  # protobuf's DecodeError and friends
            raise ModelLoadError(f"{source or '<memory>'}: the {len(model)} bytes given are not a "
                                 f"serialized ONNX model ({type(e).__name__}: {e})") from None
        model = proto
    if isinstance(model, onnx.ModelProto):
        src = source or "<memory>"
        check_model_proto(model, src)
        base = os.path.dirname(os.path.abspath(source)) if source else None
        external = _external_in_memory(model, base, src)
    elif isinstance(model, (str, os.PathLike)):
        src = source or os.fspath(model)
        model, external = load_model_proto(model)
    else:
        raise TypeError(f"import_onnx expects a path, an onnx.ModelProto or its bytes, not "
                        f"{type(model).__name__}")
    return _Importer(model, src, external).run()


def _external_in_memory(model, base, src):
    from onnx.external_data_helper import uses_external_data
    if not any(uses_external_data(t) for t in model.graph.initializer):
        return {}
    if base is None:
        raise ModelLoadError(f"{src}: the model refers to external data files but was given in "
                             f"memory without its path; pass source=<model path> or load from the file")
    return map_external_data(model, base, src)


class _Importer:
    def __init__(self, model: onnx.ModelProto, source: str, external: dict[str, np.ndarray]):
        self.model, self.source, self.external = model, source, external
        self.g = model.graph
        self.opsets = {("" if o.domain == "ai.onnx" else o.domain): int(o.version)
                       for o in model.opset_import}
        names = {i.name for i in self.g.input} | {t.name for t in self.g.initializer}
        names |= {o for n in self.g.node for o in n.output if o}
        self.ctx = ConvContext(source, names)
        self.ctx.rank_source = model
        self.env: dict[str, Value] = {}
        self.source_nodes: list[tuple[str, str]] = []

    def run(self) -> Graph:
        self._constants()
        inputs = self._inputs()
        for i, node in enumerate(self._toposorted()):
            self._convert(i, node)
        outputs = []
        for o in self.g.output:
            if o.name not in self.env:
                raise ModelLoadError(f"{self.source}: graph output {o.name!r} is produced by no node")
            outputs.append(self.env[o.name])
        meta = {p.key: p.value for p in self.model.metadata_props}
        return Graph(self.g.name or "graph", inputs, outputs, self.ctx.nodes, meta, self.source,
                     self.source_nodes)

    # --- constants and inputs ---------------------------------------------------------------
    def _constants(self):
        for t in self.g.initializer:
            try:
                arr = tensor_to_array(t, self.external)
            except UnsupportedOpError as e:
                raise UnsupportedOpError(f"{self.source}: {e}") from None
            except Exception as e:  # noqa: BLE001 - a corrupt tensor
                raise ModelLoadError(f"{self.source}: initializer {t.name!r} cannot be read: {e}") from e
            self.env[t.name] = Value(t.name, str(arr.dtype), tuple(arr.shape), arr)

    def _inputs(self) -> list[Value]:
        out = []
        for vi in self.g.input:
            if vi.name in self.env:  # an initializer also listed as input (IR < 4 exporters)
                continue
            tt = vi.type.tensor_type
            if not vi.type.HasField("tensor_type"):
                raise UnsupportedOpError(f"{self.source}: graph input {vi.name!r} is not a tensor")
            try:
                dtype = np_dtype_name(tt.elem_type) if tt.elem_type else "float32"
            except UnsupportedOpError as e:
                raise UnsupportedOpError(f"{self.source}: graph input {vi.name!r}: {e}") from None
            shape = None
            if tt.HasField("shape"):
                shape = tuple(d.dim_value if d.HasField("dim_value") else
                              (d.dim_param or f"{vi.name}_dim{i}") for i, d in enumerate(tt.shape.dim))
            v = Value(vi.name, dtype, shape)
            self.env[vi.name] = v
            out.append(v)
        return out

    # --- nodes -------------------------------------------------------------------------------
    def _toposorted(self) -> list[onnx.NodeProto]:
        """Nodes in dependency order (the spec requires it, but some exporters do not comply).

        Kahn's algorithm: a node waits on the count of its inputs not yet produced; the ready
        node earliest in the file goes first, so a well-ordered file keeps its order."""
        nodes = list(self.g.node)
        ready = set(self.env) | {""}
        waiting: dict[str, list[int]] = {}
        missing = []
        for k, n in enumerate(nodes):
            names = {i for i in n.input if i not in ready}
            missing.append(len(names))
            for name in names:
                waiting.setdefault(name, []).append(k)
        queue = [k for k, m in enumerate(missing) if m == 0]  # sorted: already a heap
        order = []
        while queue:
            k = heapq.heappop(queue)
            order.append(nodes[k])
            for name in nodes[k].output:
                for j in waiting.pop(name, []):
                    missing[j] -= 1
                    if missing[j] == 0:
                        heapq.heappush(queue, j)
        if len(order) < len(nodes):  # a cycle or an undefined name: report the first culprit
            produced = ready | {o for n in order for o in n.output}
            n = next(n for k, n in enumerate(nodes) if missing[k] > 0)
            absent = [i for i in n.input if i not in produced]
            raise ModelLoadError(f"{self.source}: node {n.name or n.op_type!r} ({n.op_type}) reads "
                                 f"{absent[0]!r}, which no node, input or initializer produces")
        return order

    def _used(self) -> set[str]:
        if not hasattr(self, "_used_names"):
            self._used_names = {i for n in self.g.node for i in n.input} | {o.name for o in self.g.output}
        return self._used_names

    def _convert(self, index: int, p: onnx.NodeProto):
        ctx = self.ctx
        domain = "" if p.domain == "ai.onnx" else p.domain
        opset = self.opsets.get(domain, 0)
        used = self._used()
        node = OnnxNode(p.op_type, domain, ctx._unique_node_name(p.name or f"{p.op_type}_{index}"),
                        opset, [self.env[i] if i else None for i in p.input], list(p.output),
                        used_outputs=[bool(o) and o in used for o in p.output])
        ctx._used_node_names.discard(node.name)  # emit() claims it for the first cnnrt node
        self.source_nodes.append((node.name, p.op_type))
        ctx.node, ctx.fresh = node, set()
        fn = find_converter(p.op_type, domain, opset) if (domain == "" or domain in self.opsets) else None
        hint = ""
        if fn is None and domain:  # a custom op: installed packages may provide it
            from ..plugins.custom_ops import load_entry_points, unregistered_hint
            load_entry_points()
            fn = find_converter(p.op_type, domain, opset) if domain in self.opsets else None
            hint = unregistered_hint(domain, p.op_type)
        if fn is None:
            dom = f"{domain} " if domain else ""
            raise UnsupportedOpError(f"{self.source}: node {node.name!r} uses op {dom}{p.op_type} "
                                     f"(opset {opset}), which cnnrt does not support{hint}")
        try:
            node.attrs = attribute_dict(p, self.external)
            outs = fn(ctx, node)
        except CnnrtError as e:
            if str(e).startswith(self.source):
                raise
            raise type(e)(f"{ctx.describe()}: {e}") from e
        except Exception as e:  # noqa: BLE001 - malformed node (missing attribute, bad input count)
            raise ModelLoadError(f"{ctx.describe()}: malformed node ({type(e).__name__}: {e})") from e
        self._bind_outputs(node, list(outs))

    def _bind_outputs(self, node: OnnxNode, outs: list[Value]):
        ctx = self.ctx
        for k, name in enumerate(node.output_names):
            if k >= len(outs):
                if node.used_outputs[k]:
                    ctx.unsupported(f"output {k} ({name!r}) is not supported")
                continue
            v = outs[k]
            if not name:
                continue
            if id(v) not in ctx.fresh:  # an existing value passed through: give it its own name
                v = ctx.emit1("identity", [v])
            v.name = name
            self.env[name] = v
