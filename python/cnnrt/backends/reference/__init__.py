"""The numpy reference backend: one plain kernel per cnnrt op, and `evaluate` for constant folding.

`evaluate(node, arrays)` runs one node on numpy arrays (None for an absent optional input) and
returns its outputs; the node's attributes must be resolved by shape inference (pads after
auto_pad, split sizes), as they are when the folding pass or an Executable calls it.
"""

from __future__ import annotations

import numpy as np

from ...errors import CnnrtError, ShapeError, UnsupportedOpError
from ...ir import Node
from .kernels import KERNELS


def kernel_for(op: str):
    """The numpy kernel(node, arrays) of a built-in op, or of a custom op with a numpy kernel."""
    fn = KERNELS.get(op)
    if fn is None and "::" in op:
        from ...plugins.custom_ops import custom_op
        from ...plugins.kernels import reference_kernel
        c = custom_op(op)
        fn = reference_kernel(c) if c is not None and c.numpy is not None else None
    return fn


def evaluate(node: Node, arrays: list[np.ndarray | None]) -> list[np.ndarray]:
    fn = kernel_for(node.op)
    if fn is None:
        raise UnsupportedOpError(f"node {node.name!r}: no reference kernel for op {node.op!r}")
    try:
        outs = fn(node, list(arrays))
    except CnnrtError:
        raise
    except (ValueError, IndexError, TypeError) as e:
        shapes = ", ".join("-" if a is None else f"{a.dtype}{list(a.shape)}" for a in arrays)
        raise ShapeError(f"node {node.name!r} ({node.op}) with inputs [{shapes}]: {e}") from e
    return [np.asarray(o) for o in outs]


from .backend import ReferenceBackend, ReferenceExecutable  # noqa: E402  (needs evaluate)

__all__ = ["KERNELS", "kernel_for", "evaluate", "ReferenceBackend", "ReferenceExecutable"]
