"""Running a custom op's numpy kernel: from the reference backend (node by node) and from the
cpu engine's plugin step (through the C trampoline in engine/bindings/plugin_bindings.cc).
Both check what the kernel returns against the shapes the op's shape function promised."""

from __future__ import annotations

import numpy as np

from ..errors import CnnrtError, PluginError
from .custom_ops import CustomOp


def call_numpy(op: CustomOp, arrays: list, attrs: dict, out_shapes: list[tuple],
               where: str) -> list[np.ndarray]:
    """op.numpy(*arrays, **attrs), checked: one float array per output, of the promised shape.
    where: the node, for messages."""
    kernel = op.numpy
    try:
        result = kernel(*arrays, **attrs)
    except CnnrtError:
        raise
    except Exception as e:  # noqa: BLE001 - the plugin's own failure
        raise PluginError(f"{where}: the numpy kernel {kernel.__qualname__!r} of {op.describe()} "
                          f"raised {type(e).__name__}: {e}") from e
    outs = list(result) if isinstance(result, (tuple, list)) else [result]
    if len(outs) != len(out_shapes):
        raise PluginError(f"{where}: the numpy kernel {kernel.__qualname__!r} of {op.describe()} "
                          f"returned {len(outs)} array(s), the node has {len(out_shapes)} output(s)")
    checked = []
    for k, (o, want) in enumerate(zip(outs, out_shapes)):
        o = np.asarray(o)
        if o.shape != tuple(want) or o.dtype.kind != "f":
            raise PluginError(f"{where}: the numpy kernel {kernel.__qualname__!r} of {op.describe()} "
                              f"returned {o.dtype}{list(o.shape)} for output {k}; the shape "
                              f"function promised float32{list(want)}")
        checked.append(o.astype(np.float32, copy=False))
    return checked


def reference_kernel(op: CustomOp):
    """The reference backend's kernel(node, arrays) for this op."""
    def run(node, arrays):
        return call_numpy(op, [_read_only(a) for a in arrays], dict(node.attrs),
                          [v.shape for v in node.outputs], f"node {node.name!r}")
    return run


def _read_only(a):
    """A view the kernel cannot write through (as on the cpu backend): inputs stay as given."""
    if a is None:
        return None
    v = np.asarray(a).view()
    v.setflags(write=False)
    return v


def engine_callback(op: CustomOp):
    """fn(inputs, outputs, attrs) for _engine.register_python_kernel: fills the outputs."""
    def run(inputs, outputs, attrs):
        try:
            results = call_numpy(op, inputs, attrs, [o.shape for o in outputs], "numpy kernel")
        except PluginError as e:  # the engine prefixes the step (node) name
            raise RuntimeError(str(e).removeprefix("numpy kernel: ")) from None
        for o, r in zip(outputs, results):
            np.copyto(o, r)
    return run
