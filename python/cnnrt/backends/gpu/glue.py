"""Data movement the GPU kernels do not cover (transpose, general concat and reshape, split,
slice, pad, gather, a softmax over a non-trailing layout): torch ops on logical (ONNX-order)
views. Captured into the CUDA graph like any launch."""

from __future__ import annotations

import numpy as np

from ...errors import UnsupportedOpError
from ...ir import Node
from ...ir.ops import pad_amounts, slice_params

RESHAPES = ("reshape", "flatten", "squeeze", "unsqueeze")


def glue_fn(n: Node):
    """f(logical input tensors) -> logical output tensors, in torch, for node n."""
    import torch
    a, op = n.attrs, n.op
    if op in RESHAPES:
        shape = tuple(n.outputs[0].shape)
        return lambda xs: [xs[0].reshape(shape)]
    if op == "transpose":
        return lambda xs: [xs[0].permute(*a["perm"])]
    if op == "concat":
        axis = int(a["axis"]) % len(n.outputs[0].shape)
        return lambda xs: [torch.cat(xs, axis)]
    if op == "split":
        axis = int(a.get("axis", 0)) % len(n.inputs[0].shape)
        return lambda xs: list(torch.split(xs[0], list(a["sizes"]), axis))
    if op == "slice":
        starts, steps, lens = slice_params(n)

        def slc(xs):
            t = xs[0]
            for ax, (s, st, ln) in enumerate(zip(starts, steps, lens)):
                if st < 0:  # torch slices forward only: flip the axis, then slice forward
                    t, s, st = t.flip(ax), t.shape[ax] - 1 - s, -st
                t = t[(slice(None),) * ax + (slice(s, s + ln * st, st),)]
            return [t]
        return slc
    if op == "pad":
        pads = pad_amounts(n)
        r = len(n.inputs[0].shape)
        value = n.input(2)
        fill = float(value.const.ravel()[0]) if value is not None and value.const.size else 0.0
        tp = [p for i in reversed(range(r)) for p in (pads[i], pads[i + r])]
        return lambda xs: [torch.nn.functional.pad(xs[0], tp, value=fill)]
    if op == "gather":
        axis = int(a.get("axis", 0)) % len(n.inputs[0].shape)
        idx = np.asarray(n.inputs[1].const, dtype=np.int64)
        idx = np.where(idx < 0, idx + n.inputs[0].shape[axis], idx)
        shape = tuple(n.outputs[0].shape)

        on_device = {}  # the indices, copied once (during warm-up: no host copy in a CUDA graph)

        def gather(xs):
            dev = xs[0].device
            if dev not in on_device:
                on_device[dev] = torch.as_tensor(idx.ravel(), device=dev)
            return [xs[0].index_select(axis, on_device[dev]).reshape(shape)]
        return gather
    if op == "softmax":  # an NHWC softmax over a trailing axis: compute on the logical view
        axis = int(a.get("axis", -1)) % len(n.inputs[0].shape)
        if a.get("coerce_2d"):
            def sm2(xs):
                x = xs[0]
                return [torch.softmax(x.reshape(*x.shape[:axis], -1).float(), -1).reshape(x.shape)]
            return sm2
        return lambda xs: [torch.softmax(xs[0].float(), axis)]
    raise UnsupportedOpError(f"node {n.name!r}: op {op!r} has no GPU kernel")
