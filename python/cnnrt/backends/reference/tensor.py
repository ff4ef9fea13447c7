"""Reference kernels of the elementwise and data-movement ops. These also serve constant folding,
so they handle integer data (shape arithmetic from PyTorch exports) exactly."""

from __future__ import annotations

import numpy as np

from ...ir.ops import attrs_with_defaults, pad_amounts, slice_params
from .activations import apply_act

F64 = np.float64


def _int_div(a, b):
    """Integer division truncating toward zero (C semantics, as ONNX specifies)."""
    q = np.floor_divide(a, b)
    return q + ((np.remainder(a, b) != 0) & ((a < 0) ^ (b < 0))).astype(q.dtype)


_FLOAT_BINARY = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide,
                 "max": np.maximum, "min": np.minimum, "pow": np.power}
_INT_BINARY = {**_FLOAT_BINARY, "div": _int_div,
               "pow": lambda a, b: np.power(a.astype(F64), b.astype(F64))}


def activation(node, xs):
    a = attrs_with_defaults(node)
    return [apply_act(xs[0], a["act"], a["alpha"], a["beta"])]


def binary(node, xs):
    a, b = xs
    at = attrs_with_defaults(node)
    if a.dtype.kind == "f":  # float64 then one rounding: exact for + - * /, better for pow
        y = _FLOAT_BINARY[at["kind"]](a.astype(F64), b.astype(F64)).astype(a.dtype)
    else:
        y = np.asarray(_INT_BINARY[at["kind"]](a, b)).astype(a.dtype)
    return [apply_act(y, at["act"], at["alpha"], at["beta"])]


def reshape(node, xs):
    x, shape = xs
    target = [int(d) for d in shape.ravel()]
    if not attrs_with_defaults(node)["allowzero"]:
        target = [x.shape[i] if d == 0 and i < x.ndim else d for i, d in enumerate(target)]
    return [x.reshape(target)]


def flatten(node, xs):
    x = xs[0]
    axis = attrs_with_defaults(node)["axis"]
    axis = axis + x.ndim if axis < 0 else axis
    return [x.reshape(int(np.prod(x.shape[:axis], dtype=np.int64)), int(np.prod(x.shape[axis:], dtype=np.int64)))]


def _axes(node, xs):
    if len(xs) > 1 and xs[1] is not None:
        return [int(v) for v in xs[1].ravel()]
    axes = attrs_with_defaults(node)["axes"]
    return None if axes is None else [int(v) for v in axes]


def squeeze(node, xs):
    x = xs[0]
    axes = _axes(node, xs)
    if not axes:
        return [x.reshape([d for d in x.shape if d != 1])]
    return [np.squeeze(x, axis=tuple(a % x.ndim for a in axes))]


def unsqueeze(node, xs):
    x = xs[0]
    axes = _axes(node, xs)
    rank = x.ndim + len(axes)
    return [np.expand_dims(x, tuple(sorted(a % rank for a in axes)))]


def transpose(node, xs):
    x = xs[0]
    perm = attrs_with_defaults(node)["perm"] or list(range(x.ndim))[::-1]
    return [np.transpose(x, perm)]


def concat(node, xs):
    return [np.concatenate(xs, axis=attrs_with_defaults(node)["axis"])]


def split(node, xs):
    x = xs[0]
    a = node.attrs
    axis = attrs_with_defaults(node)["axis"] % x.ndim
    sizes = a.get("sizes")  # resolved by shape inference
    if sizes is None:
        if len(xs) > 1 and xs[1] is not None:
            sizes = [int(s) for s in xs[1].ravel()]
        else:
            k, d = len(node.outputs), x.shape[axis]
            part = -(-d // k)
            sizes = [min(part, d - i * part) for i in range(k)]
    return list(np.split(x, np.cumsum(sizes)[:-1], axis=axis))


def slice_(node, xs):
    x = xs[0]
    index = []
    for start, step, length in zip(*slice_params(node)):
        stop = start + step * length
        index.append(slice(start, stop if stop >= 0 else None, step))
    return [x[tuple(index)]]


def pad(node, xs):
    x = xs[0]
    pads = pad_amounts(node)
    r = x.ndim
    value = xs[2] if len(xs) > 2 and xs[2] is not None and xs[2].size else np.zeros((), x.dtype)
    # negative pads crop first; the rest pads
    crop = tuple(slice(max(-pads[i], 0), x.shape[i] - max(-pads[i + r], 0)) for i in range(r))
    x = x[crop]
    widths = [(max(pads[i], 0), max(pads[i + r], 0)) for i in range(r)]
    mode = attrs_with_defaults(node)["mode"]
    if mode == "constant":
        return [np.pad(x, widths, constant_values=value.ravel()[0].astype(x.dtype))]
    return [np.pad(x, widths, mode=mode)]


def gather(node, xs):
    x, idx = xs
    axis = attrs_with_defaults(node)["axis"] % x.ndim
    return [np.take(x, idx.astype(np.int64), axis=axis)]


def cast(node, xs):
    return [xs[0].astype(attrs_with_defaults(node)["to"])]


def passthrough(node, xs):
    return [xs[0]]


def shape(node, xs):
    a = attrs_with_defaults(node)
    return [np.array(xs[0].shape[a["start"]:a["end"]], dtype=np.int64)]


def constant_of_shape(node, xs):
    value = attrs_with_defaults(node)["value"]
    value = np.float32(0) if value is None else np.asarray(value).ravel()[0]
    return [np.full([int(d) for d in xs[0].ravel()], value, dtype=np.asarray(value).dtype)]


KERNELS = {"activation": activation, "binary": binary, "reshape": reshape, "flatten": flatten,
           "squeeze": squeeze, "unsqueeze": unsqueeze, "transpose": transpose, "concat": concat,
           "split": split, "slice": slice_, "pad": pad, "gather": gather, "cast": cast,
           "identity": passthrough, "dropout": passthrough, "shape": shape,
           "constant_of_shape": constant_of_shape}
