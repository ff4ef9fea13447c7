"""cnnrt's op set: each op's inputs, attributes, shape inference and cost.

The frontend maps ONNX onto these ops; passes, backends and accounting only ever see them.
Semantics follow the newest ONNX opset of the same name unless said otherwise. Inputs marked
`static` (e.g. reshape's shape) must be constants by the time shape inference reaches the node:
the shape-inference pass folds constant subgraphs as it goes, so `Shape -> Gather -> Concat ->
Reshape` chains from PyTorch exports resolve to constants.

Costs (see DESIGN.md "Accounting conventions"): MACs for conv/gemm/matmul; FLOPs = 2 x MACs plus
the elementwise work (bias, activation, residual add, BN, pooling, softmax), counted per output
element with ACT_FLOPS below; params = elements of the weight inputs (constants) of the op.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ..errors import ShapeError
from .graph import Node

REQUIRED = object()

# FLOPs per element of each activation (an operation count, not a cycle count).
ACT_FLOPS = {"none": 0, "relu": 1, "clip": 2, "leaky_relu": 2, "sigmoid": 4, "silu": 5,
             "tanh": 5, "hard_sigmoid": 4, "hard_swish": 5}
ACTIVATIONS = tuple(ACT_FLOPS)
BINARY_KINDS = ("add", "sub", "mul", "div", "max", "min", "pow")
EPILOGUE_ATTRS = {"act": "none", "alpha": 0.0, "beta": 0.0,
                  "post_act": "none", "post_alpha": 0.0, "post_beta": 0.0}



@dataclass
class Cost:
    macs: int = 0
    flops: int = 0
    params: int = 0
    bytes_read: int = 0
    bytes_written: int = 0

    def __add__(self, o: "Cost") -> "Cost":
        return Cost(self.macs + o.macs, self.flops + o.flops, self.params + o.params,
                    self.bytes_read + o.bytes_read, self.bytes_written + o.bytes_written)


@dataclass
class OpSchema:
    name: str
    inputs: tuple[str, ...]          # "X", "B?" optional, "X*" variadic
    attrs: dict[str, Any]            # name -> default (REQUIRED if none)
    infer: Callable[[Node], list[tuple]]
    static: tuple[int, ...] = ()     # input indices that must be constant
    macs: Callable[[Node], int] = lambda n: 0
    flops: Callable[[Node], int] = lambda n: 0
    weights: tuple[int, ...] = ()    # input indices counted as params when constant
    out_dtype: Callable[[Node], str] | None = None
    doc: str = ""
    extra: dict = field(default_factory=dict)


SCHEMAS: dict[str, OpSchema] = {}


def op(name, inputs, attrs=None, *, static=(), weights=(), macs=None, flops=None,
       out_dtype=None, doc=""):
    """Registers the decorated shape function as op `name`'s schema."""
    def register(infer):
        SCHEMAS[name] = OpSchema(name, tuple(inputs), dict(attrs or {}), infer, tuple(static),
                                 macs or (lambda n: 0), flops or (lambda n: 0), tuple(weights),
                                 out_dtype, doc or (infer.__doc__ or "").strip())
        return infer
    return register


def schema(name: str) -> OpSchema:
    try:
        return SCHEMAS[name]
    except KeyError:
        raise KeyError(f"unknown cnnrt op {name!r}") from None


def attrs_with_defaults(node: Node) -> dict:
    """The node's attributes completed with the schema's defaults; complains about unknowns."""
    s = schema(node.op)
    unknown = set(node.attrs) - set(s.attrs)
    if unknown:
        raise ShapeError(f"node {node.name!r} ({node.op}): unknown attribute(s) {sorted(unknown)}")
    out = {}
    for k, default in s.attrs.items():
        if k in node.attrs:
            out[k] = node.attrs[k]
        elif default is REQUIRED:
            raise ShapeError(f"node {node.name!r} ({node.op}): missing attribute {k!r}")
        else:
            out[k] = default
    return out


# --- helpers --------------------------------------------------------------------------------

def _shape(n: Node, i: int) -> tuple:
    v = n.input(i)
    if v is None or v.shape is None:
        raise ShapeError(f"node {n.name!r} ({n.op}): shape of input {i} is unknown")
    return tuple(v.shape)


def _static(n: Node, i: int, default=None) -> np.ndarray | None:
    v = n.input(i)
    if v is None:
        return default
    if v.const is None:
        raise ShapeError(f"node {n.name!r} ({n.op}): input {i} ({v.name!r}) must be a constant "
                         f"(it is computed at run time, which cnnrt does not support here)")
    return v.const


