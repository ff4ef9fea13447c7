"""The C++ engine through `_engine` directly: every step op against a numpy float64 reference on
fresh random data with awkward shapes, plus the memory planner (arena reuse, reshape aliases,
inplace concat), errors (ValueError naming the step) and concurrent runs.

Uses the installed `cnnrt._engine`, else a development build in build/engine-dev."""

from __future__ import annotations

import os
import sys
import threading

import numpy as np
import pytest

try:
    from cnnrt import _engine as E
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                    "build", "engine-dev"))
    try:
        import _engine as E
    except ImportError:
        pytest.skip("cnnrt._engine is not built", allow_module_level=True)

ISAS = ["ref", "auto"]


@pytest.fixture
def rng():
    seed = int(np.random.SeedSequence().entropy % 2**32)
    print(f"seed={seed}")  # shown by pytest when a test fails
    return np.random.default_rng(seed)


def rand(rng, *shape, lo=-2.0, hi=2.0):
    return rng.uniform(lo, hi, size=shape).astype(np.float32)


def close(got, want, tol=1e-4):
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, (got.shape, want.shape)
    scale = max(1.0, float(np.abs(want).max())) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * scale)


def run_step(op, inputs, out_shapes, attrs, consts=(), isa="auto", threads=0, name="s0"):
    """One-step plan: inputs are arrays (None = absent), those at `consts` become constants."""
    p = E.Plan()
    vid, ins, graph_in, feeds = 0, [], [], []
    for i, a in enumerate(inputs):
        if a is None:
            ins.append(-1)
            continue
        if i in consts:
            p.add_constant(vid, a)
        else:
            p.add_value(vid, list(a.shape))
            graph_in.append(vid)
            feeds.append(a)
        ins.append(vid)
        vid += 1
    outs = list(range(vid, vid + len(out_shapes)))
    for v, s in zip(outs, out_shapes):
        p.add_value(v, list(s))
    p.add_step(op, ins, outs, attrs, name)
    p.set_io(graph_in, outs)
    p.compile(threads, isa)
    res = p.run(feeds)
    assert all(r.dtype == np.float32 for r in res)
    return res, p


# --- numpy references ----------------------------------------------------------------------

def act_ref(x, act, alpha=0.0, beta=0.0):
    x = np.asarray(x, np.float64)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    return {
        "none": lambda: x, "relu": lambda: np.maximum(x, 0), "clip": lambda: np.clip(x, alpha, beta),
        "leaky_relu": lambda: np.where(x >= 0, x, alpha * x), "sigmoid": lambda: sig(x),
        "silu": lambda: x * sig(x), "tanh": lambda: np.tanh(x),
        "hard_sigmoid": lambda: np.clip(alpha * x + beta, 0, 1),
        "hard_swish": lambda: x * np.clip(x / 6 + 0.5, 0, 1),
    }[act]()


ACTS = [("relu", 0, 0), ("clip", -0.5, 1.5), ("leaky_relu", 0.1, 0), ("sigmoid", 0, 0),
        ("silu", 0, 0), ("tanh", 0, 0), ("hard_sigmoid", 0.2, 0.5), ("hard_swish", 0, 0), ("none", 0, 0)]


