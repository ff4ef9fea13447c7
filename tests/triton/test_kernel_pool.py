"""kernels/triton/pool.py against cnnrt's ONNX-exact reference pools (backends/reference/nn.py,
float64 numpy) on fresh random data: torch's avg pool differs from ONNX in ceil mode.

Under the interpreter each program instance costs ~45 ms: tiny shapes, one or two programs a
case."""

import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load import load_kernel_module  # noqa: E402
from _oracle import _rel_err  # noqa: E402

from cnnrt.backends.reference import nn as ref_nn  # noqa: E402
from cnnrt.ir.graph import Node, Value  # noqa: E402
from cnnrt.ir.ops import resolve_window  # noqa: E402

pool = load_kernel_module("pool")

RTOL = 1e-4
DEV = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"


def _oracle(x_nchw, kind, attrs):
    """Reference pool in float64 -> (NHWC float64 torch tensor, (OH, OW))."""
    node = Node(f"{kind}_pool", "p", [Value("x", shape=tuple(x_nchw.shape))], [Value("y")],
                dict(attrs))
    out_hw = resolve_window(Node("max_pool", "q", [], [], dict(attrs)), tuple(x_nchw.shape[2:]),
                            attrs["kernel"], attrs.get("strides", [1, 1]),
                            attrs.get("dilations", [1, 1]), attrs.get("ceil_mode", 0))
    y = getattr(ref_nn, f"{kind}_pool")(node, [x_nchw.double().numpy()])[0]
    assert y.shape[2:] == out_hw
    return torch.from_numpy(np.ascontiguousarray(y.transpose(0, 2, 3, 1))), out_hw


def _run(kind, n, c, h, w_, k, s=(1, 1), pads=(0, 0, 0, 0), dil=(1, 1), ceil=0, inc=0,
         blocks=(64, 64), dtype=torch.float32, tol=RTOL):
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = torch.randn(n, c, h, w_, generator=g).to(dtype)
    attrs = dict(kernel=list(k), strides=list(s), pads=list(pads), ceil_mode=ceil)
    if kind == "max":
        attrs["dilations"] = list(dil)
    else:
        attrs["count_include_pad"] = inc
    ref, out_hw = _oracle(x, kind, attrs)
    got = pool.pool2d(x.permute(0, 2, 3, 1).contiguous().to(DEV), kind=kind, kernel_size=k,
                      stride=s, pads=pads, dilation=dil, count_include_pad=bool(inc),
                      out_hw=out_hw if ceil else None, block_p=blocks[0],
                      block_c=blocks[1]).cpu()
    assert got.shape == ref.shape and got.dtype == dtype
    err = _rel_err(got, ref)
    assert err < tol, f"rel err {err:.3g}"
    assert ref.std() > 1e-3
    return got, ref


