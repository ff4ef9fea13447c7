"""A custom op's Triton launcher as a GPU step (cnnrt.register_op(..., triton=launcher)).

The launcher's contract is the simplest a plugin author can write against: it gets the node's
inputs as contiguous float32 tensors in their logical (ONNX, NCHW) shapes on the device (absent
optional inputs as None, constant inputs uploaded once) and the node's attributes as keyword
arguments, and returns its output tensor(s); cnnrt copies them into the outputs' storage (NHWC,
compute dtype). The conversions cost a copy each way; a kernel wanting cnnrt's own layout would
be a built-in one.
"""

from __future__ import annotations

from ...errors import UnsupportedOpError
from .layout import logical_view


def lower_custom(low, n) -> None:
    """Appends the step running custom op node n (low: the Lowering)."""
    from ...plugins.custom_ops import custom_op
    launcher, attrs = custom_op(n.op).triton, dict(n.attrs)
    ins = [None if v is None or v.is_const else low.storage(v) for v in n.inputs]
    if any(s is not None and s.kind == "hwc" for s in ins):
        raise UnsupportedOpError(f"{low.g.source}: node {n.name!r} ({n.op}) reads a flatten the "
                                 "GPU backend keeps in (h, w, c) order")
    consts = [v.const if v is not None and v.is_const else None for v in n.inputs]
    outs = [low._out(n, i) for i in range(len(n.outputs))]

    def bind(c):
        srcs = [None if s is None else logical_view(c.t(s), s) for s in ins]
        weights = [c.upload(w, fp32=True) for w in consts]
        dsts = [logical_view(c.t(o), o) for o in outs]

        def launch():
            xs = [w if s is None else s.float().contiguous() for s, w in zip(srcs, weights)]
            result = launcher(*xs, **attrs)
            result = list(result) if isinstance(result, (tuple, list)) else [result]
            if len(result) != len(dsts):
                raise UnsupportedOpError(f"node {n.name!r}: the triton launcher of {n.op} returned "
                                         f"{len(result)} tensor(s) for {len(dsts)} output(s)")
            for d, r in zip(dsts, result):
                d.copy_(r.reshape(d.shape))
        return launch
    low._step(n, f"triton custom {n.op} ({getattr(launcher, '__qualname__', launcher)})",
              [s for s in ins if s is not None], outs, bind)
