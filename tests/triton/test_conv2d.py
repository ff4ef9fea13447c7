"""kernels/triton/conv2d.py against torch's float64 conv (the oracle), fp32, fresh random data.

Under the interpreter each program instance costs ~45 ms: tiny shapes, large tiles, a few
programs per case."""

import os
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load import load_kernel_module  # noqa: E402

F = torch.nn.functional
conv = load_kernel_module("conv2d")

RTOL = 1e-4
# conftest.py sets TRITON_INTERPRET=1 when there is no CUDA device: kernels then run on CPU tensors.
DEV = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"


def _d(t):
    return None if t is None else t.to(DEV)


def _ref_act(y, act):
    name, alpha, beta = (act + (0.0, 0.0))[:3] if isinstance(act, tuple) else (act, 0.0, 0.0)
    if name == "relu6":
        name, alpha, beta = "clip", 0.0, 6.0
    return {
        "none": lambda v: v,
        "relu": F.relu,
        "clip": lambda v: v.clamp(alpha, beta),
        "silu": lambda v: v * torch.sigmoid(v),
        "sigmoid": torch.sigmoid,
        "leaky_relu": lambda v: torch.where(v >= 0, v, alpha * v),
        "hard_swish": lambda v: v * (v + 3).clamp(0, 6) / 6,
        "tanh": torch.tanh,
        "hard_sigmoid": lambda v: (alpha * v + beta).clamp(0, 1),
    }[name](y)


def _reference(x, w, b, stride, pads, dilation, act="none", residual=None,
               residual_after_act=False, post_act="none"):
    """float64 NCHW oracle; pads = (top, left, bottom, right); returns NHWC float64."""
    pt, pl, pb, pr = pads
    xd = F.pad(x.double(), (pl, pr, pt, pb))
    y = F.conv2d(xd, w.double(), None if b is None else b.double(), stride=stride,
                 dilation=dilation).permute(0, 2, 3, 1)
    if residual is None:
        return _ref_act(y, act)
    if residual_after_act:
        return _ref_act(_ref_act(y, act) + residual.double(), post_act)
    return _ref_act(y + residual.double(), act)


def _rel_err(got, ref):
    return ((got.double() - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()


def _run_case(n, c, h, w_, m, k, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1),
              act="none", bias=True, residual=False, residual_after_act=False,
              post_act="none", blocks=(64, 64, 32), seed=None, flat_k=None):
    g = torch.Generator().manual_seed(seed if seed is not None else torch.seed() % 2**31)
    kh, kw = k
    x = torch.randn(n, c, h, w_, generator=g)
    wt = torch.randn(m, c, kh, kw, generator=g) / (c * kh * kw) ** 0.5
    b = torch.randn(m, generator=g) if bias else None
    ref0 = _reference(x, wt, b, stride, pads, dilation)
    res = torch.randn(ref0.shape, generator=g, dtype=torch.float32) if residual else None
    ref = _reference(x, wt, b, stride, pads, dilation, act, res, residual_after_act, post_act)
    got = conv.conv2d(_d(x.permute(0, 2, 3, 1).contiguous()), _d(conv.pack_conv_weight(wt)),
                      _d(b), kernel_size=k, stride=stride, pads=pads, dilation=dilation, act=act,
                      residual=_d(res), residual_after_act=residual_after_act, post_act=post_act,
                      block_m=blocks[0], block_n=blocks[1], block_k=blocks[2],
                      flat_k=flat_k).cpu()
    assert got.shape == ref.shape
    err = _rel_err(got, ref)
    assert err < RTOL, f"rel err {err:.3g}"
    assert ref.std() > 1e-3  # the check is not vacuous
    return got


SHAPES = {
    # name: (n, c, h, w, m, (kh, kw), stride, pads(t, l, b, r), dilation, blocks)
    "1x1": (2, 24, 5, 6, 40, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1), (64, 64, 32)),
    "3x3s1p1": (1, 8, 7, 6, 16, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), (64, 16, 32)),
    "3x3s2_asym": (2, 5, 9, 8, 12, (3, 3), (2, 2), (0, 1, 2, 0), (1, 1), (64, 16, 16)),
    "5x5d2": (1, 4, 11, 10, 8, (5, 5), (1, 1), (3, 4, 4, 3), (2, 2), (64, 16, 32)),
    "7x7s2_stem_c3": (1, 3, 15, 13, 16, (7, 7), (2, 2), (3, 3, 3, 3), (1, 1), (64, 16, 64)),
    "11x11s4": (1, 3, 23, 19, 8, (11, 11), (4, 4), (2, 2, 2, 2), (1, 1), (32, 16, 128)),
    "stride_gt_kernel": (1, 6, 9, 9, 8, (1, 1), (3, 2), (0, 0, 1, 1), (1, 1), (32, 16, 16)),
    "ragged_tiles": (3, 7, 5, 5, 19, (3, 1), (1, 1), (1, 0, 1, 0), (1, 1), (32, 16, 16)),
    "ragged_c_chunks": (1, 40, 4, 5, 24, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), (32, 32, 16)),
}


@pytest.mark.parametrize("flat_k", [True, False], ids=["flatK", "tapK"])
@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes(name, flat_k):
    n, c, h, w_, m, k, s, p, d, blocks = SHAPES[name]
    _run_case(n, c, h, w_, m, k, s, p, d, act="relu", blocks=blocks, flat_k=flat_k)


@pytest.mark.parametrize("act", ["none", "relu", "relu6", ("clip", -0.5, 0.7), "silu",
                                 "sigmoid", ("leaky_relu", 0.1), "hard_swish", "tanh",
                                 ("hard_sigmoid", 0.2, 0.5)],
                         ids=str)