def _size(shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def _out_size(n: Node, i: int = 0) -> int:
    return _size(n.outputs[i].shape)


def _fail(n: Node, msg: str):
    ins = ", ".join(str(v.shape) if v is not None else "-" for v in n.inputs)
    raise ShapeError(f"node {n.name!r} ({n.op}) with input shapes [{ins}]: {msg}")


def _norm_axis(n: Node, axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        _fail(n, f"axis {axis} out of range for rank {rank}")
    return axis % rank


def broadcast(n: Node, *shapes) -> tuple:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        _fail(n, "shapes do not broadcast")


def _same_pads(n, size, k, s, d, mode):
    """Resolves auto_pad SAME_UPPER/SAME_LOWER to explicit (begin, end) for one axis."""
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    small, big = total // 2, total - total // 2
    return (small, big) if mode == "SAME_UPPER" else (big, small)


def resolve_window(n: Node, hw: tuple, kernel, strides, dilations, ceil_mode=0):
    """Output size of a sliding window over (H, W); resolves auto_pad into node.attrs['pads']."""
    a = n.attrs
    auto = a.get("auto_pad", "NOTSET")
    if auto in ("SAME_UPPER", "SAME_LOWER"):
        (t, b), (l, r) = [_same_pads(n, hw[i], kernel[i], strides[i], dilations[i], auto)
                          for i in range(2)]
        a["pads"] = [t, l, b, r]
    elif auto == "VALID":
        a["pads"] = [0, 0, 0, 0]
    elif auto != "NOTSET":
        _fail(n, f"unknown auto_pad {auto!r}")
    a["auto_pad"] = "NOTSET"
    pads = a.get("pads", [0, 0, 0, 0])
    if len(pads) != 4 or min(pads) < 0:
        _fail(n, f"pads must be 4 non-negative values (top, left, bottom, right), got {pads}")
    out = []
    for i in range(2):
        span = hw[i] + pads[i] + pads[i + 2] - ((kernel[i] - 1) * dilations[i] + 1)
        if span < 0:
            _fail(n, f"window {kernel} (dilation {dilations}) is larger than the padded input")
        o = (-(-span // strides[i]) if ceil_mode else span // strides[i]) + 1
        if ceil_mode and (o - 1) * strides[i] >= hw[i] + pads[i]:
            o -= 1  # the last window must start inside the input or its leading pad
        out.append(o)
    return tuple(out)


def _epilogue_flops(n: Node, elems: int) -> int:
    a = n.attrs
    f = ACT_FLOPS.get(a.get("act", "none"), 1) * elems
    if n.input(3) is not None:
        f += elems + ACT_FLOPS.get(a.get("post_act", "none"), 1) * elems
    return f


# --- compute ops ----------------------------------------------------------------------------

def _conv_macs(n):
    w = _shape(n, 1)
    return _out_size(n) * w[1] * w[2] * w[3]


def _conv_flops(n):
    e = _out_size(n)
    return 2 * _conv_macs(n) + (e if n.input(2) is not None else 0) + _epilogue_flops(n, e)


@op("conv", ["X", "W", "B?", "R?"],
    {"strides": [1, 1], "pads": [0, 0, 0, 0], "dilations": [1, 1], "group": 1,
     "auto_pad": "NOTSET", **EPILOGUE_ATTRS},
    weights=(1, 2), macs=_conv_macs, flops=_conv_flops)
def _conv(n):
    """2-D convolution, NCHW; Y = post_act(act(conv(X, W) + B) + R). pads = top, left, bottom, right."""
    x, w = _shape(n, 0), _shape(n, 1)
    a = n.attrs
    g = a.get("group", 1)
    if len(x) != 4 or len(w) != 4:
        _fail(n, "only 2-D convolution (4-D input and weight) is supported")
    if x[1] != w[1] * g or w[0] % g:
        _fail(n, f"channels do not match: input has {x[1]}, weight expects {w[1]} x group {g}")
    if n.input(2) is not None and _shape(n, 2) != (w[0],):
        _fail(n, f"bias must have shape ({w[0]},)")
    oh, ow = resolve_window(n, x[2:], w[2:], a.get("strides", [1, 1]), a.get("dilations", [1, 1]))
    out = (x[0], w[0], oh, ow)
    if n.input(3) is not None and _shape(n, 3) != out:
        _fail(n, f"residual must have the output's shape {out}")
    return [out]


def _gemm_macs(n):
    return _out_size(n) * _shape(n, 1)[1]


@op("gemm", ["X", "W", "B?", "R?"], EPILOGUE_ATTRS, weights=(1, 2), macs=_gemm_macs,
    flops=lambda n: 2 * _gemm_macs(n) + (_out_size(n) if n.input(2) is not None else 0)
    + _epilogue_flops(n, _out_size(n)))
def _gemm(n):
    """Fully connected: Y(N, M) = post_act(act(X(N, K) . W(M, K)^T + B(M)) + R)."""
    x, w = _shape(n, 0), _shape(n, 1)
    if len(x) != 2 or len(w) != 2 or x[1] != w[1]:
        _fail(n, "expected X (N, K) and W (M, K)")
    if n.input(2) is not None and _size(_shape(n, 2)) != w[0]:
        _fail(n, f"bias must have {w[0]} elements")
    return [(x[0], w[0])]


def _matmul_shape(n):
    a, b = _shape(n, 0), _shape(n, 1)
    if len(a) < 1 or len(b) < 1:
        _fail(n, "matmul of scalars")
    a2 = (1,) + a if len(a) == 1 else a
    b2 = b + (1,) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        _fail(n, "inner dimensions differ")
    batch = broadcast(n, a2[:-2], b2[:-2])
    out = batch + (a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


@op("matmul", ["A", "B"], weights=(1,),
    macs=lambda n: _out_size(n) * _shape(n, 0)[-1], flops=lambda n: 2 * _out_size(n) * _shape(n, 0)[-1])
def _matmul(n):
    """numpy.matmul semantics."""
    return [_matmul_shape(n)]


@op("activation", ["X"], {"act": REQUIRED, "alpha": 0.0, "beta": 0.0},
    flops=lambda n: ACT_FLOPS.get(n.attrs.get("act"), 1) * _out_size(n))
def _activation(n):
    """Y = act(X); see ACTIVATIONS (clip uses alpha=min, beta=max)."""
    if n.attrs.get("act") not in ACTIVATIONS:
        _fail(n, f"unknown activation {n.attrs.get('act')!r}")
    return [_shape(n, 0)]


@op("binary", ["A", "B"], {"kind": REQUIRED, "act": "none", "alpha": 0.0, "beta": 0.0},
    weights=(0, 1), flops=lambda n: _out_size(n) * (1 + ACT_FLOPS.get(n.attrs.get("act", "none"), 1)))
def _binary(n):
    """Elementwise A kind B with numpy broadcasting, then act."""
    if n.attrs.get("kind") not in BINARY_KINDS:
        _fail(n, f"unknown binary kind {n.attrs.get('kind')!r}")
    return [broadcast(n, _shape(n, 0), _shape(n, 1))]


@op("batch_norm", ["X", "scale", "bias", "mean", "var"], {"epsilon": 1e-5},
    weights=(1, 2), flops=lambda n: 2 * _out_size(n))
def _batch_norm(n):
    """Inference BatchNormalization over channel axis 1."""
    x = _shape(n, 0)
    if len(x) < 2:
        _fail(n, "input must have a channel axis")
    for i in range(1, 5):
        if _size(_shape(n, i)) != x[1]:
            _fail(n, f"parameter {i} must have {x[1]} elements")
    return [x]


def _pool_flops(n):
    k = n.attrs.get("kernel")
    return _out_size(n) * k[0] * k[1]


def _pool_shape(n):
    x = _shape(n, 0)
    a = n.attrs
    if len(x) != 4:
        _fail(n, "only 2-D pooling (4-D input) is supported")
    k = a.get("kernel")
    if not k or len(k) != 2:
        _fail(n, "kernel must have 2 values")
    hw = resolve_window(n, x[2:], k, a.get("strides", [1, 1]), a.get("dilations", [1, 1]),
                        a.get("ceil_mode", 0))
    return [(x[0], x[1], *hw)]


_POOL = {"kernel": REQUIRED, "strides": [1, 1], "pads": [0, 0, 0, 0], "ceil_mode": 0,
         "auto_pad": "NOTSET"}
op("max_pool", ["X"], {**_POOL, "dilations": [1, 1]}, flops=_pool_flops,
   doc="Max over each window; windows are clipped to the input.")(_pool_shape)
op("avg_pool", ["X"], {**_POOL, "count_include_pad": 0}, flops=_pool_flops,
   doc="Mean over each window (count_include_pad: divisor counts pads, not ceil overhang).")(_pool_shape)


def _global_pool(n):
    x = _shape(n, 0)
    if len(x) < 3:
        _fail(n, "input must be N, C, spatial...")
    return [x[:2] + (1,) * (len(x) - 2)]


op("global_avg_pool", ["X"], flops=lambda n: _size(_shape(n, 0)), doc="Mean over spatial axes.")(_global_pool)
op("global_max_pool", ["X"], flops=lambda n: _size(_shape(n, 0)), doc="Max over spatial axes.")(_global_pool)


def reduce_axes(n: Node) -> list[int]:
    x = _shape(n, 0)
    axes = _static(n, 1)
    if axes is None:
        axes = n.attrs.get("axes")
    if axes is None or len(axes) == 0:
        return [] if n.attrs.get("noop_with_empty_axes", 0) else list(range(len(x)))
    return sorted({_norm_axis(n, int(a), len(x)) for a in np.asarray(axes).ravel()})


@op("reduce_mean", ["X", "axes?"], {"axes": None, "keepdims": 1, "noop_with_empty_axes": 0},
    static=(1,), flops=lambda n: _size(_shape(n, 0)))
def _reduce_mean(n):
    """Mean over `axes` (attribute, or the constant second input)."""
    x = _shape(n, 0)
    axes = reduce_axes(n)
    if n.attrs.get("keepdims", 1):
        return [tuple(1 if i in axes else d for i, d in enumerate(x))]
    return [tuple(d for i, d in enumerate(x) if i not in axes)]


@op("lrn", ["X"], {"size": REQUIRED, "alpha": 1e-4, "beta": 0.75, "bias": 1.0},
    flops=lambda n: _out_size(n) * (2 * n.attrs["size"] + 3))
def _lrn(n):
    """Local response normalization across channels (ONNX semantics)."""
    if len(_shape(n, 0)) != 4:
        _fail(n, "LRN expects a 4-D input")
    return [_shape(n, 0)]


@op("softmax", ["X"], {"axis": -1, "coerce_2d": 0}, flops=lambda n: 4 * _out_size(n))
def _softmax(n):
    """Softmax along `axis`; coerce_2d=1 is opset<13: over all axes from `axis` on, as one."""
    x = _shape(n, 0)
    _norm_axis(n, n.attrs.get("axis", -1), len(x))
    return [x]


# --- data movement --------------------------------------------------------------------------

@op("reshape", ["X", "shape"], {"allowzero": 0}, static=(1,))
def _reshape(n):
    """ONNX Reshape: 0 copies the input dim (unless allowzero), -1 is inferred."""
    x = _shape(n, 0)
    target = [int(d) for d in _static(n, 1).ravel()]
    if not n.attrs.get("allowzero", 0):
        target = [x[i] if d == 0 and i < len(x) else d for i, d in enumerate(target)]
    if target.count(-1) > 1:
        _fail(n, f"more than one -1 in target shape {target}")
    known = _size([d for d in target if d != -1])
    if -1 in target:
        if known == 0 or _size(x) % known:
            _fail(n, f"cannot infer -1 in {target}")
        target[target.index(-1)] = _size(x) // known
    if _size(target) != _size(x):
        _fail(n, f"cannot reshape {x} ({_size(x)} elements) to {target}")
    return [tuple(target)]


@op("flatten", ["X"], {"axis": 1})
def _flatten(n):
    """To 2-D: dims before `axis` and from `axis` on."""
    x = _shape(n, 0)
    axis = n.attrs.get("axis", 1)
    if not -len(x) <= axis <= len(x):
        _fail(n, f"axis {axis} out of range")
    axis = axis + len(x) if axis < 0 else axis
    return [(_size(x[:axis]), _size(x[axis:]))]


@op("squeeze", ["X", "axes?"], {"axes": None}, static=(1,))
def _squeeze(n):
    """Removes the given size-1 axes (all size-1 axes when none are given)."""
    x = _shape(n, 0)
    axes = _static(n, 1)
    axes = n.attrs.get("axes") if axes is None else axes.ravel().tolist()
    if axes is None or len(axes) == 0:
        return [tuple(d for d in x if d != 1)]
    axes = {_norm_axis(n, int(a), len(x)) for a in axes}
    if any(x[a] != 1 for a in axes):
        _fail(n, f"cannot squeeze axes {sorted(axes)}: not of size 1")
    return [tuple(d for i, d in enumerate(x) if i not in axes)]


@op("unsqueeze", ["X", "axes?"], {"axes": None}, static=(1,))
def _unsqueeze(n):
    """Inserts size-1 axes at the given positions of the output."""
    x = _shape(n, 0)
    axes = _static(n, 1)
    axes = n.attrs.get("axes") if axes is None else axes.ravel().tolist()
    if not axes:
        _fail(n, "axes are required")
    rank = len(x) + len(axes)
    axes = sorted(_norm_axis(n, int(a), rank) for a in axes)
    out, it = [], iter(x)
    for i in range(rank):
        out.append(1 if i in axes else next(it))
    return [tuple(out)]


@op("transpose", ["X"], {"perm": None})
def _transpose(n):
    """Permutes axes (reverses them when perm is absent)."""
    x = _shape(n, 0)
    perm = n.attrs.get("perm") or list(range(len(x)))[::-1]
    if sorted(perm) != list(range(len(x))):
        _fail(n, f"perm {perm} is not a permutation of {len(x)} axes")
    n.attrs["perm"] = list(perm)
    return [tuple(x[p] for p in perm)]


@op("concat", ["X*"], {"axis": REQUIRED, "inplace": 0})
def _concat(n):
    """Joins inputs along `axis`; inplace=1: producers write straight into their slice."""
    shapes = [_shape(n, i) for i in range(len(n.inputs))]
    axis = _norm_axis(n, n.attrs["axis"], len(shapes[0]))
    for s in shapes:
        if len(s) != len(shapes[0]) or any(s[i] != shapes[0][i] for i in range(len(s)) if i != axis):
            _fail(n, f"inputs differ outside axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return [tuple(out)]


@op("split", ["X", "split?"], {"axis": 0, "num_outputs": None, "sizes": None}, static=(1,))
def _split(n):
    """Splits along `axis` into the given sizes (or equal parts, the last one smaller)."""
    x = _shape(n, 0)
    axis = _norm_axis(n, n.attrs.get("axis", 0), len(x))
    sizes = _static(n, 1)
    k = len(n.outputs)
    if sizes is None:
        part = -(-x[axis] // k)
        sizes = [min(part, x[axis] - i * part) for i in range(k)]
    sizes = [int(s) for s in np.asarray(sizes).ravel()]
    if len(sizes) != k or sum(sizes) != x[axis] or min(sizes) < 0:
        _fail(n, f"split sizes {sizes} do not divide axis {axis} of size {x[axis]} into {k}")
    n.attrs["sizes"] = sizes
    return [tuple(s if i == axis else d for i, d in enumerate(x)) for s in sizes]


def slice_params(n: Node) -> tuple[list[int], list[int], list[int]]:
    """Per-axis (start, step, length) for every axis of the input, ONNX clamping rules."""
    x = _shape(n, 0)
    starts = [int(v) for v in _static(n, 1).ravel()]
    ends = [int(v) for v in _static(n, 2).ravel()]
    axes = _static(n, 3)
    axes = list(range(len(starts))) if axes is None else [int(v) for v in axes.ravel()]
    steps = _static(n, 4)
    steps = [1] * len(starts) if steps is None else [int(v) for v in steps.ravel()]
    if not len(starts) == len(ends) == len(axes) == len(steps):
        _fail(n, "starts, ends, axes and steps differ in length")
    st, sp, ln = [0] * len(x), [1] * len(x), list(x)
    for s, e, a, step in zip(starts, ends, axes, steps):
        a = _norm_axis(n, a, len(x))
        d = x[a]
        if step == 0:
            _fail(n, "slice step 0")
        s = s + d if s < 0 else s
        e = e + d if e < 0 else e
        if step > 0:
            s, e = min(max(s, 0), d), min(max(e, 0), d)
            length = max(0, -(-(e - s) // step))
        else:
            s, e = min(max(s, 0), d - 1), min(max(e, -1), d - 1)
            length = max(0, -(-(s - e) // -step))
        st[a], sp[a], ln[a] = s, step, length
    return st, sp, ln


@op("slice", ["X", "starts", "ends", "axes?", "steps?"], static=(1, 2, 3, 4))
def _slice(n):
    """ONNX Slice with constant starts/ends/axes/steps."""
    return [tuple(slice_params(n)[2])]


def pad_amounts(n: Node) -> list[int]:
    x = _shape(n, 0)
    pads = [int(v) for v in _static(n, 1).ravel()]
    axes = _static(n, 3)
    if axes is not None:
        full = [0] * (2 * len(x))
        ax = [_norm_axis(n, int(a), len(x)) for a in axes.ravel()]
        for i, a in enumerate(ax):
            full[a], full[a + len(x)] = pads[i], pads[i + len(ax)]
        pads = full
    if len(pads) != 2 * len(x):
        _fail(n, f"pads has {len(pads)} values, expected {2 * len(x)}")
    return pads


@op("pad", ["X", "pads", "value?", "axes?"], {"mode": "constant"}, static=(1, 2, 3))
def _pad(n):
    """ONNX Pad (constant, reflect, edge); negative pads crop."""
    x = _shape(n, 0)
    pads = pad_amounts(n)
    if n.attrs.get("mode", "constant") not in ("constant", "reflect", "edge"):
        _fail(n, f"unsupported pad mode {n.attrs.get('mode')!r}")
    out = tuple(d + pads[i] + pads[i + len(x)] for i, d in enumerate(x))
    if min(out) < 0:
        _fail(n, f"pads {pads} crop more than the input has")
    return [out]


@op("gather", ["X", "indices"], {"axis": 0}, static=(1,))
def _gather(n):
    """ONNX Gather along `axis` with constant indices."""
    x = _shape(n, 0)
    idx = _static(n, 1)
    axis = _norm_axis(n, n.attrs.get("axis", 0), len(x))
    if idx.size and (idx.min() < -x[axis] or idx.max() >= x[axis]):
        _fail(n, f"indices out of range for axis {axis} of size {x[axis]}")
    return [x[:axis] + tuple(idx.shape) + x[axis + 1:]]


@op("cast", ["X"], {"to": REQUIRED}, out_dtype=lambda n: n.attrs["to"])
def _cast(n):
    """Converts to dtype `to` (a numpy dtype name)."""
    return [_shape(n, 0)]


op("identity", ["X"], doc="Y = X.")(lambda n: [_shape(n, 0)])
op("dropout", ["X"], doc="Inference-mode dropout: Y = X.")(lambda n: [_shape(n, 0)])


@op("shape", ["X"], {"start": 0, "end": None}, out_dtype=lambda n: "int64")
def _shape_op(n):
    """The input's shape as int64 (folded to a constant once shapes are known)."""
    r = len(_shape(n, 0))
    start, end = n.attrs.get("start", 0), n.attrs.get("end")
    end = r if end is None else end
    start, end = (start + r if start < 0 else start), (end + r if end < 0 else end)
    return [(max(0, min(end, r) - min(max(start, 0), r)),)]


@op("constant_of_shape", ["shape"], {"value": None}, static=(0,),
    out_dtype=lambda n: str(np.asarray(n.attrs["value"]).dtype) if n.attrs.get("value") is not None else "float32")
def _constant_of_shape(n):
    """A tensor of the given shape filled with `value` (default float 0)."""
    return [tuple(int(d) for d in _static(n, 0).ravel())]


# --- accounting entry points ----------------------------------------------------------------

def node_cost(n: Node) -> Cost:
    """Cost of one node with inferred shapes."""
    s = schema(n.op)
    params = sum(n.inputs[i].size for i in s.weights
                 if i < len(n.inputs) and n.inputs[i] is not None and n.inputs[i].is_const
                 and n.inputs[i].dtype.startswith("float"))
    item = lambda v: np.dtype(v.dtype).itemsize * v.size
    read = sum(item(v) for v in n.inputs if v is not None)
    written = sum(item(v) for v in n.outputs)
    return Cost(int(s.macs(n)), int(s.flops(n)), int(params), int(read), int(written))


def infer_node(n: Node) -> None:
    """Sets the shapes and dtypes of n's outputs from its inputs (raises ShapeError)."""
    s = schema(n.op)
    shapes = s.infer(n)
    if len(shapes) != len(n.outputs):
        _fail(n, f"produces {len(shapes)} outputs but the node has {len(n.outputs)}")
    dtype = s.out_dtype(n) if s.out_dtype else (n.inputs[0].dtype if n.inputs and n.inputs[0] else "float32")
    for v, shp in zip(n.outputs, shapes):
        v.shape = tuple(int(d) for d in shp)
        v.dtype = str(np.dtype(dtype))


def is_concrete(shape) -> bool:
    return shape is not None and all(isinstance(d, (int, np.integer)) for d in shape)


__all__ = ["SCHEMAS", "schema", "op", "Cost", "ShapeError", "node_cost", "infer_node",
           "ACTIVATIONS", "BINARY_KINDS", "ACT_FLOPS", "attrs_with_defaults", "broadcast",
           "slice_params", "pad_amounts", "reduce_axes", "resolve_window", "is_concrete"]
