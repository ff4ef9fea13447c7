"""kernels/triton/softmax.py against torch's float64 softmax on fresh random data. Tiny shapes:
the interpreter costs ~45 ms a program (one program per row)."""

import os
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load import load_kernel_module  # noqa: E402
from _oracle import _rel_err  # noqa: E402

sm = load_kernel_module("softmax")

RTOL = 1e-4
DEV = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"


def _run(rows, cols, block, scale=1.0, dtype=torch.float32, tol=RTOL):
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = (scale * torch.randn(rows, cols, generator=g)).to(dtype)
    ref = torch.softmax(x.double(), dim=1)
    got = sm.softmax(x.to(DEV), block=block).cpu()
    assert got.shape == ref.shape and got.dtype == dtype
    assert torch.isfinite(got).all()
    err = _rel_err(got, ref)
    assert err < tol, f"rel err {err:.3g}"
    # rows sum to 1 (a per-row check: the max-relative error is dominated by the largest row)
    assert (got.double().sum(1) - 1).abs().max() < (10 * tol)
    return got


@pytest.mark.parametrize("rows,cols,block,scale", [
    (3, 37, 64, 1.0),         # one tile, ragged
    (2, 64, 64, 3.0),         # one tile, exact fit
    (3, 300, 64, 1.0),        # column loop, ragged last step
    (2, 256, 64, 1.0),        # column loop, exact steps
    (2, 200, 32, 1e3),        # column loop, 1e3 logits: the max moves between steps
    (2, 50, 64, 1e3),         # one tile, 1e3 logits
], ids=["one_tile", "one_tile_exact", "looped", "looped_exact", "looped_big_logits",
        "one_tile_big_logits"])
def test_softmax(rows, cols, block, scale):
    _run(rows, cols, block, scale)


def test_max_in_late_block():
    """A row whose max sits in the last step: the online rescaling must shrink earlier sums."""
    x = torch.randn(2, 130)
    x[0, 129] = 900.0
    x[1, 5] = -900.0
    got = sm.softmax(x.to(DEV), block=32).cpu()
    assert _rel_err(got, torch.softmax(x.double(), 1)) < RTOL


def test_into_given_out_and_rejects():
    x = torch.randn(2, 10, device=DEV)
    out = torch.empty_like(x)
    assert sm.softmax(x, out, block=16) is out
    with pytest.raises(ValueError, match="softmax: x"):
        sm.softmax(x.t())
    with pytest.raises(ValueError, match="softmax: out"):
        sm.softmax(x, torch.empty(2, 11, device=DEV))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(dtype):
    if dtype == "bfloat16" and os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("triton 3.6's interpreter has no bf16; runs on a GPU")
    tol = 2e-3 if dtype == "float16" else 1.6e-2
    _run(2, 100, 32, 4.0, dtype=getattr(torch, dtype), tol=tol)
