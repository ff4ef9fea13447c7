"""The graph IR: Values flow between Nodes; a Graph owns both.

A Value has a name, a dtype, a shape (ints once inferred; a str for a symbolic dim such as the
batch before it is bound; None when unknown yet) and, for weights and folded constants, `const`
(a numpy array). A Node has an op from `ir.ops`, its input Values (None for an absent optional
input), its output Values, attributes, and `origin`: the names of the ONNX nodes it stands for
(fusion passes merge origins, so a fused kernel can be traced back to the model).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np


class ReleasedConst:
    """Stands in for a weight array that a Model let go once its backend held its own copy
    (Graph.release_weights): shape, dtype and size stay, for accounting and shape inference;
    reading the data raises instead of giving a wrong answer."""

    def __init__(self, arr: np.ndarray, source: str):
        self.shape, self.dtype, self.ndim = arr.shape, arr.dtype, arr.ndim
        self.size, self.nbytes = arr.size, arr.nbytes
        self._source = source

    def __array__(self, *args, **kwargs):
        raise RuntimeError(f"{self._source}: this weight was released after compiling (the "
                           "backend keeps its own copy); Model re-imports the model to read it")


@dataclass(eq=False)
class Value:
    name: str
    dtype: str = "float32"
    shape: tuple | None = None
    const: np.ndarray | None = None

    @property
    def is_const(self) -> bool:
        return self.const is not None

    def bound_shape(self, symbolic: int = 1) -> tuple:
        """The shape with every symbolic dim (a name such as "N") set to `symbolic`."""
        return tuple(d if isinstance(d, int) else symbolic for d in self.shape)

    @property
    def size(self) -> int:
        """Element count (shape must be concrete)."""
        return int(np.prod(self.shape, dtype=np.int64)) if self.shape is not None else 0

    def __repr__(self) -> str:
        kind = "const " if self.is_const else ""
        return f"Value({kind}{self.name!r}, {self.dtype}, {self.shape})"


@dataclass(eq=False)
class Node:
    op: str
    name: str
    inputs: list[Value | None]
    outputs: list[Value]
    attrs: dict[str, Any] = field(default_factory=dict)
    origin: list[str] = field(default_factory=list)

    def input(self, i: int) -> Value | None:
        return self.inputs[i] if i < len(self.inputs) else None

    def __repr__(self) -> str:
        ins = ", ".join(v.name if v is not None else "-" for v in self.inputs)
        outs = ", ".join(v.name for v in self.outputs)
        return f"Node({self.op} {self.name!r}: {ins} -> {outs} {self.attrs})"


@dataclass(eq=False)
class Graph:
    name: str
    inputs: list[Value]
    outputs: list[Value]
    nodes: list[Node]
    metadata: dict[str, str] = field(default_factory=dict)
    source: str = "<memory>"  # the file the graph came from, for error messages
    # (name, op type) of every ONNX node imported, as `Node.origin` names them: what a fused
    # step stands for can be checked against the whole model (folded nodes leave no step)
    source_nodes: list[tuple[str, str]] = field(default_factory=list)

    # --- queries -------------------------------------------------------------------------
    def producers(self) -> dict[int, Node]:
        """id(value) -> the node that writes it."""
        return {id(v): n for n in self.nodes for v in n.outputs}

    def consumers(self) -> dict[int, list[Node]]:
        """id(value) -> the nodes that read it (a node reading a value twice appears twice)."""
        out: dict[int, list[Node]] = {}
        for n in self.nodes:
            for v in n.inputs:
                if v is not None:
                    out.setdefault(id(v), []).append(n)
        return out

    def release_weights(self, min_bytes: int) -> None:
        """Replaces float constants of at least min_bytes by ReleasedConst stand-ins (the
        small ones, shapes and scalars, stay)."""
        for v in self.values():
            c = v.const
            if isinstance(c, np.ndarray) and c.dtype.kind == "f" and c.nbytes >= min_bytes:
                v.const = ReleasedConst(c, self.source)

    def values(self) -> list[Value]:
        """Every value, each once: graph inputs, then node inputs and outputs in order."""
        seen: dict[int, Value] = {id(v): v for v in self.inputs}
        for n in self.nodes:
            for v in [*n.inputs, *n.outputs]:
                if v is not None:
                    seen.setdefault(id(v), v)
        return list(seen.values())

    def is_output(self, v: Value) -> bool:
        return any(v is o for o in self.outputs)

    def replace_uses(self, old: Value, new: Value) -> None:
        """Every reader of `old` (nodes and graph outputs) reads `new` instead."""
        for n in self.nodes:
            n.inputs = [new if v is old else v for v in n.inputs]
        self.outputs = [new if v is old else v for v in self.outputs]

    def toposort(self) -> None:
        """Orders nodes so every node follows the producers of its inputs (stable)."""
        prod = self.producers()
        done: set[int] = set()
        order: list[Node] = []
        for root in self.nodes:
            stack = [(root, False)]
            while stack:
                n, expanded = stack.pop()
                if id(n) in done:
                    continue
                if expanded:
                    done.add(id(n))
                    order.append(n)
                    continue
                stack.append((n, True))
                for v in reversed(n.inputs):
                    p = prod.get(id(v)) if v is not None else None
                    if p is not None and id(p) not in done:
                        stack.append((p, False))
        self.nodes = order

    def clone(self) -> "Graph":
        """A deep copy; constant arrays are shared (they are never written in place)."""
        memo = {id(v.const): v.const for v in self.values() if v.const is not None}
        return copy.deepcopy(self, memo)

    def __repr__(self) -> str:
        lines = [f"Graph {self.name!r} ({self.source})"]
        lines += [f"  input  {v!r}" for v in self.inputs]
        lines += [f"  {n!r}" for n in self.nodes]
        lines += [f"  output {v!r}" for v in self.outputs]
        return "\n".join(lines)
