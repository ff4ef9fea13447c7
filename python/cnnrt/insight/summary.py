"""`cnnrt summary MODEL`: what a model costs and what the optimizer makes of it, before
anything runs — and without needing the backend to be able to run it.

Stages:
  1. import; an ONNX op the frontend does not know stops here, and the summary lists every such
     node (from the ONNX file) with the importer's error;
  2. the graph as given (shapes bound, nothing fused) and the optimized graph, each accounted
     from the op schema (accounting/);
  3. the fusions (each optimized node standing for several ONNX nodes) and the ONNX nodes
     folded or removed (origins.py);
  4. the nodes the backend does not support (`Backend.supports`), then a compile for the planned
     activation arena vs the naive sum, its failure reported instead of raised.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..accounting import LayerCost, account, format_table
from ..errors import CnnrtError, UnsupportedOpError
from ..ir.ops import Cost
from .origins import coverage, fusions


@dataclass
class GraphSummary:
    source: str
    backend: str
    onnx_ops: Counter                          # ONNX op type -> node count
    given: tuple[list[LayerCost], Cost] | None = None
    optimized: tuple[list[LayerCost], Cost] | None = None
    fusions: list[tuple[str, str, list[tuple[str, str]]]] = field(default_factory=list)
    folded: list[tuple[str, str]] = field(default_factory=list)
    unsupported: list[tuple[str, str, str]] = field(default_factory=list)  # (node, op, ONNX nodes)
    report: dict = field(default_factory=dict)  # the backend's compile report, when it compiled
    error: str | None = None                   # why import or compile failed
    preprocess: str = ""

    @property
    def runnable(self) -> bool:
        return self.error is None and not self.unsupported

    def __str__(self) -> str:
        name = Path(self.source).name
        n_onnx = sum(self.onnx_ops.values())
        lines = []
        if self.given is not None:
            rows, total = self.given
            lines += [format_table(rows, total, title=f"{name}: {len(rows)} layers as given"), ""]
            lines += self._side_by_side(n_onnx)
        else:
            ops = ", ".join(f"{op} x{k}" for op, k in self.onnx_ops.most_common())
            lines.append(f"{name}: {n_onnx} ONNX nodes ({ops})")
        if self.fusions:
            lines.append(f"fusions: {len(self.fusions)} steps stand for several ONNX nodes")
            for step, op, parts in self.fusions:
                lines.append(f"  {step:<28} {op:<22} <- {', '.join(f'{n} ({o})' for n, o in parts)}")
        if self.folded:
            lines.append(f"folded or removed ({len(self.folded)}): "
                         + ", ".join(f"{n} ({o})" for n, o in self.folded[:12])
                         + (f" +{len(self.folded) - 12} more" if len(self.folded) > 12 else ""))
        if self.unsupported:
            lines.append(f"unsupported on backend {self.backend} ({len(self.unsupported)} nodes):")
            lines += [f"  {node:<28} {op:<16} from {origin}" for node, op, origin in self.unsupported]
        elif self.error is None:
            lines.append(f"every node runs on backend {self.backend}")
        if self.error:
            lines.append(f"cannot run: {self.error}")
        if self.preprocess:
            lines.append(f"preprocessing: {self.preprocess}")
        return "\n".join(lines)

    __repr__ = __str__

    def optimized_table(self) -> str:
        """The per-step table of what the optimized graph executes (fused ops named by parts)."""
        if self.optimized is None:
            return "(no optimized graph: the model did not import)"
        rows, total = self.optimized
        return format_table(rows, total, title=f"optimized: {len(rows)} steps")

    def _side_by_side(self, n_onnx: int) -> list[str]:
        (g_rows, g), (o_rows, o) = self.given, self.optimized
        mib = lambda b: f"{b / 2**20:.2f} MiB"
        act = lambda rows: sum(r.activation_bytes for r in rows)
        table = [("", "given", "optimized"),
                 ("ONNX nodes", f"{n_onnx}", ""),
                 ("steps", f"{len(g_rows)}", f"{len(o_rows)}"),
                 ("params", f"{g.params:,}", f"{o.params:,}"),
                 ("MACs", f"{g.macs:,}", f"{o.macs:,}"),
                 ("FLOPs", f"{g.flops:,}", f"{o.flops:,}"),
                 ("bytes moved", mib(g.bytes_read + g.bytes_written), mib(o.bytes_read + o.bytes_written)),
                 ("activations (naive sum)", mib(act(g_rows)), mib(act(o_rows)))]
        r = self.report
        if "arena_bytes" in r:
            table.append(("activation arena (planned)", "", mib(r["arena_bytes"])
                          + f" vs {mib(r['naive_bytes'])} unplanned"))
        lines = [f"{a:<28} {b:>22} {c:>22}" for a, b, c in table]
        lines.append("(params: given counts BatchNorm's scale and bias, optimized counts what the "
                     "steps hold after folding; FLOPs = 2 x MACs + elementwise work)")
        if r:
            where = f"{r.get('isa')}, {r.get('num_threads')} threads" if "isa" in r else r.get("device", "")
            lines.append(f"compiled for backend {r.get('backend')} ({where})")
        return lines + [""]


def summarize(model, backend: str = "cpu", batch: int = 1, num_threads: int = 0,
              precision: str | None = None) -> GraphSummary:
    """The summary of an ONNX model (a path, ModelProto or bytes) for `backend` at `batch`."""
    from ..backends.base import CompileOptions
    from ..backends.registry import get_backend
    from ..frontend.onnx import import_onnx
    from ..passes import prepare
    from ..preprocess import Preprocess

    try:
        graph = import_onnx(model)
    except UnsupportedOpError as e:
        proto, src = _proto(model)
        return GraphSummary(src, backend, Counter(n.op_type for n in proto.graph.node),
                            unsupported=_unknown_to_frontend(proto), error=str(e))
    be = get_backend(backend)
    s = GraphSummary(graph.source, backend, Counter(op for _, op in graph.source_nodes))
    s.preprocess = Preprocess.from_metadata(graph.metadata).describe()
    shapes = {v.name: v.bound_shape(batch) for v in graph.inputs if v.shape is not None}
    given = prepare(graph, shapes, optimize=False)
    optimized = prepare(graph, shapes, optimize=True)
    s.given, s.optimized = account(given), account(optimized)
    s.fusions = fusions(optimized, graph.source_nodes)
    _, s.folded = coverage(optimized, graph.source_nodes)
    s.unsupported = [(n.name, n.op, ", ".join(n.origin)) for n in optimized.nodes if not be.supports(n)]
    if not be.available():
        s.error = f"backend {backend!r} is not available here: {be.why_unavailable()}"
    elif not s.unsupported:
        try:  # compile lets go of the graph's weights: accounting is done by now
            s.report = dict(be.compile(optimized, CompileOptions(num_threads=num_threads,
                                                                  precision=precision)).report)
        except CnnrtError as e:
            s.error = str(e)
    else:
        s.error = f"{len(s.unsupported)} node(s) the {backend} backend does not support"
    return s


def _proto(model):
    import onnx
    if isinstance(model, onnx.ModelProto):
        return model, "<memory>"
    if isinstance(model, (bytes, bytearray)):
        return onnx.load_from_string(bytes(model)), "<memory>"
    return onnx.load(os.fspath(model), load_external_data=False), os.fspath(model)


def _unknown_to_frontend(proto) -> list[tuple[str, str, str]]:
    """(node name, op, "") for each ONNX node with no converter at the model's opset."""
    from ..frontend.onnx_registry import find_converter
    opsets = {("" if o.domain == "ai.onnx" else o.domain): int(o.version) for o in proto.opset_import}
    out = []
    for i, n in enumerate(proto.graph.node):
        domain = "" if n.domain == "ai.onnx" else n.domain
        if domain not in opsets or find_converter(n.op_type, domain, opsets[domain]) is None:
            op = f"{domain}::{n.op_type}" if domain else n.op_type
            out.append((n.name or f"{n.op_type}_{i}", op, "an ONNX op cnnrt cannot import"))
    return out
