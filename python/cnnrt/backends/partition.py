"""Fallback between backends: nodes the chosen backend does not support run on another one.

Stages:
  1. place: each node goes to the first backend, in order (the chosen one, then the fallback
     order), whose supports(node) says yes; a node none of them supports is an error naming
     its op, node and file, and the backends tried;
  2. cut: the nodes are put in a topological order that keeps each backend's nodes together
     where the dependencies allow (Kahn's algorithm, staying on the current backend while it
     has a ready node, so parallel branches do not alternate between backends), then cut into
     contiguous segments of one backend each; each segment becomes a graph of its own (with
     its own Value objects, since a backend may drop the constants it compiled) whose inputs
     are what it reads from the graph inputs or earlier segments, and whose outputs are what
     later segments or the graph outputs read;
  3. compile each segment with its backend; CompositeExecutable runs them in order.
The report of the result has `node_backends` (node -> backend) whether or not anything fell
back (the triton report's own `placement` maps its steps to ONNX nodes).
"""

from __future__ import annotations

import heapq
import warnings

from ..errors import UnsupportedOpError
from ..ir import Graph, Node, Value
from .base import Backend, CompileOptions, Executable
from .composite import CompositeExecutable, Segment

DEFAULT_FALLBACK = ("cpu", "reference")


def fallback_backends(chosen: Backend, fallback) -> list[Backend]:
    """The backends to try after `chosen`: fallback is True/None (DEFAULT_FALLBACK), False (none),
    a name or a list of names; unavailable ones are skipped."""
    from .registry import get_backend
    if fallback is False:
        return []
    names = (DEFAULT_FALLBACK if fallback in (None, True) else
             [fallback] if isinstance(fallback, str) else list(fallback))
    out = []
    for name in names:
        b = get_backend(name)
        if b is not chosen and b.available() and b not in out:
            out.append(b)
    return out


def compile_with_fallback(graph: Graph, chosen: Backend, fallbacks: list[Backend],
                          options: CompileOptions) -> Executable:
    # no fallback: the chosen backend compiles everything or refuses in its own words
    placement = place(graph, [chosen, *fallbacks]) if fallbacks else {}
    if all(b is chosen for b in placement.values()):
        exe = chosen.compile(graph, options)
        exe.report.setdefault("node_backends", {n.name: chosen.name for n in graph.nodes})
        return exe
    moved = [n for n in graph.nodes if placement[id(n)] is not chosen]
    where = sorted({placement[id(n)].name for n in moved})
    # said out loud, as onnxruntime logs its fallbacks: a slower backend may now run part of it
    warnings.warn(f"{graph.source}: {len(moved)} of {len(graph.nodes)} nodes fall back from "
                  f"{chosen.name} to {', '.join(where)} (e.g. {moved[0].name!r}, op {moved[0].op}); "
                  "compiled().report['node_backends'] lists them, fallback=False refuses instead",
                  RuntimeWarning, stacklevel=4)
    segments = []
    for k, (backend, nodes) in enumerate(cut(graph, placement)):
        sub, reads, writes = segment_graph(graph, nodes, k)
        # backend-specific options (precision, extra) are the chosen backend's only
        opts = options if backend is chosen else CompileOptions(options.num_threads, options.isa)
        segments.append(Segment(backend.name, sub, backend.compile(sub, opts),
                                [id(v) for v in reads], [id(v) for v in writes]))
    return CompositeExecutable(graph, segments)


def place(graph: Graph, backends: list[Backend]) -> dict[int, Backend]:
    """id(node) -> the first backend that supports it."""
    placement = {}
    for n in graph.nodes:
        b = next((b for b in backends if _supports(b, n)), None)
        if b is None:
            raise UnsupportedOpError(f"{graph.source}: node {n.name!r} (op {n.op}, from "
                                     f"{', '.join(n.origin) or 'the model'}) is supported by none of "
                                     f"the backends tried ({', '.join(b.name for b in backends)})"
                                     + _custom_hint(n))
        placement[id(n)] = b
    return placement


