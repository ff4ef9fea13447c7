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
from _oracle import _ref_act, _rel_err  # noqa: E402

F = torch.nn.functional
conv = load_kernel_module("conv2d")

RTOL = 1e-4
# conftest.py sets TRITON_INTERPRET=1 when there is no CUDA device: kernels then run on CPU tensors.
DEV = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"


def _d(t):
    return None if t is None else t.to(DEV)


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


# ---- optional fusions: in_scale (SE gate on the A load), input channel slice, split output ----

SENTINEL = 12345.0


def _fused_case(n, c, h, w_, m, k, pads=(0, 0, 0, 0), stride=(1, 1), act="none", bias=True,
                residual=False, residual_after_act=False, post_act="none", in_scale=False,
                x_slice=None, split=None, blocks=(64, 64, 32), flat_k=None):
    """One conv with any of the fusions against the float64 oracle.
    x_slice: (lo, ctot) -> x is channels [lo, lo + c) of a (n, h, w, ctot) buffer whose other
             channels hold big random values (they must not leak in).
    split:   (split_at, off1, ctot1, off2, ctot2) -> columns [0, split_at) go to out (ctot1
             channels) at off1, the rest to out2 (ctot2 channels) at off2; the other channels
             of both keep a sentinel."""
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    kh, kw = k
    x = torch.randn(n, c, h, w_, generator=g)
    wt = torch.randn(m, c, kh, kw, generator=g) / (c * kh * kw) ** 0.5
    b = torch.randn(m, generator=g) if bias else None
    s = torch.rand(n, c, generator=g) * 2 + 0.1 if in_scale else None  # a sigmoid-like gate
    xs = x if s is None else x * s[:, :, None, None]
    ref0 = _reference(xs, wt, b, stride, pads, (1, 1))
    res = torch.randn(ref0.shape, generator=g, dtype=torch.float32) if residual else None
    ref = _reference(xs, wt, b, stride, pads, (1, 1), act, res, residual_after_act, post_act)
    xn = x.permute(0, 2, 3, 1).contiguous()
    if x_slice is not None:
        lo, ctot = x_slice
        buf = torch.randn(n, h, w_, ctot, generator=g) * 1e6
        buf[..., lo:lo + c] = xn
        xv = _d(buf)[..., lo:lo + c]
        assert xv.stride(2) == ctot  # really a strided view, not a copy
    else:
        xv = _d(xn)
    _, oh, ow, _ = ref.shape
    kw_split = {}
    if split is not None:
        split_at, off1, ctot1, off2, ctot2 = split
        out = torch.full((n, oh, ow, ctot1), SENTINEL, device=DEV)
        out2 = torch.full((n, oh, ow, ctot2), SENTINEL, device=DEV)
        kw_split = dict(out=out, out_channel_offset=off1, out2=out2, out2_channel_offset=off2,
                        split_at=split_at)
    got = conv.conv2d(xv, _d(conv.pack_conv_weight(wt)), _d(b), kernel_size=k, stride=stride,
                      pads=pads, act=act, residual=_d(res), residual_after_act=residual_after_act,
                      post_act=post_act, block_m=blocks[0], block_n=blocks[1], block_k=blocks[2],
                      flat_k=flat_k, in_scale=_d(s), **kw_split).cpu()
    assert ref.std() > 1e-3  # the check is not vacuous
    if split is None:
        assert got.shape == ref.shape
        err = _rel_err(got, ref)
        assert err < RTOL, f"rel err {err:.3g}"
        return got
    for buf_, off, lo, hi in [(out, off1, 0, split_at), (out2, off2, split_at, m)]:
        buf_ = buf_.cpu()
        err = _rel_err(buf_[..., off:off + hi - lo], ref[..., lo:hi])
        assert err < RTOL, f"columns [{lo}, {hi}): rel err {err:.3g}"
        untouched = torch.ones(buf_.shape[3], dtype=torch.bool)
        untouched[off:off + hi - lo] = False
        assert (buf_[..., untouched] == SENTINEL).all()
    return out, out2


@pytest.mark.parametrize("flat_k", [True, False], ids=["flatK", "tapK"])
@pytest.mark.parametrize("shape", ["1x1", "3x3"])
def test_in_scale(shape, flat_k):
    """SE gate folded into the A gather: batch 2 (each pixel row its own image's gate), ragged
    channel chunks (C not a multiple of block_k), bias + activation."""
    if shape == "1x1":
        _fused_case(2, 24, 5, 6, 20, (1, 1), act="silu", in_scale=True, blocks=(64, 32, 16),
                    flat_k=flat_k)
    else:
        _fused_case(2, 12, 4, 5, 16, (3, 3), pads=(1, 1, 1, 1), act="relu", in_scale=True,
                    blocks=(64, 16, 16), flat_k=flat_k)


