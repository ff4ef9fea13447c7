"""Helpers for pass tests: build small IR graphs by hand, print them canonically, run them."""

from __future__ import annotations

import numpy as np

from cnnrt.ir import Graph, Node, Value


class G:
    """A tiny graph builder: g.input(...), g.const(...), g.node(op, ins, **attrs) -> output Value."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.inputs, self.nodes, self.count = [], [], 0

    def input(self, name, shape):
        v = Value(name, "float32", tuple(shape))
        self.inputs.append(v)
        return v

    def const(self, name, shape=None, array=None, scale=1.0, positive=False):
        a = array if array is not None else self.rng.standard_normal(shape) * scale
        if positive:
            a = np.abs(a) + 0.5
        a = np.asarray(a, dtype=np.float32 if np.asarray(a).dtype.kind == "f" else np.int64)
        return Value(name, str(a.dtype), tuple(a.shape), a)

    def node(self, op, ins, n_out=1, name=None, **attrs):
        self.count += 1
        name = name or f"{op}_{self.count}"
        outs = [Value(f"{name}_out{i}" if n_out > 1 else f"{name}_out") for i in range(n_out)]
        self.nodes.append(Node(op, name, list(ins), outs, dict(attrs), [name]))
        return outs[0] if n_out == 1 else outs

    def graph(self, *outputs):
        return Graph("test", list(self.inputs), list(outputs), list(self.nodes))


def describe(graph: Graph) -> list[str]:
    """One line per node: op, the attributes that matter, and which inputs are constants."""
    keep = ("act", "post_act", "kind", "inplace", "alpha", "beta")
    lines = []
    for n in graph.nodes:
        attrs = {k: n.attrs[k] for k in keep if k in n.attrs and n.attrs[k] not in ("none", 0, 0.0)}
        ins = ["-" if v is None else ("const" if v.is_const else "x") for v in n.inputs]
        lines.append(f"{n.op}{attrs if attrs else ''}({', '.join(ins)})")
    return lines


def run_reference(graph: Graph, feeds: list[np.ndarray]) -> list[np.ndarray]:
    """Executes a graph with inferred shapes on the numpy reference kernels."""
    from cnnrt.backends.reference import evaluate

    env = {id(v): a for v, a in zip(graph.inputs, feeds)}
    for n in graph.nodes:
        arrays = [None if v is None else (v.const if v.is_const else env[id(v)]) for v in n.inputs]
        for v, a in zip(n.outputs, evaluate(n, arrays)):
            env[id(v)] = a
    return [v.const if v.is_const else env[id(v)] for v in graph.outputs]