def _supports(b: Backend, n: Node) -> bool:
    try:
        return b.supports(n)
    except NotImplementedError:  # a plugin that does not say takes everything; its compile decides
        return True


def _custom_hint(n: Node) -> str:
    from ..plugins.custom_ops import custom_op
    c = custom_op(n.op)
    if c is None:
        return ""
    return (f"; {c.describe()} has kernels: {', '.join(c.kernels()) or 'none'} (numpy runs on "
            "reference and cpu, cpp on cpu after cnnrt.load_plugin, triton on triton)")


def grouped_order(graph: Graph, placement: dict[int, Backend]) -> list[Node]:
    """A topological order of the nodes that switches backend only when the current one has no
    node ready; among ready nodes of a backend, the earliest in the graph goes first."""
    index = {id(n): i for i, n in enumerate(graph.nodes)}
    prod = graph.producers()
    waiting = [len({id(prod[id(v)]) for v in n.inputs if v is not None and id(v) in prod})
               for n in graph.nodes]
    readers: dict[int, set[int]] = {}
    for n in graph.nodes:
        for v in n.inputs:
            if v is not None and id(v) in prod:
                readers.setdefault(index[id(prod[id(v)])], set()).add(index[id(n)])
    ready: dict[int, list[int]] = {}  # id(backend) -> heap of node indices
    for i, w in enumerate(waiting):
        if w == 0:
            heapq.heappush(ready.setdefault(id(placement[id(graph.nodes[i])]), []), i)
    order, current = [], None
    while any(ready.values()):
        if not ready.get(current):
            current = min((h[0], b) for b, h in ready.items() if h)[1]
        i = heapq.heappop(ready[current])
        order.append(graph.nodes[i])
        for j in sorted(readers.get(i, ())):
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready.setdefault(id(placement[id(graph.nodes[j])]), []), j)
    return order


def cut(graph: Graph, placement: dict[int, Backend]) -> list[tuple[Backend, list[Node]]]:
    runs: list[tuple[Backend, list[Node]]] = []
    for n in grouped_order(graph, placement):
        b = placement[id(n)]
        if runs and runs[-1][0] is b:
            runs[-1][1].append(n)
        else:
            runs.append((b, [n]))
    return runs


def segment_graph(graph: Graph, nodes: list[Node], k: int) -> tuple[Graph, list[Value], list[Value]]:
    """The nodes as a graph of their own: inputs are what they read from outside (in order of
    first use), outputs what anything after them (or the graph's outputs) reads. Returns it
    with the whole graph's Values behind its inputs and outputs."""
    inside = {id(n) for n in nodes}
    produced = {id(v) for n in nodes for v in n.outputs}
    read_after = {id(v) for n in graph.nodes if id(n) not in inside for v in n.inputs if v is not None}
    read_after |= {id(v) for v in graph.outputs}
    copies: dict[int, Value] = {}

    def cp(v: Value | None) -> Value | None:
        if v is None:
            return None
        if id(v) not in copies:
            copies[id(v)] = Value(v.name, v.dtype, v.shape, v.const)
        return copies[id(v)]

    reads: list[Value] = []
    for n in nodes:
        for v in n.inputs:
            if v is not None and not v.is_const and id(v) not in produced and v not in reads:
                reads.append(v)
    writes = [v for n in nodes for v in n.outputs if id(v) in read_after]
    sub_nodes = [Node(n.op, n.name, [cp(v) for v in n.inputs], [cp(v) for v in n.outputs],
                      dict(n.attrs), list(n.origin)) for n in nodes]
    sub = Graph(f"{graph.name}/segment{k}", [cp(v) for v in reads], [cp(v) for v in writes],
                sub_nodes, dict(graph.metadata), graph.source)
    return sub, reads, writes