@pytest.mark.parametrize("flat_k", [True, False], ids=["flatK", "tapK"])
def test_in_scale_residual(flat_k):
    _fused_case(2, 20, 4, 4, 12, (3, 3), pads=(1, 1, 1, 1), act="silu", in_scale=True,
                residual=True, residual_after_act=True, post_act="relu6", blocks=(32, 16, 16),
                flat_k=flat_k)


def test_in_scale_changes_result():
    """A gate of 1 everywhere except one channel of one image: only that image changes."""
    x = torch.randn(2, 3, 3, 8, device=DEV)
    w = _d(conv.pack_conv_weight(torch.randn(8, 8, 1, 1)))
    s = torch.ones(2, 8, device=DEV)
    a = conv.conv2d(x, w, kernel_size=(1, 1), in_scale=s, block_m=32, block_n=16, block_k=16)
    s[1, 5] = 0.0
    b = conv.conv2d(x, w, kernel_size=(1, 1), in_scale=s, block_m=32, block_n=16, block_k=16)
    assert torch.equal(a[0], b[0]) and (a[1] - b[1]).abs().max() > 1e-3


@pytest.mark.parametrize("flat_k", [True, False], ids=["flatK", "tapK"])
def test_input_channel_slice(flat_k):
    """x is channels [13, 31) of a 40-channel buffer, read in place: no 1e6 value leaks in."""
    _fused_case(2, 18, 4, 5, 16, (3, 3), pads=(1, 1, 1, 1), act="relu", x_slice=(13, 40),
                blocks=(64, 16, 16), flat_k=flat_k)


def test_input_not_evenly_strided_is_copied():
    """An H/W-transposed view is not evenly strided: the launcher makes a dense copy."""
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = torch.randn(1, 6, 4, 5, generator=g)
    wt = torch.randn(8, 6, 3, 3, generator=g)
    xv = _d(x.permute(0, 3, 2, 1).contiguous()).transpose(1, 2)  # (1, 4, 5, 6), not NHWC-dense
    assert not xv.is_contiguous()
    got = conv.conv2d(xv, _d(conv.pack_conv_weight(wt)), kernel_size=(3, 3), pads=(1, 1, 1, 1),
                      block_m=32, block_n=16, block_k=64).cpu()
    ref = _reference(x, wt, None, (1, 1), (1, 1, 1, 1), (1, 1))
    assert _rel_err(got, ref) < RTOL


@pytest.mark.parametrize("split,flat_k", [((8, 3, 20, 0, 17), True),
                                          ((17, 0, 17, 5, 15), False)],
                         ids=["split8_flatK", "split17_tapK"])
def test_split_output(split, flat_k):
    """M = 25 in two column blocks of 16, split_at not a multiple of block_n (block 0 mixed for
    split 8, block 1 for split 17); both destinations at channel offsets in wider buffers."""
    _fused_case(2, 20, 3, 4, 25, (1, 1), act="relu", split=split, blocks=(32, 16, 16),
                flat_k=flat_k)


def test_split_output_default_out():
    x = torch.randn(1, 2, 3, 4, device=DEV)
    w = _d(conv.pack_conv_weight(torch.randn(10, 4, 1, 1)))
    full = conv.conv2d(x, w, kernel_size=(1, 1), block_m=16, block_n=16, block_k=16)
    out2 = torch.full((1, 2, 3, 8), SENTINEL, device=DEV)
    y = conv.conv2d(x, w, kernel_size=(1, 1), out2=out2, out2_channel_offset=2, split_at=4,
                    block_m=16, block_n=16, block_k=16)
    assert y.shape == (1, 2, 3, 4) and torch.equal(y, full[..., :4])
    assert torch.equal(out2[..., 2:8], full[..., 4:]) and (out2[..., :2] == SENTINEL).all()


def test_slice_in_split_out_in_scale():
    """All three at once: a gated conv reading a channel slice, writing two destinations."""
    _fused_case(2, 10, 4, 3, 21, (3, 3), pads=(1, 1, 1, 1), act="silu", in_scale=True,
                x_slice=(5, 24), split=(6, 2, 11, 1, 19), blocks=(32, 16, 16), flat_k=False)


