"""kernels/triton/dwconv.py against torch's float64 grouped conv (the oracle), fresh random
data. Under the interpreter each program instance costs ~45 ms: tiny shapes, few programs."""

import os
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load import load_kernel_module  # noqa: E402
from _oracle import _ref_act, _rel_err  # noqa: E402  (shared float64 activation oracle)

F = torch.nn.functional
dw = load_kernel_module("dwconv")
act_mod = load_kernel_module("activations")

RTOL = 1e-4
DEV = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"


def _reference(x, w, b, stride, pads, dilation, act="none"):
    """float64 NCHW depthwise oracle; pads = (top, left, bottom, right); returns NHWC."""
    pt, pl, pb, pr = pads
    xd = F.pad(x.double(), (pl, pr, pt, pb))
    y = F.conv2d(xd, w.double(), None if b is None else b.double(), stride=stride,
                 dilation=dilation, groups=x.shape[1])
    return _ref_act(y.permute(0, 2, 3, 1), act)


def _run(n, c, h, w_, k, stride=(1, 1), pads=(0, 0, 0, 0), dilation=(1, 1), act="none",
         bias=True, blocks=(64, 64), dtype=torch.float32, tol=RTOL):
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = torch.randn(n, c, h, w_, generator=g).to(dtype)
    wt = (torch.randn(c, 1, *k, generator=g) / (k[0] * k[1]) ** 0.5).to(dtype)
    b = torch.randn(c, generator=g).to(dtype) if bias else None
    ref = _reference(x, wt, b, stride, pads, dilation, act)
    got = dw.dwconv2d(x.permute(0, 2, 3, 1).contiguous().to(DEV),
                      dw.pack_dwconv_weight(wt).to(DEV), None if b is None else b.to(DEV),
                      kernel_size=k, stride=stride, pads=pads, dilation=dilation, act=act,
                      block_p=blocks[0], block_c=blocks[1]).cpu()
    assert got.shape == ref.shape and got.dtype == dtype
    err = _rel_err(got, ref)
    assert err < tol, f"rel err {err:.3g}"
    assert ref.std() > 1e-3  # the check is not vacuous


SHAPES = {
    # name: (n, c, h, w, (kh, kw), stride, pads(t, l, b, r), dilation, blocks)
    "3x3s1p1": (1, 16, 7, 6, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), (64, 16)),
    "3x3s2_asym": (2, 20, 9, 8, (3, 3), (2, 2), (0, 1, 2, 0), (1, 1), (64, 32)),  # C % 32 != 0
    "5x5s1p2": (1, 24, 6, 7, (5, 5), (1, 1), (2, 2, 2, 2), (1, 1), (64, 32)),
    "5x5s2_tf_pads": (1, 40, 11, 10, (5, 5), (2, 2), (1, 1, 2, 2), (1, 1), (32, 64)),
    "3x3d2": (1, 12, 9, 9, (3, 3), (1, 1), (2, 2, 2, 2), (2, 2), (128, 16)),
    "ragged_c_tiles": (1, 37, 5, 4, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), (32, 16)),  # 3 C tiles
}


@pytest.mark.parametrize("name", list(SHAPES))
def test_shapes(name):
    n, c, h, w_, k, s, p, d, blocks = SHAPES[name]
    _run(n, c, h, w_, k, s, p, d, act="relu", blocks=blocks)


ACTS = ["none", "relu", "relu6", ("clip", -0.5, 0.7), "silu", "sigmoid", ("leaky_relu", 0.1),
        "hard_swish", "tanh", ("hard_sigmoid", 0.2, 0.5)]


def test_acts_cover_every_selector():
    names = {a[0] if isinstance(a, tuple) else a for a in ACTS} | {"clip"}
    assert set(act_mod.ACTS) <= names


@pytest.mark.parametrize("act", ACTS, ids=str)
def test_activations(act):
    _run(1, 16, 5, 6, (3, 3), pads=(1, 1, 1, 1), act=act, blocks=(32, 16))


def test_no_bias():
    _run(1, 16, 5, 6, (3, 3), stride=(2, 2), pads=(1, 1, 1, 1), bias=False, act="silu",
         blocks=(16, 16))


def test_into_given_out():
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = torch.randn(1, 8, 4, 5, generator=g)
    wt = torch.randn(8, 1, 3, 3, generator=g)
    out = torch.full((1, 4, 5, 8), 7.0, device=DEV)
    got = dw.dwconv2d(x.permute(0, 2, 3, 1).contiguous().to(DEV),
                      dw.pack_dwconv_weight(wt).to(DEV), kernel_size=(3, 3), pads=(1, 1, 1, 1),
                      out=out, block_p=32, block_c=16)
    assert got is out
    assert _rel_err(out.cpu(), _reference(x, wt, None, (1, 1), (1, 1, 1, 1), (1, 1))) < RTOL


def test_pack_numpy_matches_torch():
    wt = torch.randn(6, 1, 3, 5)
    assert (torch.from_numpy(dw.pack_dwconv_weight(wt.numpy())) == dw.pack_dwconv_weight(wt)).all()
    assert dw.pack_dwconv_weight(wt).shape == (15, 6)


def test_rejects_bad_args():
    x = torch.randn(1, 4, 4, 8, device=DEV)
    w = torch.randn(9, 8, device=DEV)
    with pytest.raises(ValueError, match="dwconv2d: packed weight"):
        dw.dwconv2d(x, w, kernel_size=(5, 5))
    with pytest.raises(ValueError, match="dwconv2d: bias"):
        dw.dwconv2d(x, w, torch.randn(4, device=DEV), kernel_size=(3, 3))
    with pytest.raises(ValueError, match="dwconv2d: out"):
        dw.dwconv2d(x, w, kernel_size=(3, 3), out=torch.empty(1, 4, 4, 8, device=DEV))
    with pytest.raises(ValueError, match="activation"):
        dw.dwconv2d(x, w, kernel_size=(3, 3), act="gelu")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(dtype):
    if dtype == "bfloat16" and os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("triton 3.6's interpreter has no bf16; runs on a GPU")
    tol = 2e-3 if dtype == "float16" else 1.6e-2  # a few ulps of the output dtype
    _run(1, 24, 6, 5, (3, 3), pads=(1, 1, 1, 1), act="silu", blocks=(32, 32),
         dtype=getattr(torch, dtype), tol=tol)
