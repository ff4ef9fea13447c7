"""kernels/triton/elementwise.py against float64 torch on fresh random data. Tiny shapes: the
interpreter costs ~45 ms a program."""

import os
import sys

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("triton")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load import load_kernel_module  # noqa: E402
from _oracle import _ref_act, _rel_err  # noqa: E402

ew = load_kernel_module("elementwise")

RTOL = 1e-4
DEV = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"

OPS = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div,
       "max": torch.maximum, "min": torch.minimum}
SHAPE = (2, 3, 5, 7)  # odd sizes: a wrong index split or a missing mask shows
B_SHAPES = {"same": SHAPE, "n11c": (2, 1, 1, 7), "1hw1": (1, 3, 5, 1), "scalar": (1, 1, 1, 1)}


def _operands(a_shape, b_shape, kind, dtype=torch.float32):
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    a = torch.randn(a_shape, generator=g).to(dtype)
    b = torch.randn(b_shape, generator=g)
    if kind == "div":
        b = b.sign() * (b.abs() + 0.5)  # away from 0
    return a, b.to(dtype)


@pytest.mark.parametrize("bshape", list(B_SHAPES))
@pytest.mark.parametrize("kind", list(OPS))
def test_binary(kind, bshape):
    a, b = _operands(SHAPE, B_SHAPES[bshape], kind)
    ref = OPS[kind](a.double(), b.double())
    got = ew.binary(a.to(DEV), b.to(DEV).expand(SHAPE), kind=kind, block=256).cpu()
    assert got.shape == SHAPE and got.is_contiguous()
    assert _rel_err(got, ref) < RTOL


@pytest.mark.parametrize("act", ["relu", "relu6", "silu", ("hard_sigmoid", 0.2, 0.5), "tanh"],
                         ids=str)
def test_binary_act_se_scale(act):
    """The squeeze-excite scale x(N,H,W,C) * s(N,1,1,C) with a fused activation."""
    a, b = _operands(SHAPE, (2, 1, 1, 7), "mul")
    ref = _ref_act(a.double() * b.double(), act)
    got = ew.binary(a.to(DEV), b.to(DEV).expand(SHAPE), kind="mul", act=act, block=256).cpu()
    assert _rel_err(got, ref) < RTOL


def test_binary_views_and_low_rank():
    """Non-contiguous operands (a transposed view, a sliced view) and 1-D/2-D/3-D shapes."""
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    wide = torch.randn(5, 11, generator=g)
    a = wide[:, 2:9]                       # (5, 7), row stride 11
    b = torch.randn(7, 5, generator=g).t()  # (5, 7), transposed
    got = ew.binary(a.to(DEV), b.to(DEV), kind="sub", block=16).cpu()
    assert _rel_err(got, a.double() - b.double()) < RTOL
    v = torch.randn(13, generator=g)
    got = ew.binary(v.to(DEV), v.to(DEV), kind="add", block=8).cpu()
    assert _rel_err(got, 2 * v.double()) < RTOL
    x3 = torch.randn(3, 4, 5, generator=g)
    s3 = torch.randn(3, 1, 5, generator=g)
    got = ew.binary(x3.to(DEV), s3.to(DEV).expand(3, 4, 5), kind="max", block=64).cpu()
    assert _rel_err(got, torch.maximum(x3, s3).double()) < RTOL


def test_binary_into_out_and_rejects():
    a = torch.randn(2, 3, device=DEV)
    out = torch.full((2, 3), 5.0, device=DEV)
    assert ew.binary(a, a, kind="mul", out=out, block=8) is out
    assert (out.cpu() == (a * a).cpu()).all()
    with pytest.raises(ValueError, match="binary: unknown kind"):
        ew.binary(a, a, kind="pow")
    with pytest.raises(ValueError, match="binary: a"):
        ew.binary(a, a[:, :2], kind="add")
    with pytest.raises(ValueError, match="binary: a"):
        ew.binary(a, a.half(), kind="add")
    with pytest.raises(ValueError, match="binary: out"):
        ew.binary(a, a, kind="add", out=torch.empty(3, 2, device=DEV).t())
    with pytest.raises(ValueError, match="activation"):
        ew.binary(a, a, kind="add", act="gelu")


@pytest.mark.parametrize("act", ["none", "relu", "relu6", ("clip", -0.5, 0.7), "silu",
                                 "sigmoid", ("leaky_relu", 0.1), "hard_swish", "tanh",
                                 ("hard_sigmoid", 0.2, 0.5)], ids=str)
def test_activation(act):
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = 3 * torch.randn(3, 5, 7, generator=g)
    got = ew.activation(x.to(DEV), act=act, block=1024).cpu()
    assert got.shape == x.shape
    assert _rel_err(got, _ref_act(x.double(), act)) < RTOL


def test_activation_ragged_in_place_and_rejects():
    x = torch.randn(1000, device=DEV)  # 4 programs of 256, the last one ragged
    ref = torch.relu(x.double()).cpu()
    assert ew.activation(x, act="relu", out=x, block=256) is x
    assert _rel_err(x.cpu(), ref) < RTOL
    with pytest.raises(ValueError, match="activation: x"):
        ew.activation(torch.randn(4, 3, device=DEV).t(), act="relu")


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(dtype):
    if dtype == "bfloat16" and os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("triton 3.6's interpreter has no bf16; runs on a GPU")
    dt = getattr(torch, dtype)
    tol = 2e-3 if dtype == "float16" else 1.6e-2
    a, b = _operands(SHAPE, (2, 1, 1, 7), "mul", dt)
    got = ew.binary(a.to(DEV), b.to(DEV).expand(SHAPE), kind="mul", act="silu", block=256).cpu()
    assert got.dtype == dt
    assert _rel_err(got, _ref_act(a.double() * b.double(), "silu")) < tol
    got = ew.activation(a.to(DEV), act="hard_swish", block=256).cpu()
    assert got.dtype == dt and _rel_err(got, _ref_act(a.double(), "hard_swish")) < tol
