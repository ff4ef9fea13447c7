"""A PyTorch eager peer of a cnnrt Graph: the baseline cnnrt's GPU backend is measured against.

    g = prepare(import_onnx(proto), {"input": (64, 3, 224, 224)}, optimize=False)
    peer = to_torch(g).to("cuda", torch.float16).to(memory_format=torch.channels_last)

The module runs the graph as given (BN stays BN: nothing fused), op by op with
torch.nn.functional, so cuDNN does the convolutions. Shapes are those the graph was prepared
with (reshape targets come from the inferred output shapes). Float constants become buffers, so
`.to(dtype)` / `.to(memory_format=...)` convert them; integer index constants stay int64.
Semantics follow cnnrt's numpy reference (backends/reference), which is the spec here.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnrt.ir.ops import attrs_with_defaults, pad_amounts, reduce_axes, slice_params

__all__ = ["to_torch", "TorchPeer"]


# --- activations (cnnrt's encoding: act name + alpha/beta; clip: alpha=min, beta=max) ----------

def _act(x, act, a=0.0, b=0.0):
    if act == "none":
        return x
    if act == "relu":
        return F.relu(x)
    if act == "clip":
        return torch.clamp(x, a, b)
    if act == "leaky_relu":
        return F.leaky_relu(x, a)
    if act == "sigmoid":
        return torch.sigmoid(x)
    if act == "silu":
        return F.silu(x)
    if act == "tanh":
        return torch.tanh(x)
    if act == "hard_sigmoid":
        return torch.clamp(x * a + b, 0.0, 1.0)
    if act == "hard_swish":
        return F.hardswish(x)
    raise NotImplementedError(f"activation {act!r}")


def _epilogue(y, r, a):
    """conv/gemm epilogue: post_act(act(y) + R) (bias already added by the op)."""
    y = _act(y, a["act"], a["alpha"], a["beta"])
    if r is not None:
        y = _act(y + r, a["post_act"], a["post_alpha"], a["post_beta"])
    return y


_BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
           "max": torch.maximum, "min": torch.minimum, "pow": torch.pow}


# --- op builders: node -> fn(*inputs) -> tensor or list of tensors -----------------------------
# Each reads the node's attributes once, here, so forward() only calls torch.

def _conv(n, peer):
    a = attrs_with_defaults(n)
    t, l, b, r = a["pads"]
    stride, dil, groups = tuple(a["strides"]), tuple(a["dilations"]), int(a["group"])
    sym = t == b and l == r

    def fn(x, w, bias=None, res=None):
        if not sym:  # torch's conv pads symmetrically only
            x = F.pad(x, (l, r, t, b))
        y = F.conv2d(x, w, bias, stride, (t, l) if sym else 0, dil, groups)
        return _epilogue(y, res, a)
    return fn


def _gemm(n, peer):
    # cnnrt's gemm is normalized by the frontend: Y = X . W^T + B (transA/transB/alpha/beta
    # already folded into the constants), W (M, K)
    a = attrs_with_defaults(n)

    def fn(x, w, bias=None, res=None):
        return _epilogue(F.linear(x, w, None if bias is None else bias.reshape(-1)), res, a)
    return fn


def _batch_norm(n, peer):
    eps = float(attrs_with_defaults(n)["epsilon"])
    for i in range(1, 5):  # F.batch_norm wants 1-D parameters
        peer.flat_consts.add(id(n.inputs[i]))
    return lambda x, s, b, m, v: F.batch_norm(x, m, v, s, b, False, 0.0, eps)


def _pool_explicit(n, x_hw, kernel, strides, pads, dil, out_hw):
    """Bottom/right pads so that every (ceil_mode) window fits, as the reference does."""
    t, l, b, r = pads
    need = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(out_hw, strides, kernel, dil)]
    return (l, max(r, need[1] - x_hw[1] - l), t, max(b, need[0] - x_hw[0] - t))


def _torch_pool_ok(kernel, pads, dil):
    """torch's pools pad symmetrically by at most half the (dilated) window."""
    t, l, b, r = pads
    eff = [(k - 1) * d + 1 for k, d in zip(kernel, dil)]
    return t == b and l == r and 2 * t <= eff[0] and 2 * l <= eff[1]