def test_activations(act):
    _run_case(1, 8, 6, 5, 16, (3, 3), pads=(1, 1, 1, 1), act=act, blocks=(32, 16, 32))


def test_no_bias():
    _run_case(1, 8, 6, 5, 16, (3, 3), pads=(1, 1, 1, 1), bias=False, act="silu",
              blocks=(32, 16, 32))


@pytest.mark.parametrize("after,act,post", [(False, "relu", "none"), (False, "none", "none"),
                                            (True, "relu", "none"), (True, "silu", "relu6")])
def test_residual(after, act, post):
    _run_case(2, 8, 4, 5, 16, (3, 3), pads=(1, 1, 1, 1), act=act, residual=True,
              residual_after_act=after, post_act=post, blocks=(64, 16, 32))


def test_residual_changes_result():
    """Residual before vs after ReLU must differ (guards a selector that ignores the flag)."""
    a = _run_case(1, 8, 4, 4, 16, (1, 1), act="relu", residual=True, seed=7,
                  blocks=(16, 16, 16))
    b = _run_case(1, 8, 4, 4, 16, (1, 1), act="relu", residual=True, residual_after_act=True,
                  seed=7, blocks=(16, 16, 16))
    assert (a - b).abs().max() > 1e-2


def test_concat_slice():
    """Two branches write into their channel slices of one concat output; the rest is untouched."""
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    n, c, h, w_ = 1, 6, 5, 6
    x = torch.randn(n, c, h, w_, generator=g)
    xn = _d(x.permute(0, 2, 3, 1).contiguous())
    ctot = 40
    sentinel = 12345.0
    out = torch.full((n, h, w_, ctot), sentinel, device=DEV)
    slices = []
    for off, m, k, pads in [(3, 10, (1, 1), (0, 0, 0, 0)), (17, 13, (3, 3), (1, 1, 1, 1))]:
        wt = torch.randn(m, c, *k, generator=g)
        b = torch.randn(m, generator=g)
        res = torch.randn(n, h, w_, m, generator=g)
        conv.conv2d(xn, _d(conv.pack_conv_weight(wt)), _d(b), kernel_size=k, pads=pads,
                    act="relu", residual=_d(res), residual_after_act=True, out=out,
                    out_channel_offset=off, block_m=32, block_n=16, block_k=64)
        ref = _reference(x, wt, b, (1, 1), pads, (1, 1), "relu", res, True)
        err = _rel_err(out[..., off:off + m].cpu(), ref)
        assert err < RTOL, f"slice at {off}: rel err {err:.3g}"
        slices.append((off, m))
    untouched = torch.ones(ctot, dtype=torch.bool)
    for off, m in slices:
        untouched[off:off + m] = False
    assert (out.cpu()[..., untouched] == sentinel).all()


def test_strided_residual_from_slice():
    """A residual that is itself a channel slice of a wider buffer (pixel stride != M)."""
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = torch.randn(1, 8, 4, 4, generator=g)
    wt = torch.randn(12, 8, 1, 1, generator=g)
    wide = torch.randn(1, 4, 4, 30, generator=g)
    res = wide[..., 5:17]
    got = conv.conv2d(_d(x.permute(0, 2, 3, 1).contiguous()), _d(conv.pack_conv_weight(wt)),
                      None, kernel_size=(1, 1), residual=_d(wide)[..., 5:17], act="relu",
                      block_m=16, block_n=16, block_k=16).cpu()
    ref = _reference(x, wt, None, (1, 1), (0, 0, 0, 0), (1, 1), "relu", res)
    assert _rel_err(got, ref) < RTOL


def test_rejects_bad_args():
    x = torch.randn(1, 4, 4, 3, device=DEV)
    w = conv.pack_conv_weight(torch.randn(8, 3, 3, 3, device=DEV))
    with pytest.raises(ValueError, match="block_k"):
        conv.conv2d(x, w, kernel_size=(3, 3), block_k=8)
    with pytest.raises(ValueError, match="K="):
        conv.conv2d(x, w, kernel_size=(1, 1))
    with pytest.raises(ValueError, match="activation"):
        conv.conv2d(x, w, kernel_size=(3, 3), act="gelu")
    with pytest.raises(ValueError, match="cannot hold"):
        conv.conv2d(x, w, kernel_size=(3, 3), out=torch.empty(1, 2, 2, 10, device=DEV),
                    out_channel_offset=4)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(dtype):
    """fp16/bf16 in and out, fp32 accumulation: within the rounding of the output dtype."""
    if dtype == "bfloat16" and os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("triton 3.6's interpreter has no bf16 (InterpreterBuilder lacks get_bf16; "
                    "bf16 tl.dot returns garbage there); runs on a GPU")
    dt = getattr(torch, dtype)
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = torch.randn(1, 16, 6, 5, generator=g).to(dt)
    wt = (torch.randn(24, 16, 3, 3, generator=g) / 12).to(dt)
    b = torch.randn(24, generator=g).to(dt)
    res = torch.randn(1, 6, 5, 24, generator=g).to(dt)
    got = conv.conv2d(_d(x.permute(0, 2, 3, 1).contiguous()), _d(conv.pack_conv_weight(wt)),
                      _d(b), kernel_size=(3, 3), pads=(1, 1, 1, 1), act="relu", residual=_d(res),
                      block_m=32, block_n=32, block_k=16).cpu()
    assert got.dtype == dt
    ref = _reference(x, wt, b, (1, 1), (1, 1, 1, 1), (1, 1), "relu", res)
    tol = 2e-3 if dtype == "float16" else 1.6e-2  # a few ulps of the output dtype
    assert _rel_err(got, ref) < tol
