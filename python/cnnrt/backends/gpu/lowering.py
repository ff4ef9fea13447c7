"""Lowers an optimized graph to a list of GPU steps: each a Triton kernel launch (or, for pure
data movement the kernels do not cover, a torch copy), with the storage it reads and writes.

Nothing touches the device here: a step's `bind(ctx)` later turns it into a launch closure once
the arena exists (weights are uploaded then, in the kernel's layout, once).

Fusions the kernels carry out beyond the graph passes:
  - squeeze-and-excitation: Mul(x, gate) read only by a conv becomes that conv's input-channel
    scale (the conv's A tile is scaled as it is gathered), so the biggest tensor of an MBConv
    block is not written and read once more;
  - sibling 1x1 convs reading the same input with the same stride and activation (three of the
    four inception branches) run as one wider conv: the columns of a branch that feeds a concat
    go straight into its slice, the others into one scratch buffer that the next convs read
    their channel slice of;
  - Flatten(NHWC) -> Gemm: the Gemm's weight rows are permuted to (h, w, c) order at compile time,
    so the flatten is free (no NHWC -> NCHW reorder before the classifier);
  - inplace Concat: convs and pools write into their channel slice of the concat output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ...errors import UnsupportedOpError
from ...ir import Graph, Node, Value
from ...ir.ops import attrs_with_defaults, reduce_axes
from .custom import lower_custom
from .glue import RESHAPES, glue_fn
from .layout import Storage, logical_is_physical, logical_view, phys_shape, to_physical_order

SLICE_WRITERS = ("conv", "max_pool", "avg_pool")   # kernels with an output channel offset
ALIASES = ("identity", "dropout", "cast")
GLUE = ("transpose", "split", "slice", "pad", "gather", "concat") + RESHAPES


@dataclass
class Step:
    name: str                      # the IR node (or "input:x" / "output:y")
    kernel: str                    # what runs, for the compile report
    reads: list[Storage]
    writes: list[Storage]
    bind: Callable                 # bind(ctx) -> launch(): called once the arena exists
    origin: list[str] = field(default_factory=list)


def _epi(a: dict, prefix: str = "") -> tuple:
    return (a[prefix + "act"], float(a[prefix + "alpha"]), float(a[prefix + "beta"]))


def is_depthwise(n: Node) -> bool:
    w = n.inputs[1].shape
    g = int(n.attrs.get("group", 1))
    return g > 1 and g == n.inputs[0].shape[1] == w[0] and w[1] == 1


def unsupported_reason(n: Node) -> str | None:
    """Why the GPU backend cannot run node n (None: it can)."""
    for v in [*n.inputs, *n.outputs]:
        if v is not None and not v.is_const and v.dtype != "float32":
            return f"{v.dtype} tensor {v.name!r} (the GPU backend runs float models)"
    op = n.op
    if op in ("conv", "gemm") and not n.inputs[1].is_const:
        return "non-constant weights"
    if op == "conv":
        if len(n.inputs[0].shape) != 4:
            return "only 2-D convolutions"
        g = int(n.attrs.get("group", 1))
        if g != 1 and not is_depthwise(n):
            return f"grouped conv (group={g}) that is not depthwise"
        if g != 1 and n.input(3) is not None:
            return "depthwise conv with a fused residual"
        return None
    if op == "gemm":
        return None
    if op == "matmul":
        ok = len(n.inputs[0].shape) == 2 and n.inputs[1].is_const and n.inputs[1].const.ndim == 2
        return None if ok else "matmul other than (N, K) x constant (K, M)"
    if op in ("max_pool", "avg_pool", "global_avg_pool", "global_max_pool", "lrn"):
        return None if len(n.inputs[0].shape) == 4 else "only 4-D (N, C, H, W) inputs"
    if op == "reduce_mean":
        ok = len(n.inputs[0].shape) == 4 and sorted(reduce_axes(n)) == [2, 3]
        return None if ok else "reduce_mean other than over (H, W) of a 4-D tensor"
    if op == "softmax":
        x = n.inputs[0]
        axis = int(n.attrs.get("axis", -1)) % len(x.shape)
        ok = axis == len(x.shape) - 1 or n.attrs.get("coerce_2d")
        return None if ok else "softmax over an axis other than the last"
    if op == "pad" and n.attrs.get("mode", "constant") != "constant":
        return f"pad mode {n.attrs.get('mode')!r}"
    if op in ("activation", "binary", *ALIASES, *GLUE):
        return None
    if "::" in op:  # a custom op: its triton launcher (gpu/custom.py)
        from ...plugins.custom_ops import custom_op
        c = custom_op(op)
        return None if c is not None and c.triton else f"custom op {op} has no triton kernel"
    return f"op {op!r} has no GPU kernel"


class Lowering:
    """Storage for every value and the step list, for one graph."""

    def __init__(self, graph: Graph, kernels):
        self.g, self.k = graph, kernels
        self.prod = graph.producers()
        self.readers = graph.consumers()
        self.st: dict[int, Storage] = {}
        self.steps: list[Step] = []
        self.gated: dict[int, tuple[Value, Value]] = {}  # id(mul output) -> (x, gate)
        self.merged: dict[int, list[Node]] = {}         # id(first sibling) -> the siblings
        self.skip: set[int] = set()                      # nodes run as part of another step

    # --- storage -------------------------------------------------------------------------
    def storage(self, v: Value) -> Storage:
        return self.st[id(v)]

    def _own(self, v: Value, kind: str = "own") -> Storage:
        s = Storage(v, phys_shape(v), len(v.shape) == 4, kind=kind)
        self.st[id(v)] = s
        return s

    def _alias(self, v: Value, owner: Storage, kind: str = "alias", **kw) -> Storage:
        s = Storage(v, phys_shape(v), len(v.shape) == 4, owner=owner, kind=kind, **kw)
        self.st[id(v)] = s
        return s

    def _only_read_by(self, v: Value, n: Node) -> bool:
        rs = self.readers.get(id(v), [])
        return len(rs) == 1 and rs[0] is n and not self.g.is_output(v)

    def _slice_inputs(self, concat: Node) -> set[int]:
        """Inputs of an inplace channel concat whose producer can write into its slice."""
        out = set()
        if not concat.attrs.get("inplace") or len(concat.outputs[0].shape) != 4:
            return out
        for v in concat.inputs:
            p = self.prod.get(id(v))
            if (p is not None and p.op in SLICE_WRITERS and not v.is_const
                    and not (p.op == "conv" and is_depthwise(p))
                    and self._only_read_by(v, concat) and concat.inputs.count(v) == 1):
                out.add(id(v))
        return out

    # --- lowering ------------------------------------------------------------------------
    def run(self) -> "Lowering":
        for n in self.g.nodes:  # concat outputs first: their sliced inputs are views of them
            if n.op == "concat":
                owner = self._own(n.outputs[0])
                off = 0
                for v in n.inputs:
                    if id(v) in self._slice_inputs(n):
                        self._alias(v, owner, "slice", channel_offset=off)
                    off += v.shape[1]
        self._find_gates()
        self._find_siblings()
        for i, v in enumerate(self.g.inputs):
            st = self._own(v, "input") if id(v) not in self.st else self.st[id(v)]
            self.steps.append(Step(f"input:{v.name}", "torch copy (NCHW fp32 -> NHWC)", [], [st],
                                   _bind_io(i, st, inbound=True)))
        for n in self.g.nodes:
            reason = unsupported_reason(n)
            if reason:
                raise UnsupportedOpError(
                    f"{self.g.source}: node {n.name!r} (op {n.op}, from "
                    f"{', '.join(n.origin) or 'the model'}) cannot run on the GPU backend: {reason}")
            if id(n) in self.merged:
                self._merged_convs(self.merged[id(n)])
            elif "::" in n.op:
                lower_custom(self, n)
            elif id(n) not in self.skip:
                getattr(self, "_" + n.op, self._glue)(n)
        for i, v in enumerate([v for v in self.g.outputs if not v.is_const]):
            st = self.storage(v)
            if st.kind == "hwc":
                raise UnsupportedOpError(f"{self.g.source}: output {v.name!r} is a flatten the "
                                         "GPU backend keeps in (h, w, c) order")
            self.steps.append(Step(f"output:{v.name}", "torch copy (NHWC -> NCHW fp32)", [st], [],
                                   _bind_io(i, st, inbound=False)))
        return self

    def _plain_conv(self, n: Node) -> bool:
        return (n.op == "conv" and int(n.attrs.get("group", 1)) == 1 and n.inputs[1].is_const
                and len(n.inputs[0].shape) == 4)

    def _find_gates(self) -> None:
        """Mul(x, gate[N, C, 1, 1]) with no activation, read only by one plain conv."""
        for n in self.g.nodes:
            if n.op != "binary" or n.attrs.get("kind") != "mul" or n.attrs.get("act", "none") != "none":
                continue
            y = n.outputs[0]
            rs = self.readers.get(id(y), [])
            if len(rs) != 1 or not self._plain_conv(rs[0]) or rs[0].inputs[0] is not y \
                    or self.g.is_output(y) or any(v.is_const for v in n.inputs):
                continue
            a, b = n.inputs
            for x, gate in ((a, b), (b, a)):
                if (len(x.shape) == 4 and tuple(gate.shape) == (x.shape[0], x.shape[1], 1, 1)
                        and tuple(y.shape) == tuple(x.shape)):
                    self.gated[id(y)] = (x, gate)
                    self.skip.add(id(n))
                    break

    def _find_siblings(self) -> None:
        """Groups of 1x1 convs reading one input with the same stride, pads and activation;
        at most one of them may write a concat slice (it takes the first output columns)."""
        groups: dict[tuple, list[Node]] = {}
        for n in self.g.nodes:
            if not self._plain_conv(n) or n.input(3) is not None or id(n.inputs[0]) in self.gated:
                continue
            a = attrs_with_defaults(n)
            if tuple(n.inputs[1].shape[2:]) != (1, 1) or self.g.is_output(n.outputs[0]):
                continue
            out = n.outputs[0]
            in_slice = id(out) in self.st
            readers_ok = all(self._plain_conv(r) and r.inputs[0] is out and id(r) not in self.skip
                             for r in self.readers.get(id(out), []))
            if not (in_slice or readers_ok):
                continue
            key = (id(n.inputs[0]), tuple(a["strides"]), tuple(a["pads"]), _epi(a))
            groups.setdefault(key, []).append(n)
        for members in groups.values():
            direct = [m for m in members if id(m.outputs[0]) in self.st]
            members = direct[:1] + [m for m in members if id(m.outputs[0]) not in self.st]
            if len(members) < 2:
                continue
            first = min(members, key=self.g.nodes.index)
            self.merged[id(first)] = members
            self.skip.update(id(m) for m in members)
            rest = members[1:] if direct else members
            x = members[0].inputs[0]
            width = sum(m.outputs[0].shape[1] for m in rest)
            sv = Value(f"{members[0].name}:scratch", "float32",
                       (x.shape[0], width, *members[0].outputs[0].shape[2:]))
            scratch = Storage(sv, phys_shape(sv), True)
            off = 0
            for m in rest:
                self._alias(m.outputs[0], scratch, "slice", channel_offset=off)
                off += m.outputs[0].shape[1]

    def _merged_convs(self, members: list[Node]) -> None:
        """One conv for sibling 1x1s: weights side by side, split output (see _find_siblings)."""
        a = attrs_with_defaults(members[0])
        x = self.storage(members[0].inputs[0])
        outs = [self.storage(m.outputs[0]) for m in members]
        w = np.concatenate([m.inputs[1].const for m in members], axis=0)
        bias = np.concatenate([m.inputs[2].const if m.input(2) is not None
                               else np.zeros(m.outputs[0].shape[1], np.float32) for m in members])
        direct = outs[0].owner is not None and outs[0].owner is not outs[-1].owner
        scratch = outs[-1].owner
        split = members[0].outputs[0].shape[1] if direct else None
        geo = dict(kernel_size=(1, 1), stride=tuple(a["strides"]), pads=tuple(a["pads"]),
                   dilation=tuple(a["dilations"]))

        def bind(c):
            wp = c.upload(self.k.conv2d.pack_conv_weight(w))
            return c.conv(members[0].name, c.t(x), wp, c.upload(bias, fp32=True), geo, _epi(a),
                          None, ("none", 0.0, 0.0), outs[0] if direct else scratch,
                          out2=scratch if direct else None, split_at=split)
        self._step(members[0], f"triton conv2d 1x1, {len(members)} merged siblings ("
                   + ", ".join(m.name for m in members) + ")", [x], outs, bind)
        self.steps[-1].origin = [o for m in members for o in m.origin]

    def _out(self, n: Node, i: int = 0) -> Storage:
        v = n.outputs[i]
        return self.st.get(id(v)) or self._own(v)

    def _step(self, n: Node, kernel: str, reads, writes, bind) -> None:
        self.steps.append(Step(n.name, kernel, [r for r in reads if r is not None], writes, bind,
                               list(n.origin)))

    def _activation(self, n: Node) -> None:
        x, y = self.storage(n.inputs[0]), self._out(n)
        act = _epi(attrs_with_defaults(n))
        self._step(n, f"triton activation {act[0]}", [x], [y],
                   lambda c: _launch(c.k.elementwise.activation, c.t(x), act=act, out=c.t(y)))


    def _conv(self, n: Node) -> None:
        a = attrs_with_defaults(n)
        gate = None
        if id(n.inputs[0]) in self.gated:
            xv, gv = self.gated[id(n.inputs[0])]
            x, gate = self.storage(xv), self.storage(gv)
        else:
            x = self.storage(n.inputs[0])
        y = self._out(n)
        r = self.storage(n.inputs[3]) if n.input(3) is not None else None
        w, b = n.inputs[1].const, n.input(2)
        bias = None if b is None else b.const
        kh, kw = w.shape[2:]
        geo = dict(kernel_size=(kh, kw), stride=tuple(a["strides"]), pads=tuple(a["pads"]),
                   dilation=tuple(a["dilations"]))
        if is_depthwise(n):
            def bind(c):
                wp = c.upload(self.k.dwconv.pack_dwconv_weight(w))
                return _launch(self.k.dwconv.dwconv2d, c.t(x), wp, c.upload(bias, fp32=True),
                               act=_epi(a), out=c.t(y), **geo)
            self._step(n, f"triton dwconv2d {kh}x{kw}/{a['strides'][0]}", [x], [y], bind)
            return

        def bind(c):
            wp = c.upload(self.k.conv2d.pack_conv_weight(w))
            scale = None if gate is None else c.t(gate).reshape(gate.phys_shape[0], -1)
            return c.conv(n.name, c.t(x), wp, c.upload(bias, fp32=True), geo, _epi(a),
                          c.t(r) if r is not None else None, _epi(a, "post_"), y,
                          in_scale=scale)
        self._step(n, f"triton conv2d {kh}x{kw}/{a['strides'][0]}"
                   + (" +residual" if r is not None else "")
                   + (" +SE gate" if gate is not None else ""), [x, r, gate], [y], bind)

    def _gemm(self, n: Node) -> None:
        a = attrs_with_defaults(n)
        x, y = self.storage(n.inputs[0]), self._out(n)
        r = self.storage(n.inputs[3]) if n.input(3) is not None else None
        w = n.inputs[1].const                       # (M, K): y = x @ W^T
        if x.kind == "hwc":                          # rows of W^T in (c, h, w) -> (h, w, c) order
            C, H, W = x.hwc_chw
            w = w.reshape(-1, C, H, W).transpose(0, 2, 3, 1).reshape(w.shape[0], -1)
        b = n.input(2)
        self._fc(n, x, y, r, np.ascontiguousarray(w.T), None if b is None else b.const.ravel(),
                 _epi(a), _epi(a, "post_"))

    def _matmul(self, n: Node) -> None:
        x, y = self.storage(n.inputs[0]), self._out(n)
        self._fc(n, x, y, None, n.inputs[1].const, None, ("none", 0.0, 0.0), ("none", 0.0, 0.0))

    def _fc(self, n, x, y, r, w_km, bias, act, post):
        """(N, K) @ (K, M): the conv kernel as a 1x1 conv over N 1x1 images."""
        geo = dict(kernel_size=(1, 1), stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1))

        def img(t):
            return t.reshape(t.shape[0], 1, 1, -1)

        def bind(c):
            return c.conv(n.name, img(c.t(x)), c.upload(w_km), c.upload(bias, fp32=True), geo,
                          act, img(c.t(r)) if r is not None else None, post, y, view=img)
        self._step(n, f"triton conv2d as fc {w_km.shape[0]}->{w_km.shape[1]}", [x, r], [y], bind)

    def _pool(self, n: Node, kind: str) -> None:
        a = attrs_with_defaults(n)
        x, y = self.storage(n.inputs[0]), self._out(n)
        extra = ({"dilation": tuple(a["dilations"])} if kind == "max"
                 else {"count_include_pad": bool(a["count_include_pad"])})
        oh, ow = n.outputs[0].shape[2:]

        def bind(c):
            out = c.t(y.root) if y.kind == "slice" else c.t(y)
            return _launch(self.k.pool.pool2d, c.t(x), kind=kind, kernel_size=tuple(a["kernel"]),
                           stride=tuple(a["strides"]), pads=tuple(a["pads"]), out_hw=(oh, ow),
                           out=out, out_channel_offset=y.channel_offset, **extra)
        self._step(n, f"triton {kind} pool {a['kernel'][0]}x{a['kernel'][1]}/{a['strides'][0]}",
                   [x], [y], bind)

    def _max_pool(self, n):
        self._pool(n, "max")

    def _avg_pool(self, n):
        self._pool(n, "avg")

    def _global(self, n: Node, kind: str) -> None:
        x, y = self.storage(n.inputs[0]), self._out(n)

        def bind(c):
            t = c.t(y)
            return _launch(self.k.pool.global_pool, c.t(x), kind=kind,
                           out=t.reshape(t.shape[0], -1))
        self._step(n, f"triton global {kind} pool", [x], [y], bind)

    def _global_avg_pool(self, n):
        self._global(n, "avg")

    def _global_max_pool(self, n):
        self._global(n, "max")

    def _reduce_mean(self, n):
        self._global(n, "avg")  # over (H, W) only (checked); (N, C[, 1, 1]) bytes are the same

    def _lrn(self, n: Node) -> None:
        a = attrs_with_defaults(n)
        x, y = self.storage(n.inputs[0]), self._out(n)
        self._step(n, "triton lrn", [x], [y], lambda c: _launch(
            self.k.lrn.lrn, c.t(x), size=int(a["size"]), alpha=float(a["alpha"]),
            beta=float(a["beta"]), bias=float(a["bias"]), out=c.t(y)))

    def _softmax(self, n: Node) -> None:
        xv = n.inputs[0]
        x, y = self.storage(xv), self._out(n)
        axis = int(n.attrs.get("axis", -1)) % len(xv.shape)
        if not logical_is_physical(xv):
            return self._glue(n)
        rows = int(np.prod(xv.shape[:axis], dtype=np.int64))

        def bind(c):
            return _launch(self.k.softmax.softmax, c.t(x).reshape(rows, -1),
                           out=c.t(y).reshape(rows, -1))
        self._step(n, "triton softmax", [x], [y], bind)

    def _binary(self, n: Node) -> None:
        a = attrs_with_defaults(n)
        out_v = n.outputs[0]
        y = self._out(n)
        ins = []
        for v in n.inputs:
            ins.append(("const", v.const) if v.is_const else ("value", self.storage(v)))

        def operand(c, kind, obj):
            if kind == "const":
                t = c.upload(np.asarray(obj, dtype=np.float32))
                lg = t.reshape((1,) * (len(out_v.shape) - t.dim()) + tuple(t.shape))
            else:
                lg = logical_view(c.t(obj), obj)
                lg = lg.reshape((1,) * (len(out_v.shape) - lg.dim()) + tuple(lg.shape))
            return to_physical_order(lg.expand(*out_v.shape), len(out_v.shape) == 4)

        def bind(c):
            return _launch(self.k.elementwise.binary, operand(c, *ins[0]), operand(c, *ins[1]),
                           kind=a["kind"], act=_epi(a), out=c.t(y))
        self._step(n, f"triton binary {a['kind']}", [o for k_, o in ins if k_ == "value"], [y],
                   bind)

    def _concat(self, n: Node) -> None:
        y = self.storage(n.outputs[0])
        if not n.attrs.get("inplace") or len(n.outputs[0].shape) != 4:
            return self._glue(n)
        offs, off = [], 0
        for v in n.inputs:
            offs.append(off)
            off += v.shape[1]
        srcs = [(self.storage(v), o, v.shape[1]) for v, o in zip(n.inputs, offs)
                if self.storage(v).kind != "slice"]
        if not srcs:
            return  # every branch wrote its slice: nothing to run

        def bind(c):
            dst = c.t(y)
            pairs = [(dst[..., o:o + ch], c.t(s) if s.nhwc else c.t(s).permute(0, 2, 3, 1))
                     for s, o, ch in srcs]

            def launch():
                for d, s in pairs:
                    d.copy_(s)
            return launch
        self._step(n, f"torch copy into {len(srcs)} concat slice(s)", [s for s, _, _ in srcs],
                   [y], bind)

    def _alias_or_glue(self, n: Node) -> None:
        xv, yv = n.inputs[0], n.outputs[0]
        x = self.storage(xv)
        same = (x.kind != "hwc" and logical_is_physical(xv) and logical_is_physical(yv)
                and xv.size == yv.size)
        if n.op in ALIASES or same:
            if id(yv) in self.st:   # a sliced concat input cannot also alias
                return self._glue(n)
            self._alias(yv, x, x.kind if x.kind == "hwc" else "alias", hwc_chw=x.hwc_chw)
            return
        if (n.op == "flatten" and len(xv.shape) == 4 and len(yv.shape) == 2 and x.kind != "slice"
                and id(yv) not in self.st and all(r.op == "gemm" and r.inputs[0] is yv
                                                  for r in self.readers.get(id(yv), []))
                and not self.g.is_output(yv)):
            self._alias(yv, x, "hwc", hwc_chw=tuple(xv.shape[1:]))
            return
        self._glue(n)

    _reshape = _flatten = _squeeze = _unsqueeze = _identity = _dropout = _cast = _alias_or_glue

    def _glue(self, n: Node) -> None:
        """Data movement without a kernel of its own: torch ops on logical views."""
        data = n.inputs if n.op == "concat" else n.inputs[:1]  # the rest are static parameters
        if any(v.is_const or self.storage(v).kind == "hwc" for v in data):
            raise UnsupportedOpError(f"{self.g.source}: node {n.name!r} ({n.op}) reads a "
                                     "constant or a reordered flatten; not supported on the GPU")
        ins = [self.storage(v) for v in data]
        outs = [self._out(n, i) for i in range(len(n.outputs))]
        fn = glue_fn(n)

        def bind(c):
            srcs = [logical_view(c.t(s), s) for s in ins]
            dsts = [logical_view(c.t(o), o) for o in outs]

            def launch():
                for d, r in zip(dsts, fn(srcs)):
                    d.copy_(r.reshape(d.shape))
            return launch
        self._step(n, f"torch {n.op}", ins, outs, bind)


def _launch(fn, *args, **kw):
    """A closure that launches `fn` (a kernel's launcher, which checks its arguments) with these
    arguments, bound once."""
    return lambda: fn(*args, **kw)


def _bind_io(i: int, st: Storage, inbound: bool):
    """Graph input i copied into its storage (NCHW float32 -> NHWC, compute dtype), or the
    storage copied out to output i (the reverse)."""
    def bind(c):
        view = logical_view(c.t(st), st)
        dst, src = (view, c.inputs[i]) if inbound else (c.outputs[i], view)
        return lambda: dst.copy_(src)
    return bind