def _max_pool(n, peer):
    a = attrs_with_defaults(n)
    k, s, d, pads = tuple(a["kernel"]), tuple(a["strides"]), tuple(a["dilations"]), a["pads"]
    if _torch_pool_ok(k, pads, d):  # same output-size rule as ONNX with symmetric pads
        return lambda x: F.max_pool2d(x, k, s, (pads[0], pads[1]), d, bool(a["ceil_mode"]))
    x_hw, out_hw = n.inputs[0].shape[2:], n.outputs[0].shape[2:]
    p = _pool_explicit(n, x_hw, k, s, pads, d, out_hw)

    def fn(x):
        y = F.max_pool2d(F.pad(x, p, value=float("-inf")), k, s, 0, d)
        return y[..., :out_hw[0], :out_hw[1]]
    return fn


def _counts(size, k, s, pb, pe, out, include_pad):
    """Elements counted per window along one axis (as reference.nn._counts)."""
    start = np.arange(out) * s - pb
    lo, hi = (-pb, size + pe) if include_pad else (0, size)
    return np.clip(start + k, lo, hi) - np.clip(start, lo, hi)


def _avg_pool(n, peer):
    a = attrs_with_defaults(n)
    k, s, pads, inc = tuple(a["kernel"]), tuple(a["strides"]), a["pads"], int(a["count_include_pad"])
    if _torch_pool_ok(k, pads, (1, 1)):
        # torch's divisor: pads counted when count_include_pad, the ceil overhang never (= ONNX)
        return lambda x: F.avg_pool2d(x, k, s, (pads[0], pads[1]), bool(a["ceil_mode"]), bool(inc))
    # general case: window sums over a zero-padded input, divided by precomputed counts
    x_hw, out_hw = n.inputs[0].shape[2:], n.outputs[0].shape[2:]
    p = _pool_explicit(n, x_hw, k, s, pads, (1, 1), out_hw)
    t, l, b, r = pads
    cnt = np.outer(_counts(x_hw[0], k[0], s[0], t, b, out_hw[0], inc),
                   _counts(x_hw[1], k[1], s[1], l, r, out_hw[1], inc)).astype(np.float32)
    key = peer.add_buffer(cnt)

    def fn(x):
        y = F.avg_pool2d(F.pad(x, p), k, s, 0, False, True, divisor_override=1)
        return y[..., :out_hw[0], :out_hw[1]] / peer.buf(key)
    return fn


def _lrn(n, peer):
    # ONNX window: [c - floor((size-1)/2), c + ceil((size-1)/2)]. F.local_response_norm uses the
    # same alpha/size convention but pads size//2 in front, which differs for even sizes, so
    # this is its formula with ONNX's padding.
    a = attrs_with_defaults(n)
    size, alpha, beta, bias = int(a["size"]), float(a["alpha"]), float(a["beta"]), float(a["bias"])
    before = (size - 1) // 2

    def fn(x):
        sq = F.pad((x * x).unsqueeze(1), (0, 0, 0, 0, before, size - 1 - before))
        mean = F.avg_pool3d(sq, (size, 1, 1), stride=1).squeeze(1)
        return x / (mean * alpha + bias).pow(beta)
    return fn


def _softmax(n, peer):
    a = attrs_with_defaults(n)
    shape = n.inputs[0].shape
    axis = a["axis"] % len(shape)
    if not a["coerce_2d"] or axis == len(shape) - 1:
        return lambda x: torch.softmax(x, axis)
    rows = int(np.prod(shape[:axis], dtype=np.int64))  # opset < 13: axes from `axis` on as one
    return lambda x: torch.softmax(x.reshape(rows, -1), 1).reshape(x.shape)


def _reduce_mean(n, peer):
    axes = reduce_axes(n)
    keep = bool(attrs_with_defaults(n)["keepdims"])
    if not axes:
        return lambda x, *_: x
    return lambda x, *_: x.mean(dim=axes, keepdim=keep)


def _activation(n, peer):
    a = attrs_with_defaults(n)
    return lambda x: _act(x, a["act"], a["alpha"], a["beta"])