CASES = {
    # name: (kind, n, c, h, w, k, stride, pads, dilation, ceil, count_include_pad, blocks)
    "max3x3s2": ("max", 2, 20, 9, 8, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 0, 0, (64, 32)),
    "max3x3s2_ceil": ("max", 1, 12, 8, 10, (3, 3), (2, 2), (0, 0, 0, 0), (1, 1), 1, 0, (32, 16)),
    "max2x2s2_ceil_odd": ("max", 1, 8, 7, 5, (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 1, 0, (16, 8)),
    "max3x3_dil2_asym": ("max", 1, 10, 9, 8, (3, 3), (1, 2), (2, 0, 1, 2), (2, 2), 0, 0, (64, 16)),
    "avg3x3s1_pad": ("avg", 1, 12, 6, 7, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 0, 0, (64, 16)),
    "avg3x3s1_pad_incpad": ("avg", 1, 12, 6, 7, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 0, 1,
                            (64, 16)),
    # ceil-mode overhang beyond the pads: counted by neither divisor
    "avg3x3s2_ceil_pad": ("avg", 1, 9, 8, 8, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1, 0, (32, 16)),
    "avg3x3s2_ceil_pad_incpad": ("avg", 1, 9, 8, 8, (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 1, 1,
                                 (32, 16)),
    "avg2x3s2_ceil_asym_incpad": ("avg", 2, 6, 7, 6, (2, 3), (2, 2), (0, 1, 0, 0), (1, 1), 1, 1,
                                  (32, 8)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_pool2d(name):
    kind, n, c, h, w_, k, s, p, d, ceil, inc, blocks = CASES[name]
    _run(kind, n, c, h, w_, k, s, p, d, ceil, inc, blocks)


def test_ceil_cases_do_hang_over():
    """The ceil cases above really have windows past the padded input (else they test nothing)."""
    for name in ("max3x3s2_ceil", "max2x2s2_ceil_odd", "avg3x3s2_ceil_pad",
                 "avg2x3s2_ceil_asym_incpad"):
        kind, n, c, h, w_, k, s, p, d, ceil, inc, blocks = CASES[name]
        attrs = dict(kernel=list(k), strides=list(s), pads=list(p))
        oh, ow = resolve_window(Node("max_pool", "q", [], [], attrs), (h, w_), k, s, d, 1)
        assert (oh - 1) * s[0] + k[0] > h + p[0] + p[2] or (ow - 1) * s[1] + k[1] > w_ + p[1] + p[3]


def test_count_include_pad_matters():
    a, _ = _run("avg", 1, 8, 5, 5, (3, 3), (2, 2), (1, 1, 1, 1), ceil=1, inc=0, blocks=(16, 8))
    b, _ = _run("avg", 1, 8, 5, 5, (3, 3), (2, 2), (1, 1, 1, 1), ceil=1, inc=1, blocks=(16, 8))
    assert (a - b).abs().max() > 1e-3


def test_max_pads_never_win():
    """All-negative input: a pad or ceil-overhang cell read as 0 (a wrong mask fill) would win."""
    x = -1.0 - torch.rand(1, 6, 5, 7)
    attrs = dict(kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1, dilations=[1, 1])
    ref, out_hw = _oracle(x, "max", attrs)
    got = pool.pool2d(x.permute(0, 2, 3, 1).contiguous().to(DEV), kind="max", kernel_size=(3, 3),
                      stride=(2, 2), pads=(1, 1, 1, 1), out_hw=out_hw, block_p=16, block_c=8).cpu()
    assert (got.double() == ref).all()


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_into_channel_slice(kind):
    """Writes channels [off, off + C) of a wider buffer; the rest stays the sentinel."""
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    n, c, h, w_, ctot, off = 1, 13, 7, 6, 40, 19
    x = torch.randn(n, c, h, w_, generator=g)
    attrs = dict(kernel=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], ceil_mode=1)
    ref, out_hw = _oracle(x, kind, attrs)
    sentinel = 12345.0
    out = torch.full((n, *out_hw, ctot), sentinel, device=DEV)
    got = pool.pool2d(x.permute(0, 2, 3, 1).contiguous().to(DEV), kind=kind, kernel_size=(3, 3),
                      stride=(2, 2), pads=(1, 1, 1, 1), out_hw=out_hw, out=out,
                      out_channel_offset=off, block_p=16, block_c=16)
    assert got is out
    out = out.cpu()
    assert _rel_err(out[..., off:off + c], ref) < RTOL
    rest = torch.ones(ctot, dtype=torch.bool)
    rest[off:off + c] = False
    assert (out[..., rest] == sentinel).all()


@pytest.mark.parametrize("kind", ["avg", "max"])
@pytest.mark.parametrize("splits", [1, 3])
def test_global_pool(kind, splits):
    """splits=3: rows 12+12+11 reduced by three programs into fp32 partials, then a second
    launch over those."""
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = torch.randn(2, 5, 7, 37, generator=g)  # H*W = 35: two row steps of 32, ragged tail
    ref = x.double().mean((1, 2)) if kind == "avg" else x.double().amax((1, 2))
    got = pool.global_pool(x.to(DEV), kind=kind, block_hw=8 if splits > 1 else 32, block_c=64,
                           splits=splits).cpu()
    assert got.shape == (2, 37) and got.is_contiguous()
    assert _rel_err(got, ref) < RTOL


def test_global_pool_splits_a_large_map_by_itself():
    """A 48x48 map (2,304 pixels) with one channel block splits into 9 programs of 256 rows;
    the half-precision input still accumulates in fp32 across the partials."""
    x = torch.randn(1, 48, 48, 20).to(torch.float16)
    _, launches = pool.global_pool_launch_args(x, kind="avg", out=None, block_hw=32,
                                               block_c=32, num_warps=4, splits=None)
    assert [grid for grid, _, _ in launches] == [(1, 1, 9), (1, 1, 1)]
    got = pool.global_pool(x.to(DEV), kind="avg", block_hw=32, block_c=32).cpu()
    assert got.dtype == torch.float16
    assert _rel_err(got, x.double().mean((1, 2))) < 2e-3


def test_global_max_all_negative():
    """Masked cells must not leak a 0 (or any fill) into the max."""
    x = -1.0 - torch.rand(1, 3, 3, 20)
    got = pool.global_pool(x.to(DEV), kind="max", block_hw=16, block_c=16).cpu()
    assert (got == x.amax((1, 2))).all()


def test_rejects_bad_args():
    x = torch.randn(1, 4, 4, 8, device=DEV)
    with pytest.raises(ValueError, match="pool2d: kind"):
        pool.pool2d(x, kind="sum", kernel_size=(2, 2), stride=(2, 2), pads=(0, 0, 0, 0))
    with pytest.raises(ValueError, match="pool2d: out"):
        pool.pool2d(x, kind="max", kernel_size=(2, 2), stride=(2, 2), pads=(0, 0, 0, 0),
                    out=torch.empty(1, 2, 2, 10, device=DEV), out_channel_offset=4)
    with pytest.raises(ValueError, match="pool2d: out_hw"):
        pool.pool2d(x, kind="max", kernel_size=(2, 2), stride=(2, 2), pads=(0, 0, 0, 0),
                    out_hw=(3, 2))
    with pytest.raises(ValueError, match="global_pool: out"):
        pool.global_pool(x, out=torch.empty(1, 4, device=DEV))
    with pytest.raises(ValueError, match="global_pool: splits"):
        pool.global_pool(x, splits=0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(dtype):
    if dtype == "bfloat16" and os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("triton 3.6's interpreter has no bf16; runs on a GPU")
    dt = getattr(torch, dtype)
    tol = 2e-3 if dtype == "float16" else 1.6e-2
    for kind in ("max", "avg"):
        _run(kind, 1, 16, 7, 6, (3, 3), (2, 2), (1, 1, 1, 1), ceil=1, inc=0, blocks=(16, 16),
             dtype=dt, tol=tol)
    x = torch.randn(2, 4, 5, 24).to(dt)
    got = pool.global_pool(x.to(DEV), kind="avg", block_hw=32, block_c=32).cpu()
    assert got.dtype == dt and _rel_err(got, x.double().mean((1, 2))) < tol
