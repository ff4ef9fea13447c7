"""Small helpers shared by the fusion passes."""

from __future__ import annotations

import numpy as np

from ..ir import Graph, Node, Value


def single_reader(graph: Graph, readers: dict, v: Value, node: Node) -> bool:
    """True if `node` is the only reader of `v` (reading it once) and v is no graph output."""
    r = readers.get(id(v), [])
    return len(r) == 1 and r[0] is node and not graph.is_output(v)


def const_f32(name: str, array) -> Value:
    """A new read-only float32 constant Value."""
    a = np.ascontiguousarray(array, dtype=np.float32)
    a.setflags(write=False)
    return Value(name, "float32", tuple(a.shape), a)