def _binary(n, peer):
    a = attrs_with_defaults(n)
    op = _BINARY[a["kind"]]
    return lambda x, y: _act(op(x, y), a["act"], a["alpha"], a["beta"])


def _reshape(n, peer):
    shape = tuple(n.outputs[0].shape)
    return lambda x, *_: x.reshape(shape)


def _flatten(n, peer):
    shape = tuple(n.outputs[0].shape)
    return lambda x: x.reshape(shape)


def _squeeze(n, peer):
    shape = tuple(n.outputs[0].shape)
    return lambda x, *_: x.reshape(shape)


_unsqueeze = _squeeze


def _transpose(n, peer):
    perm = tuple(attrs_with_defaults(n)["perm"] or range(len(n.inputs[0].shape))[::-1])
    return lambda x: x.permute(perm)


def _concat(n, peer):
    axis = attrs_with_defaults(n)["axis"]
    return lambda *xs: torch.cat(xs, axis)


def _split(n, peer):
    axis = attrs_with_defaults(n)["axis"]
    sizes = [int(s) for s in n.attrs["sizes"]]  # resolved by shape inference
    return lambda x, *_: list(torch.split(x, sizes, axis))


def _slice(n, peer):
    starts, steps, lengths = slice_params(n)
    index, flips = [], []
    for d, (st, sp, ln) in enumerate(zip(starts, steps, lengths)):
        if sp > 0:
            index.append(slice(st, st + sp * ln, sp))
        else:  # torch slices need positive steps: take the mirrored range, then flip
            index.append(slice(st + sp * (ln - 1), st + 1, -sp))
            flips.append(d)
    index = tuple(index)

    def fn(x, *_):
        y = x[index]
        return torch.flip(y, flips) if flips else y
    return fn


def _pad(n, peer):
    pads = pad_amounts(n)
    r = len(n.inputs[0].shape)
    mode = attrs_with_defaults(n)["mode"]
    tp = []
    for d in reversed(range(r)):  # F.pad: last axis first
        tp += [pads[d], pads[d + r]]
    v = n.input(2)
    value = float(v.const.ravel()[0]) if v is not None and v.const is not None and v.const.size else 0.0
    if mode == "constant":  # negative pads crop, as in ONNX
        return lambda x, *_: F.pad(x, tp, value=value)
    if any(tp[2 * (r - 2):]) or min(tp) < 0:
        raise NotImplementedError(f"node {n.name!r} (pad): mode {mode} only on the last 2 axes, "
                                  f"without cropping")
    tmode = {"reflect": "reflect", "edge": "replicate"}[mode]
    return lambda x, *_: F.pad(x, tp[:4], mode=tmode)


def _gather(n, peer):
    axis = attrs_with_defaults(n)["axis"] % len(n.inputs[0].shape)
    idx = n.inputs[1].const.astype(np.int64)
    idx = np.where(idx < 0, idx + n.inputs[0].shape[axis], idx)
    key = peer.add_buffer(idx.ravel())
    shape = tuple(n.outputs[0].shape)
    return lambda x, _: torch.index_select(x, axis, peer.buf(key)).reshape(shape)


def _cast(n, peer):
    to = np.dtype(attrs_with_defaults(n)["to"])
    if to.kind == "f":  # float casts are identity: the peer runs in whatever precision it is cast to
        return lambda x: x
    dt = torch.from_numpy(np.zeros(0, to)).dtype
    return lambda x: x.to(dt)


def _identity(n, peer):
    return lambda x: x


def _global_avg(n, peer):
    dims = tuple(range(2, len(n.inputs[0].shape)))
    return lambda x: x.mean(dim=dims, keepdim=True)


def _global_max(n, peer):
    dims = tuple(range(2, len(n.inputs[0].shape)))
    return lambda x: x.amax(dim=dims, keepdim=True)