def out_size(n, k, s, pb, pe, d=1, ceil=False):
    span = n + pb + pe - ((k - 1) * d + 1)
    return (-(-span // s) if ceil else span // s) + 1


def conv_ref(x, w, b, strides, pads, dil, group):
    x, w = x.astype(np.float64), w.astype(np.float64)
    N, C, H, W = x.shape
    M, Cg, KH, KW = w.shape
    OH = out_size(H, KH, strides[0], pads[0], pads[2], dil[0])
    OW = out_size(W, KW, strides[1], pads[1], pads[3], dil[1])
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    y = np.zeros((N, M, OH, OW))
    Mg = M // group
    for g in range(group):
        for kh in range(KH):
            for kw in range(KW):
                h0, w0 = kh * dil[0], kw * dil[1]
                patch = xp[:, g * Cg:(g + 1) * Cg, h0:h0 + strides[0] * (OH - 1) + 1:strides[0],
                           w0:w0 + strides[1] * (OW - 1) + 1:strides[1]]
                y[:, g * Mg:(g + 1) * Mg] += np.einsum("nchw,mc->nmhw", patch, w[g * Mg:(g + 1) * Mg, :, kh, kw])
    if b is not None:
        y += b[None, :, None, None]
    return y


def pool_ref(x, k, s, p, d, OH, OW, kind, cip=0):
    N, C, H, W = x.shape
    y = np.zeros((N, C, OH, OW))
    for oh in range(OH):
        for ow in range(OW):
            hs = [oh * s[0] - p[0] + i * d[0] for i in range(k[0])]
            ws = [ow * s[1] - p[1] + j * d[1] for j in range(k[1])]
            hin = [h for h in hs if 0 <= h < H]
            win = [w for w in ws if 0 <= w < W]
            win_vals = x[:, :, hin][:, :, :, win].astype(np.float64)
            if kind == "max":
                y[:, :, oh, ow] = win_vals.max(axis=(2, 3))
            else:
                if cip:
                    cnt = sum(-p[0] <= h < H + p[2] for h in hs) * sum(-p[1] <= w < W + p[3] for w in ws)
                else:
                    cnt = len(hin) * len(win)
                y[:, :, oh, ow] = win_vals.sum(axis=(2, 3)) / cnt
    return y


# --- elementwise ---------------------------------------------------------------------------

@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("act,alpha,beta", ACTS)
def test_activation(rng, isa, act, alpha, beta):
    x = rand(rng, 2, 3, 5, 7, lo=-8, hi=8)
    (y,), p = run_step("activation", [x], [x.shape], {"act": act, "alpha": alpha, "beta": beta}, isa=isa)
    close(y, act_ref(x, act, alpha, beta))
    assert p.step_kernels()[0]


BCAST = [((2, 3, 5, 7), (2, 3, 5, 7)), ((2, 3, 5, 7), (1, 3, 1, 1)), ((3, 1, 5), (4, 1)), ((1,), (2, 3, 4)),
         ((2, 1, 3, 1, 5, 1), (1, 4, 1, 6, 1, 7)), ((), (3, 4)), ((5, 1, 1), (5, 2, 3)), ((4, 1, 6), (1, 3, 1))]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("kind", ["add", "sub", "mul", "div", "max", "min", "pow"])
@pytest.mark.parametrize("sa,sb", BCAST)
def test_binary(rng, isa, kind, sa, sb):
    a, b = rand(rng, *sa), rand(rng, *sb)
    if kind == "pow":
        a = np.abs(a) + 0.5
    if kind == "div":
        b = np.sign(b) * (np.abs(b) + 0.5)
    ys = np.broadcast_shapes(sa, sb)
    fn = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "max": np.maximum,
          "min": np.minimum, "pow": np.power}[kind]
    (y,), _ = run_step("binary", [a, b], [ys], {"kind": kind}, isa=isa)
    close(y, fn(a.astype(np.float64), b.astype(np.float64)))


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("const", [0, 1])
def test_binary_const_and_act(rng, isa, const):
    a, b = rand(rng, 3, 4, 5), rand(rng, 4, 1)
    (y,), _ = run_step("binary", [a, b], [(3, 4, 5)], {"kind": "mul", "act": "clip", "alpha": -0.5, "beta": 0.7},
                       consts={const}, isa=isa)
    close(y, np.clip(a.astype(np.float64) * b, -0.5, 0.7))


@pytest.mark.parametrize("isa", ISAS)
def test_batch_norm(rng, isa):
    for shape in [(2, 3, 5, 7), (3, 6)]:
        x = rand(rng, *shape)
        C = shape[1]
        sc, bi, mu = rand(rng, C), rand(rng, C), rand(rng, C)
        var = rand(rng, C, lo=0.1, hi=2)
        (y,), _ = run_step("batch_norm", [x, sc, bi, mu, var], [shape], {"epsilon": 1e-3}, consts={1, 2, 3, 4}, isa=isa)
        bc = (slice(None),) + (None,) * (len(shape) - 2)
        want = (x - mu[bc].astype(np.float64)) / np.sqrt(var[bc].astype(np.float64) + 1e-3) * sc[bc] + bi[bc]
        close(y, want)


# --- linear algebra ------------------------------------------------------------------------

@pytest.mark.parametrize("sa,sb", [((3, 5), (5, 4)), ((2, 3, 5), (5, 4)), ((2, 1, 3, 5), (4, 5, 6)), ((1, 7), (7, 9)),
                                   ((5,), (2, 5, 3)), ((2, 3, 5), (5,)), ((4,), (4,))])
@pytest.mark.parametrize("const_b", [False, True])
def test_matmul(rng, sa, sb, const_b):
    a, b = rand(rng, *sa), rand(rng, *sb)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    (y,), _ = run_step("matmul", [a, b], [want.shape], {}, consts={1} if const_b else ())
    close(y, want)


CONVS = [  # (N, C, H, W), (M, KH, KW), strides, pads, dilations, group
    ((1, 3, 9, 11), (5, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1),
    ((2, 4, 10, 7), (6, 3, 2), (2, 1), (0, 1, 2, 0), (1, 1), 2),
    ((2, 6, 8, 8), (6, 3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 6),
    ((1, 5, 13, 9), (7, 3, 3), (1, 2), (2, 2, 2, 2), (2, 2), 1),
    ((3, 8, 5, 5), (16, 1, 1), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((1, 3, 7, 7), (4, 5, 5), (3, 3), (2, 1, 0, 3), (1, 1), 1),
]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("case", range(len(CONVS)))
def test_conv(rng, isa, case):
    (N, C, H, W), (M, KH, KW), st, pads, dil, g = CONVS[case]
    x, w, b = rand(rng, N, C, H, W), rand(rng, M, C // g, KH, KW, lo=-0.5, hi=0.5), rand(rng, M)
    want = conv_ref(x, w, b, st, pads, dil, g)
    r = rand(rng, *want.shape)
    attrs = {"strides": list(st), "pads": list(pads), "dilations": list(dil), "group": g,
             "act": "leaky_relu", "alpha": 0.1, "post_act": "relu"}
    (y,), p = run_step("conv", [x, w, b, r], [want.shape], attrs, consts={1, 2}, isa=isa)
    close(y, np.maximum(act_ref(want, "leaky_relu", 0.1) + r, 0))
    (y,), _ = run_step("conv", [x, w, None, None], [want.shape], {**attrs, "act": "none", "post_act": "none"},
                       consts={1}, isa=isa)
    close(y, want - b[None, :, None, None])
    assert p.step_kernels()[0]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("n,k,m", [(1, 17, 9), (3, 64, 33), (5, 7, 100)])
def test_gemm(rng, isa, n, k, m):
    x, w, b, r = rand(rng, n, k), rand(rng, m, k, lo=-0.5, hi=0.5), rand(rng, m), rand(rng, n, m)
    want = x.astype(np.float64) @ w.T + b
    (y,), _ = run_step("gemm", [x, w, b, r], [(n, m)], {"act": "relu", "post_act": "tanh"}, consts={1, 2}, isa=isa)
    close(y, np.tanh(np.maximum(want, 0) + r))
    (y,), _ = run_step("gemm", [x, w, None], [(n, m)], {}, consts={1}, isa=isa)
    close(y, want - b)


# --- pooling and reductions ----------------------------------------------------------------

POOLS = [  # (N, C, H, W), kernel, strides, pads, dilations, ceil
    ((2, 3, 7, 9), (3, 3), (2, 2), (0, 0, 0, 0), (1, 1), True),
    ((1, 4, 8, 8), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), False),
    ((2, 2, 10, 7), (3, 2), (2, 3), (1, 0, 1, 1), (1, 1), True),
    ((1, 3, 9, 9), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), False),
    ((1, 2, 11, 12), (3, 3), (2, 2), (1, 2, 0, 1), (2, 1), True),
]


@pytest.mark.parametrize("case", range(len(POOLS)))
def test_max_pool(rng, case):
    shape, k, s, p, d, ceil = POOLS[case]
    x = rand(rng, *shape)
    OH = out_size(shape[2], k[0], s[0], p[0], p[2], d[0], ceil)
    OW = out_size(shape[3], k[1], s[1], p[1], p[3], d[1], ceil)
    (y,), _ = run_step("max_pool", [x], [(shape[0], shape[1], OH, OW)],
                       {"kernel": list(k), "strides": list(s), "pads": list(p), "dilations": list(d)})
    close(y, pool_ref(x, k, s, p, d, OH, OW, "max"))


@pytest.mark.parametrize("case", range(len(POOLS)))
def test_separable_max_pool_equals_the_reference_kernel(rng, case):
    """The optimized (separable) max pool against the isa=ref oracle, bit for bit."""
    shape, k, s, p, d, ceil = POOLS[case]
    shape = (shape[0], shape[1] + 3, shape[2] + 5, shape[3] + 6)  # larger maps: interior runs
    x = rand(rng, *shape)
    OH = out_size(shape[2], k[0], s[0], p[0], p[2], d[0], ceil)
    OW = out_size(shape[3], k[1], s[1], p[1], p[3], d[1], ceil)
    attrs = {"kernel": list(k), "strides": list(s), "pads": list(p), "dilations": list(d)}
    (fast,), _ = run_step("max_pool", [x], [(shape[0], shape[1], OH, OW)], attrs, threads=2)
    (ref,), _ = run_step("max_pool", [x], [(shape[0], shape[1], OH, OW)], attrs, isa="ref")
    np.testing.assert_array_equal(fast, ref)


@pytest.mark.parametrize("cip", [0, 1])
@pytest.mark.parametrize("case", [0, 2, 3])
def test_avg_pool(rng, case, cip):
    shape, k, s, p, _, ceil = POOLS[case]
    x = rand(rng, *shape)
    OH = out_size(shape[2], k[0], s[0], p[0], p[2], 1, ceil)
    OW = out_size(shape[3], k[1], s[1], p[1], p[3], 1, ceil)
    (y,), _ = run_step("avg_pool", [x], [(shape[0], shape[1], OH, OW)],
                       {"kernel": list(k), "strides": list(s), "pads": list(p), "count_include_pad": cip})
    close(y, pool_ref(x, k, s, p, (1, 1), OH, OW, "avg", cip))


def test_global_pools(rng):
    x = rand(rng, 3, 5, 7, 6)
    (y,), _ = run_step("global_avg_pool", [x], [(3, 5, 1, 1)], {})
    close(y, x.astype(np.float64).mean(axis=(2, 3), keepdims=True))
    (y,), _ = run_step("global_max_pool", [x], [(3, 5, 1, 1)], {})
    close(y, x.max(axis=(2, 3), keepdims=True))


@pytest.mark.parametrize("hw", [(7, 6), (8, 4), (112, 113), (1, 1)])
def test_global_avg_pool_lanes_vs_float64(rng, hw):
    """The 32-lane kernel (every ISA but ref) on planes below, at and well above 32 values,
    with an offset so a lost tail or a dropped lane shows."""
    x = rand(rng, 2, 3, *hw) + 3.0
    for isa in ("auto", "ref"):
        (y,), _ = run_step("global_avg_pool", [x], [(2, 3, 1, 1)], {}, isa=isa)
        np.testing.assert_allclose(y, x.astype(np.float64).mean(axis=(2, 3), keepdims=True),
                                   rtol=1e-6)


def test_reduce_mean_empty_axes_noop(rng):
    x = rand(rng, 2, 3)  # Y with X's shape: ONNX's noop_with_empty_axes
    (y,), _ = run_step("reduce_mean", [x], [(2, 3)], {"axes": [], "keepdims": 1})
    close(y, x)


@pytest.mark.parametrize("axes,keep", [([2, 3], 1), ([1], 0), ([0, 2], 1), ([3], 0), ([], 1)])
def test_reduce_mean(rng, axes, keep):
    x = rand(rng, 2, 3, 5, 7)
    want = x.astype(np.float64).mean(axis=tuple(axes) if axes else None, keepdims=bool(keep))
    (y,), _ = run_step("reduce_mean", [x], [want.shape], {"axes": axes, "keepdims": keep})
    close(y, want)


@pytest.mark.parametrize("size", [1, 3, 4, 5])
def test_lrn(rng, size):
    x = rand(rng, 2, 7, 4, 5)
    alpha, beta, bias = 1e-2, 0.75, 2.0
    C = x.shape[1]
    sq = np.zeros(x.shape)
    x64 = x.astype(np.float64)
    for c in range(C):
        lo, hi = max(0, c - (size - 1) // 2), min(C - 1, c + -(-(size - 1) // 2))
        sq[:, c] = (x64[:, lo:hi + 1] ** 2).sum(axis=1)
    (y,), _ = run_step("lrn", [x], [x.shape], {"size": size, "alpha": alpha, "beta": beta, "bias": bias})
    close(y, x64 / (bias + alpha / size * sq) ** beta)


@pytest.mark.parametrize("shape,axis", [((2, 5, 3), 1), ((3, 4, 10), 2), ((7, 1000), 1), ((6, 2, 3), 0)])
def test_softmax(rng, shape, axis):
    x = rand(rng, *shape, lo=-30, hi=30)  # large logits: only a stable softmax survives
    e = np.exp(x.astype(np.float64) - x.max(axis=axis, keepdims=True))
    (y,), _ = run_step("softmax", [x], [shape], {"axis": axis})
    close(y, e / e.sum(axis=axis, keepdims=True))


# --- data movement -------------------------------------------------------------------------

@pytest.mark.parametrize("shape,perm", [((2, 3, 4, 5), (0, 2, 3, 1)), ((2, 3, 4, 5), (3, 1, 0, 2)), ((5, 7), (1, 0)),
                                        ((3,), (0,))])
def test_transpose(rng, shape, perm):
    x = rand(rng, *shape)
    want = x.transpose(perm)
    (y,), _ = run_step("transpose", [x], [want.shape], {"perm": list(perm)})
    close(y, want)


@pytest.mark.parametrize("axis", [0, 1, 2, 3])
def test_concat_copy(rng, axis):
    base = [2, 3, 4, 5]
    xs = []
    for n in (1, 3, 2):
        s = list(base)
        s[axis] = n
        xs.append(rand(rng, *s))
    want = np.concatenate(xs, axis=axis)
    (y,), p = run_step("concat", xs, [want.shape], {"axis": axis})
    close(y, want)
    assert p.step_kernels()[0]


def test_split(rng):
    x = rand(rng, 2, 9, 4, 3)
    ys, _ = run_step("split", [x], [(2, 2, 4, 3), (2, 0, 4, 3), (2, 7, 4, 3)], {"axis": 1, "sizes": [2, 0, 7]})
    for y, w in zip(ys, np.split(x, [2, 2], axis=1)):
        close(y, w)
    ys, _ = run_step("split", [x], [(2, 9, 4, 1), (2, 9, 4, 2)], {"axis": 3, "sizes": [1, 2]})
    close(ys[0], x[..., :1])
    close(ys[1], x[..., 1:])


def test_slice(rng):
    x = rand(rng, 4, 7, 9, 5)
    want = x[1:4, 6:0:-2, ::3, 4::-1]
    (y,), _ = run_step("slice", [x], [want.shape], {"starts": [1, 6, 0, 4], "steps": [1, -2, 3, -1]})
    close(y, want)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad(rng, mode):
    x = rand(rng, 2, 3, 4, 5)
    pads = [0, 1, 3, 2, 1, 0, 2, 4]  # begins then ends; reflect wider than the axis wraps as numpy
    width = list(zip(pads[:4], pads[4:]))
    want = np.pad(x, width, mode=mode, constant_values=1.5) if mode == "constant" else np.pad(x, width, mode=mode)
    (y,), p = run_step("pad", [x], [want.shape], {"pads": pads, "mode": mode, "value": 1.5})
    close(y, want)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_negative_crops(rng, mode):
    x = rand(rng, 3, 6, 5)
    (y,), _ = run_step("pad", [x], [(3, 5, 6)], {"pads": [0, -2, 2, 0, 1, -1], "mode": mode, "value": 0.5})
    want = np.pad(x[:, 2:, :4], [(0, 0), (0, 1), (2, 0)], mode=mode, **({"constant_values": 0.5} if mode == "constant" else {}))
    close(y, want)


def test_gather(rng):
    x = rand(rng, 3, 5, 4)
    idx = np.array([[4, 0, 2], [1, 1, 3]])
    want = np.take(x, idx, axis=1)
    (y,), _ = run_step("gather", [x], [want.shape], {"axis": 1, "indices": idx.ravel().tolist(), "indices_shape": [2, 3]})
    close(y, want)
    (y,), _ = run_step("gather", [x], [(3, 4)], {"axis": 1, "indices": [2], "indices_shape": []})
    close(y, x[:, 2])


def test_copy_and_reshape(rng):
    x = rand(rng, 2, 3, 4)
    (y,), p = run_step("copy", [x], [x.shape], {})
    close(y, x)
    (y,), p = run_step("reshape", [x], [(6, 4)], {})
    close(y, x.reshape(6, 4))
    assert p.step_kernels() == [""]  # aliased: nothing runs


# --- memory planning -----------------------------------------------------------------------

def chain_plan(n_steps, shape=(2, 8, 6, 6)):
    p = E.Plan()
    for v in range(n_steps + 1):
        p.add_value(v, list(shape))
    for s in range(n_steps):
        p.add_step("activation", [s], [s + 1], {"act": "tanh" if s % 2 else "relu"}, f"act{s}")
    p.set_io([0], [n_steps])
    return p


def test_arena_reuse_on_chain(rng):
    p = chain_plan(8)
    p.compile(0, "auto")
    size = 2 * 8 * 6 * 6 * 4
    assert p.naive_bytes == 9 * size
    assert p.arena_bytes == 2 * size  # ping-pong: never more than two live intermediates
    x = rand(rng, 2, 8, 6, 6)
    want = x.astype(np.float64)
    for s in range(8):
        want = np.tanh(want) if s % 2 else np.maximum(want, 0)
    close(p.run([x])[0], want)


def test_reshape_alias_keeps_values_alive(rng):
    # x -> relu -> a -> reshape -> b -> sigmoid -> c; a's storage must live until c is computed.
    p = E.Plan()
    p.add_value(0, [2, 12])
    p.add_value(1, [2, 12])
    p.add_value(2, [4, 6])
    p.add_value(3, [4, 6])
    p.add_value(4, [4, 6])
    p.add_step("activation", [0], [1], {"act": "relu"}, "r")
    p.add_step("reshape", [1], [2], {}, "rs")
    p.add_step("activation", [2], [3], {"act": "sigmoid"}, "sg")
    p.add_step("binary", [3, 2], [4], {"kind": "add"}, "add")
    p.set_io([0], [4, 2])
    p.compile(1, "auto")
    assert p.step_kernels()[1] == ""
    x = rand(rng, 2, 12)
    a = np.maximum(x, 0).reshape(4, 6).astype(np.float64)
    y, b = p.run([x])
    close(b, a)
    close(y, 1 / (1 + np.exp(-a)) + a)


def test_reshape_of_graph_input_as_output(rng):
    (y,), p = run_step("reshape", [rand(rng, 3, 4)], [(12,)], {})
    assert p.arena_bytes == 0


def concat_plan(N):
    """Values of x (vid 0) -> a (3), b (4) -> concat(inplace) y (5) -> z (6)."""
    p = E.Plan()
    p.add_value(0, [N, 3, 6, 5])
    p.add_value(3, [N, 4, 6, 5])
    p.add_value(4, [N, 6, 6, 5])
    p.add_value(5, [N, 10, 6, 5])
    p.add_value(6, [N, 10, 6, 5])
    return p


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("N", [1, 2])
def test_inplace_concat_conv(rng, N, isa):
    x = rand(rng, N, 3, 6, 5)
    w1, w2 = rand(rng, 4, 3, 3, 3, lo=-0.5, hi=0.5), rand(rng, 6, 3, 1, 1, lo=-0.5, hi=0.5)
    b1 = rand(rng, 4)
    p = concat_plan(N)
    p.add_constant(1, w1)
    p.add_constant(2, w2)
    p.add_constant(7, b1)
    p.add_step("conv", [0, 1, 7, -1], [3], {"pads": [1, 1, 1, 1], "act": "relu"}, "c1")
    p.add_step("conv", [0, 2], [4], {}, "c2")
    p.add_step("concat", [3, 4], [5], {"axis": 1, "inplace": 1}, "cat")
    p.add_step("activation", [5], [6], {"act": "sigmoid"}, "sig")
    p.set_io([0], [6])
    p.compile(0, isa)
    assert p.step_kernels()[2] == ""  # both inputs were written in place
    want = np.concatenate([np.maximum(conv_ref(x, w1, b1, (1, 1), (1, 1, 1, 1), (1, 1), 1), 0),
                           conv_ref(x, w2, None, (1, 1), (0, 0, 0, 0), (1, 1), 1)], axis=1)
    close(p.run([x])[0], 1 / (1 + np.exp(-want)))


@pytest.mark.parametrize("N", [1, 2])
def test_inplace_concat_views_and_copies(rng, N):
    x = rand(rng, N, 3, 6, 5)
    c = rand(rng, 1, 4, 1, 1)
    p = concat_plan(N)
    p.add_value(1, [N, 4, 6, 5])
    p.add_constant(2, c)
    p.add_step("pad", [0], [1], {"pads": [0, 1, 0, 0, 0, 0, 0, 0], "mode": "edge"}, "pad")
    p.add_step("binary", [1, 2], [3], {"kind": "mul"}, "mul")
    p.add_step("pad", [0], [4], {"pads": [0, 2, 0, 0, 0, 1, 0, 0], "mode": "reflect"}, "pad2")
    p.add_step("concat", [3, 4], [5], {"axis": 1, "inplace": 1}, "cat")
    p.add_step("activation", [5], [6], {"act": "tanh"}, "tanh")
    p.set_io([0], [6])
    p.compile(0, "auto")
    kernels = p.step_kernels()
    assert (kernels[3] == "") == (N == 1)
    a = np.pad(x, [(0, 0), (1, 0), (0, 0), (0, 0)], mode="edge") * c
    b = np.pad(x, [(0, 0), (2, 1), (0, 0), (0, 0)], mode="reflect")
    close(p.run([x])[0], np.tanh(np.concatenate([a, b], axis=1).astype(np.float64)))


def test_inplace_concat_declined_for_graph_output(rng):
    # a is also a graph output, so it keeps its own buffer and is copied; b is still a view.
    N = 2
    x = rand(rng, N, 3, 6, 5)
    w1, w2 = rand(rng, 4, 3, 1, 1), rand(rng, 6, 3, 1, 1)
    p = concat_plan(N)
    p.add_constant(1, w1)
    p.add_constant(2, w2)
    p.add_step("conv", [0, 1], [3], {}, "c1")
    p.add_step("conv", [0, 2], [4], {}, "c2")
    p.add_step("concat", [3, 4], [5], {"axis": 1, "inplace": 1}, "cat")
    p.add_step("copy", [5], [6], {}, "out")
    p.set_io([0], [6, 3])
    p.compile(0, "auto")
    assert p.step_kernels()[2] == "f32_concat_partial__ref"
    a = conv_ref(x, w1, None, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    b = conv_ref(x, w2, None, (1, 1), (0, 0, 0, 0), (1, 1), 1)
    y, a_out = p.run([x])
    close(a_out, a)
    close(y, np.concatenate([a, b], axis=1))


def test_nested_inplace_concat(rng):
    # Inception-like nesting with N == 1: inner concat output is itself a view of the outer one.
    x = rand(rng, 1, 2, 4, 4)
    p = E.Plan()
    p.add_value(0, [1, 2, 4, 4])
    for v, c in [(1, 2), (2, 2), (3, 4), (4, 2), (5, 6), (6, 6)]:
        p.add_value(v, [1, c, 4, 4])
    p.add_step("activation", [0], [1], {"act": "relu"}, "a")
    p.add_step("activation", [0], [2], {"act": "tanh"}, "b")
    p.add_step("concat", [1, 2], [3], {"axis": 1, "inplace": 1}, "inner")
    p.add_step("activation", [0], [4], {"act": "sigmoid"}, "c")
    p.add_step("concat", [4, 3], [5], {"axis": 1, "inplace": 1}, "outer")
    p.add_step("copy", [5], [6], {}, "out")
    p.set_io([0], [6])
    p.compile(0, "auto")
    assert p.step_kernels()[2] == p.step_kernels()[4] == ""
    x64 = x.astype(np.float64)
    want = np.concatenate([1 / (1 + np.exp(-x64)), np.maximum(x64, 0), np.tanh(x64)], axis=1)
    close(p.run([x])[0], want)


# --- errors --------------------------------------------------------------------------------

def test_unknown_op():
    p = E.Plan()
    p.add_value(0, [2])
    p.add_value(1, [2])
    with pytest.raises(ValueError, match="'mystery_step'.*frobnicate"):
        p.add_step("frobnicate", [0], [1], {}, "mystery_step")


def test_missing_attribute_names_step():
    p = E.Plan()
    p.add_value(0, [1, 1, 4, 4])
    p.add_value(1, [1, 1, 2, 2])
    p.add_step("max_pool", [0], [1], {"strides": [2, 2]}, "pool1")
    p.set_io([0], [1])
    with pytest.raises(ValueError, match=r"pool1.*max_pool.*kernel"):
        p.compile()


@pytest.mark.parametrize("op,ins,outs,attrs,pattern", [
    ("activation", [[2, 3]], [[3, 2]], {"act": "relu"}, "shape"),
    ("activation", [[2, 3]], [[2, 3]], {"act": "swish2"}, "swish2"),
    ("binary", [[2, 3], [4]], [[2, 3]], {"kind": "add"}, "broadcast"),
    ("binary", [[2, 3], [3]], [[2, 3]], {"kind": "xor"}, "xor"),
    ("softmax", [[2, 3]], [[2, 3]], {"axis": 2}, "axis"),
    ("transpose", [[2, 3]], [[2, 3]], {"perm": [0, 0]}, "perm"),
    ("concat", [[2, 3], [2, 2]], [[2, 6]], {"axis": 1}, "add up"),
    ("max_pool", [[1, 1, 5, 5]], [[1, 1, 4, 4]], {"kernel": [3, 3], "strides": [2, 2]}, "output H"),
    ("reshape", [[2, 3]], [[7]], {}, "reshape"),
    ("slice", [[4]], [[3]], {"starts": [2], "steps": [1]}, "axis 0"),
    ("pad", [[4]], [[6]], {"pads": [1, 1], "mode": "wrap"}, "mode"),
    ("gather", [[4, 2]], [[2, 2]], {"axis": 0, "indices": [0, 4], "indices_shape": [2]}, "out of range"),
    ("transpose", [[2, 3]], [[3, 2]], {"perm": "10"}, "perm"),
])
def test_bad_steps_raise_naming_step(op, ins, outs, attrs, pattern):
    p = E.Plan()
    vids = list(range(len(ins) + len(outs)))
    for v, s in zip(vids, ins + outs):
        p.add_value(v, s)
    p.add_step(op, vids[:len(ins)], vids[len(ins):], attrs, "bad_one")
    p.set_io(vids[:len(ins)], vids[len(ins):])
    with pytest.raises(ValueError, match=f"bad_one.*{op}") as e:
        p.compile()
    assert pattern in str(e.value)


def test_conv_errors():
    p = E.Plan()
    p.add_value(0, [1, 4, 8, 8])
    p.add_constant(1, np.ones((6, 3, 3, 3), np.float32))  # C/group = 4 != 3
    p.add_value(2, [1, 6, 6, 6])
    p.add_step("conv", [0, 1, -1, -1], [2], {}, "conv7")
    p.set_io([0], [2])
    with pytest.raises(ValueError, match="conv7.*conv"):
        p.compile()


def test_attribute_types(rng):
    x = rand(rng, 2, 3)
    (y,), _ = run_step("transpose", [x], [(3, 2)], {"perm": np.array([1, 0])})
    close(y, x.T)
    (y,), _ = run_step("softmax", [x], [(2, 3)], {"axis": np.int64(0)})
    close(y, np.exp(x) / np.exp(x).sum(axis=0))
    (y,), _ = run_step("activation", [x], [(2, 3)], {"act": "clip", "alpha": 0, "beta": np.float32(0.5)})
    close(y, np.clip(x, 0, 0.5))
    with pytest.raises(ValueError, match="st1.*softmax.*'axis' must be an int"):
        run_step("softmax", [x], [(2, 3)], {"axis": 1.0}, name="st1")


def test_graph_errors(rng):
    p = E.Plan()
    p.add_value(0, [2])
    with pytest.raises(ValueError):
        p.add_value(0, [2])  # defined twice
    with pytest.raises(ValueError):
        p.add_value(1, [-1])
    p.add_value(1, [2])
    p.add_step("activation", [5], [1], {"act": "relu"}, "ghost")
    p.set_io([0], [1])
    with pytest.raises(ValueError, match="ghost.*not defined"):
        p.compile()
    with pytest.raises(ValueError, match="bad"):
        E.Plan().add_step("copy", [0], [1], {"x": {"a": 1}}, "bad")


def test_run_input_checks(rng):
    p = chain_plan(2)
    with pytest.raises(ValueError, match="not compiled"):
        p.run([rand(rng, 2, 8, 6, 6)])
    p.compile(1, "ref")
    with pytest.raises(ValueError, match=r"expected shape \[2, 8, 6, 6\], got \[2, 8, 6, 5\]"):
        p.run([rand(rng, 2, 8, 6, 5)])
    with pytest.raises(ValueError, match="expected 1 inputs"):
        p.run([])
    with pytest.raises(ValueError, match="dtype"):
        p.run([np.full((2, 8, 6, 6), "a")])
    with pytest.raises(ValueError, match="already compiled"):
        p.compile()
    # float64 and non-contiguous inputs are converted
    x = rand(rng, 2, 8, 6, 6)
    want = p.run([x])[0]
    close(p.run([x.astype(np.float64)])[0], want)
    close(p.run([np.asfortranarray(x)])[0], want)


def test_isa_and_features():
    feats = E.cpu_features()
    assert feats["ref"] and feats["portable"] and feats[feats["best"]]
    assert isinstance(E.version, str)
    p = chain_plan(1)
    with pytest.raises(ValueError, match="isa"):
        p.compile(0, "sse9")
    p.compile(3, "portable")
    assert p.isa == "portable" and p.num_threads == 3
    p = chain_plan(1)
    p.compile(0, "auto")
    assert p.isa == feats["best"] and p.num_threads == (os.cpu_count() or 1)


# --- concurrency ---------------------------------------------------------------------------

def test_concurrent_runs(rng):
    """8 Python threads run one plan (conv, pool, inplace concat, gemm) at once; all correct."""
    N = 2
    w1, w2 = rand(rng, 4, 3, 3, 3, lo=-0.5, hi=0.5), rand(rng, 4, 3, 1, 1, lo=-0.5, hi=0.5)
    wf, bf = rand(rng, 5, 8 * 3 * 3, lo=-0.2, hi=0.2), rand(rng, 5)
    p = E.Plan()
    p.add_value(0, [N, 3, 6, 6])
    p.add_constant(1, w1)
    p.add_constant(2, w2)
    p.add_value(3, [N, 4, 6, 6])
    p.add_value(4, [N, 4, 6, 6])
    p.add_value(5, [N, 8, 6, 6])
    p.add_value(6, [N, 8, 3, 3])
    p.add_value(7, [N, 72])
    p.add_constant(8, wf)
    p.add_constant(9, bf)
    p.add_value(10, [N, 5])
    p.add_value(11, [N, 5])
    p.add_step("conv", [0, 1, -1, -1], [3], {"pads": [1, 1, 1, 1], "act": "relu"}, "c1")
    p.add_step("conv", [0, 2, -1, -1], [4], {"act": "relu"}, "c2")
    p.add_step("concat", [3, 4], [5], {"axis": 1, "inplace": 1}, "cat")
    p.add_step("max_pool", [5], [6], {"kernel": [2, 2], "strides": [2, 2]}, "pool")
    p.add_step("reshape", [6], [7], {}, "flat")
    p.add_step("gemm", [7, 8, 9, -1], [10], {}, "fc")
    p.add_step("softmax", [10], [11], {"axis": 1}, "prob")
    p.set_io([0], [11])
    p.compile(0, "auto")

    def ref(x):
        a = np.maximum(conv_ref(x, w1, None, (1, 1), (1, 1, 1, 1), (1, 1), 1), 0)
        b = np.maximum(conv_ref(x, w2, None, (1, 1), (0, 0, 0, 0), (1, 1), 1), 0)
        c = np.concatenate([a, b], axis=1).reshape(N, 8, 3, 2, 3, 2).max(axis=(3, 5)).reshape(N, 72)
        z = c @ wf.T + bf
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    xs = [rand(rng, N, 3, 6, 6) for _ in range(16)]
    wants = [ref(x) for x in xs]
    assert not np.allclose(wants[0], wants[1], atol=1e-3)  # different inputs, different outputs
    errors = []

    def worker(t):
        try:
            for i in range(t, len(xs) * 4, 8):
                close(p.run([xs[i % len(xs)]])[0], wants[i % len(xs)])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]


def test_weights_freed_while_compiling_make_a_retry_fail_clearly(rng):
    """compile() frees each raw weight once its conv has packed it; if a later step then fails,
    a second compile() says why instead of reading freed memory."""
    p = E.Plan()
    p.add_value(0, [1, 2, 4, 4])
    p.add_constant(1, rand(rng, 3, 2, 1, 1))
    p.add_value(2, [1, 3, 4, 4])
    p.add_value(3, [1, 3, 2, 2])
    p.add_step("conv", [0, 1], [2], {}, "conv1")
    p.add_step("max_pool", [2], [3], {"strides": [2, 2]}, "pool1")  # no kernel: fails
    p.set_io([0], [3])
    with pytest.raises(ValueError, match=r"pool1.*kernel"):
        p.compile()
    with pytest.raises(ValueError, match=r"conv1.*released by an earlier compile"):
        p.compile()
