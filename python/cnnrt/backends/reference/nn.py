"""Reference kernels of the compute ops: conv, gemm, matmul, batch_norm, pools, lrn, softmax,
reduce_mean. Straightforward numpy, accumulated in float64, returned in the input's dtype."""

from __future__ import annotations

import numpy as np

from ...ir.ops import attrs_with_defaults, reduce_axes, resolve_window
from .activations import epilogue

F64 = np.float64


def _opt(xs, i):
    return xs[i] if i < len(xs) else None


def _windows(xp, kernel, strides, dilations, out_hw):
    """Yields, per kernel tap (i, j), the (N, C, OH, OW) view of padded input xp under it."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilations, out_hw
    for i in range(kh):
        for j in range(kw):
            yield i, j, xp[..., i * dh: i * dh + (oh - 1) * sh + 1: sh, j * dw: j * dw + (ow - 1) * sw + 1: sw]


def conv(node, xs):
    x, w, b, r = xs[0], xs[1], _opt(xs, 2), _opt(xs, 3)
    a = attrs_with_defaults(node)
    out_hw = resolve_window(node, x.shape[2:], w.shape[2:], a["strides"], a["dilations"])
    a = attrs_with_defaults(node)  # pads as resolved from auto_pad
    t, l, bo, ri = a["pads"]
    n, c = x.shape[:2]
    m, cg = w.shape[:2]
    g = int(a["group"])
    xp = np.pad(x.astype(F64), ((0, 0), (0, 0), (t, bo), (l, ri)))
    xp = xp.reshape(n, g, cg, *xp.shape[2:])
    wg = w.astype(F64).reshape(g, m // g, cg, *w.shape[2:])
    acc = np.zeros((n, g, m // g, *out_hw))
    for i, j, patch in _windows(xp, w.shape[2:], a["strides"], a["dilations"], out_hw):
        acc += np.einsum("ngchw,gmc->ngmhw", patch, wg[..., i, j], optimize=True)
    y = epilogue(acc.reshape(n, m, *out_hw), b, r, a)
    return [y.astype(x.dtype)]


def gemm(node, xs):
    x, w, b, r = xs[0], xs[1], _opt(xs, 2), _opt(xs, 3)
    acc = x.astype(F64) @ w.astype(F64).T
    bias = b.reshape(-1) if b is not None else None
    return [epilogue(acc, bias, r, attrs_with_defaults(node)).astype(x.dtype)]


def matmul(node, xs):
    a, b = xs
    if a.dtype.kind == "f":
        return [np.matmul(a.astype(F64), b.astype(F64)).astype(a.dtype)]
    return [np.matmul(a, b).astype(a.dtype)]


def batch_norm(node, xs):
    x, scale, bias, mean, var = xs
    shape = (1, -1) + (1,) * (x.ndim - 2)
    p = [v.astype(F64).reshape(shape) for v in (scale, bias, mean, var)]
    eps = attrs_with_defaults(node)["epsilon"]
    y = (x.astype(F64) - p[2]) / np.sqrt(p[3] + eps) * p[0] + p[1]
    return [y.astype(x.dtype)]


def _pool_setup(node, x, dilations):
    a = attrs_with_defaults(node)
    out_hw = resolve_window(node, x.shape[2:], a["kernel"], a["strides"], dilations, a["ceil_mode"])
    a = attrs_with_defaults(node)
    t, l, bo, ri = a["pads"]
    # ceil_mode windows may run past the end pad: pad far enough that every window fits
    need = [(o - 1) * s + (k - 1) * d + 1 for o, s, k, d in zip(out_hw, a["strides"], a["kernel"], dilations)]
    bo2 = max(bo, need[0] - x.shape[2] - t)
    ri2 = max(ri, need[1] - x.shape[3] - l)
    return a, out_hw, ((0, 0), (0, 0), (t, bo2), (l, ri2))


def max_pool(node, xs):
    x = xs[0]
    dil = attrs_with_defaults(node)["dilations"]
    a, out_hw, pad = _pool_setup(node, x, dil)
    xp = np.pad(x.astype(F64), pad, constant_values=-np.inf)  # pads never win: windows clip
    y = np.full(x.shape[:2] + out_hw, -np.inf)
    for _, _, patch in _windows(xp, a["kernel"], a["strides"], dil, out_hw):
        np.maximum(y, patch, out=y)
    return [y.astype(x.dtype)]


def _counts(size, k, s, pad_begin, pad_end, out, include_pad):
    """Per output position along one axis: window elements inside the counted extent."""
    start = np.arange(out) * s - pad_begin
    lo, hi = (-pad_begin, size + pad_end) if include_pad else (0, size)
    return np.clip(start + k, lo, hi) - np.clip(start, lo, hi)


def avg_pool(node, xs):
    x = xs[0]
    a, out_hw, pad = _pool_setup(node, x, [1, 1])
    xp = np.pad(x.astype(F64), pad)
    acc = np.zeros(x.shape[:2] + out_hw)
    for _, _, patch in _windows(xp, a["kernel"], a["strides"], [1, 1], out_hw):
        acc += patch
    t, l, bo, ri = a["pads"]
    inc = int(a["count_include_pad"])
    ch = _counts(x.shape[2], a["kernel"][0], a["strides"][0], t, bo, out_hw[0], inc)
    cw = _counts(x.shape[3], a["kernel"][1], a["strides"][1], l, ri, out_hw[1], inc)
    return [(acc / np.outer(ch, cw)).astype(x.dtype)]


def global_avg_pool(node, xs):
    x = xs[0]
    return [x.astype(F64).mean(axis=tuple(range(2, x.ndim)), keepdims=True).astype(x.dtype)]


def global_max_pool(node, xs):
    x = xs[0]
    return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]


def reduce_mean(node, xs):
    x = xs[0]
    axes = reduce_axes(node)
    if not axes:  # noop_with_empty_axes
        return [x]
    keep = bool(attrs_with_defaults(node)["keepdims"])
    return [x.astype(F64).mean(axis=tuple(axes), keepdims=keep).astype(x.dtype)]


def lrn(node, xs):
    x = xs[0]
    a = attrs_with_defaults(node)
    size = int(a["size"])
    before = (size - 1) // 2  # ONNX: channels [c - floor((size-1)/2), c + ceil((size-1)/2)]
    sq = np.pad(x.astype(F64) ** 2, ((0, 0), (before, size - 1 - before), (0, 0), (0, 0)))
    c = x.shape[1]
    ssum = sum(sq[:, i:i + c] for i in range(size))
    y = x.astype(F64) / (a["bias"] + a["alpha"] / size * ssum) ** a["beta"]
    return [y.astype(x.dtype)]


def softmax(node, xs):
    x = xs[0]
    a = attrs_with_defaults(node)
    axis = a["axis"] % x.ndim
    v = x.astype(F64)
    if a["coerce_2d"]:  # opset < 13: everything from `axis` on is one axis
        v = v.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), -1)
        axis = 1
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    y = e / e.sum(axis=axis, keepdims=True)
    return [y.reshape(x.shape).astype(x.dtype)]


KERNELS = {"conv": conv, "gemm": gemm, "matmul": matmul, "batch_norm": batch_norm,
           "max_pool": max_pool, "avg_pool": avg_pool, "global_avg_pool": global_avg_pool,
           "global_max_pool": global_max_pool, "reduce_mean": reduce_mean, "lrn": lrn,
           "softmax": softmax}