BUILDERS = {
    "conv": _conv, "gemm": _gemm, "matmul": lambda n, p: torch.matmul,
    "batch_norm": _batch_norm, "max_pool": _max_pool, "avg_pool": _avg_pool,
    "global_avg_pool": _global_avg, "global_max_pool": _global_max, "lrn": _lrn,
    "softmax": _softmax, "reduce_mean": _reduce_mean, "activation": _activation,
    "binary": _binary, "reshape": _reshape, "flatten": _flatten, "squeeze": _squeeze,
    "unsqueeze": _unsqueeze, "transpose": _transpose, "concat": _concat, "split": _split,
    "slice": _slice, "pad": _pad, "gather": _gather, "cast": _cast, "identity": _identity,
    "dropout": _identity,
}
# inputs the builders consumed at build time (static): not passed at run time
_STATIC_INPUTS = {"reshape": (1,), "squeeze": (1,), "unsqueeze": (1,), "split": (1,),
                  "slice": (1, 2, 3, 4), "pad": (1, 2, 3), "gather": (1,), "reduce_mean": (1,)}


class TorchPeer(torch.nn.Module):
    """Interprets a prepared cnnrt Graph with torch ops; see the module docstring."""

    def __init__(self, graph):
        super().__init__()
        self._n_bufs = 0
        self.flat_consts: set[int] = set()  # ids of constants to store 1-D
        slot: dict[int, int] = {}  # id(Value) -> env key

        def key(v):
            return slot.setdefault(id(v), len(slot))

        self._in = [key(v) for v in graph.inputs]
        self._const: list[tuple[int, str]] = []  # (env key, buffer name) loaded per call
        self._const_vals: dict[int, object] = {}
        steps = []
        for n in graph.nodes:
            if n.op not in BUILDERS:
                raise NotImplementedError(f"torch peer: op {n.op!r} (node {n.name!r}) is not supported")
            fn = BUILDERS[n.op](n, self)
            static = _STATIC_INPUTS.get(n.op, ())
            ins = []
            for i, v in enumerate(n.inputs):
                if i in static:
                    continue
                if v is not None and v.const is not None and id(v) not in slot:
                    self._const_vals[key(v)] = v
                ins.append(None if v is None else key(v))
            while ins and ins[-1] is None:  # trailing absent optionals: let defaults apply
                ins.pop()
            steps.append((n.name, fn, ins, [key(v) for v in n.outputs]))
        for k, v in self._const_vals.items():
            c = v.const.reshape(-1) if id(v) in self.flat_consts else v.const
            self._const.append((k, self.add_buffer(c)))
        self._out = [key(v) for v in graph.outputs]
        for v in graph.outputs:  # a constant output (rare) still needs its buffer
            if v.const is not None and all(k != key(v) for k, _ in self._const):
                self._const.append((key(v), self.add_buffer(v.const)))
        # free each intermediate after its last reader, as eager PyTorch code would
        last = {}
        for i, (_, _, ins, _) in enumerate(steps):
            for k in ins:
                if k is not None:
                    last[k] = i
        keep = set(self._out) | {k for k, _ in self._const}
        frees = [[] for _ in steps]
        for k, i in last.items():
            if k not in keep:
                frees[i].append(k)
        self._steps = [(fn, ins, outs, frees[i]) for i, (_, fn, ins, outs) in enumerate(steps)]
        self.graph_name = graph.name
        del self._const_vals  # the numpy arrays now live in the buffers

    # build-time helpers used by the op builders
    def add_buffer(self, array) -> str:
        name = f"c{self._n_bufs}"
        self._n_bufs += 1
        self.register_buffer(name, torch.tensor(np.ascontiguousarray(array)))  # a copy
        return name

    def buf(self, name):
        return getattr(self, name)

    def forward(self, *xs):
        env = {k: getattr(self, name) for k, name in self._const}
        for k, x in zip(self._in, xs):
            env[k] = x
        for fn, ins, outs, frees in self._steps:
            ys = fn(*[None if k is None else env[k] for k in ins])
            if len(outs) == 1:
                env[outs[0]] = ys
            else:
                for k, y in zip(outs, ys):
                    env[k] = y
            for k in frees:
                del env[k]
        res = [env[k] for k in self._out]
        return res[0] if len(res) == 1 else res


def to_torch(graph) -> TorchPeer:
    """A torch.nn.Module running `graph` (prepared with concrete shapes, optimize=False)."""
    return TorchPeer(graph)