def test_inception_merged_1x1_chain():
    """Inception's dataflow: the three sibling 1x1 convs as one wider conv (split output: branch
    1 straight into the concat, branches 2/3 into a scratch buffer), then the 3x3 and 5x5 convs
    read their channel slices of the scratch in place and write their concat slices."""
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    n, c, h, w_ = 2, 6, 4, 4
    m1, m2r, m3r, m2, m3 = 4, 5, 3, 7, 2   # 1x1 widths, then the 3x3 and 5x5 outputs
    x = torch.randn(n, c, h, w_, generator=g)
    w1 = torch.randn(m1 + m2r + m3r, c, 1, 1, generator=g) / c ** 0.5
    b1 = torch.randn(m1 + m2r + m3r, generator=g)
    w2 = torch.randn(m2, m2r, 3, 3, generator=g) / (9 * m2r) ** 0.5
    w3 = torch.randn(m3, m3r, 5, 5, generator=g) / (25 * m3r) ** 0.5
    ctot = m1 + m2 + m3 + 3                      # 3 channels of the concat belong to others
    cat = torch.full((n, h, w_, ctot), SENTINEL, device=DEV)
    scratch = torch.full((n, h, w_, m2r + m3r), SENTINEL, device=DEV)
    blk = dict(block_m=32, block_n=16, block_k=16)
    conv.conv2d(_d(x.permute(0, 2, 3, 1).contiguous()), _d(conv.pack_conv_weight(w1)), _d(b1),
                kernel_size=(1, 1), act="relu", out=cat, out_channel_offset=0, out2=scratch,
                split_at=m1, **blk)
    conv.conv2d(scratch[..., :m2r], _d(conv.pack_conv_weight(w2)), kernel_size=(3, 3),
                pads=(1, 1, 1, 1), act="relu", out=cat, out_channel_offset=m1, **blk)
    conv.conv2d(scratch[..., m2r:], _d(conv.pack_conv_weight(w3)), kernel_size=(5, 5),
                pads=(2, 2, 2, 2), act="relu", out=cat, out_channel_offset=m1 + m2, **blk)
    y1 = _reference(x, w1, b1, (1, 1), (0, 0, 0, 0), (1, 1), "relu")   # NHWC
    t = y1.permute(0, 3, 1, 2)
    y2 = _reference(t[:, m1:m1 + m2r], w2, None, (1, 1), (1, 1, 1, 1), (1, 1), "relu")
    y3 = _reference(t[:, m1 + m2r:], w3, None, (1, 1), (2, 2, 2, 2), (1, 1), "relu")
    ref = torch.cat([y1[..., :m1], y2, y3], dim=3)
    cat = cat.cpu()
    assert _rel_err(cat[..., :m1 + m2 + m3], ref) < RTOL
    assert (cat[..., m1 + m2 + m3:] == SENTINEL).all()


def test_rejects_bad_fusion_args():
    x = torch.randn(2, 4, 4, 3, device=DEV)
    w = conv.pack_conv_weight(torch.randn(8, 3, 1, 1, device=DEV))
    blk = dict(block_m=16, block_n=16, block_k=16)
    with pytest.raises(ValueError, match="in_scale"):
        conv.conv2d(x, w, kernel_size=(1, 1), in_scale=torch.ones(1, 3, device=DEV), **blk)
    with pytest.raises(ValueError, match="in_scale"):
        conv.conv2d(x, w, kernel_size=(1, 1), in_scale=torch.ones(2, 3, 1, device=DEV), **blk)
    out2 = torch.empty(2, 4, 4, 8, device=DEV)
    for bad in (None, 0, 8, 9):
        with pytest.raises(ValueError, match="split_at"):
            conv.conv2d(x, w, kernel_size=(1, 1), out2=out2, split_at=bad, **blk)
    with pytest.raises(ValueError, match="need `out2`"):
        conv.conv2d(x, w, kernel_size=(1, 1), split_at=4, **blk)
    with pytest.raises(ValueError, match="out2 .* cannot hold"):  # 6 channels from offset 3 > 8
        conv.conv2d(x, w, kernel_size=(1, 1), out2=out2, out2_channel_offset=3, split_at=2,
                    **blk)
    with pytest.raises(ValueError, match="out2 .* cannot hold"):  # wrong pixel grid
        conv.conv2d(x, w, kernel_size=(1, 1), out2=torch.empty(2, 4, 5, 8, device=DEV),
                    split_at=2, **blk)
    with pytest.raises(ValueError, match="evenly strided"):  # H/W-transposed view
        conv.conv2d(torch.randn(2, 4, 5, 3, device=DEV), w, kernel_size=(1, 1),
                    out2=torch.empty(2, 5, 4, 8, device=DEV).transpose(1, 2), split_at=2, **blk)
    with pytest.raises(ValueError, match="cannot hold"):  # first destination too narrow
        conv.conv2d(x, w, kernel_size=(1, 1), out=torch.empty(2, 4, 4, 4, device=DEV),
                    out_channel_offset=1, out2=out2, split_at=4, **blk)
    with pytest.raises(ValueError, match="residual"):
        conv.conv2d(x, w, kernel_size=(1, 1), residual=torch.empty(2, 4, 4, 8, device=DEV),
                    out2=out2, split_at=4, **blk)
