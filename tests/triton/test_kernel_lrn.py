"""kernels/triton/lrn.py against cnnrt's ONNX-exact reference LRN (backends/reference/nn.py,
float64 numpy) on fresh random data. Tiny shapes: the interpreter costs ~45 ms a program."""

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

lrn_mod = load_kernel_module("lrn")

RTOL = 1e-4
DEV = "cpu" if os.environ.get("TRITON_INTERPRET") == "1" else "cuda"


def _oracle(x_nchw, size, alpha, beta, bias):
    node = Node("lrn", "l", [Value("x", shape=tuple(x_nchw.shape))], [Value("y")],
                dict(size=size, alpha=alpha, beta=beta, bias=bias))
    y = ref_nn.lrn(node, [x_nchw.double().numpy()])[0]
    return torch.from_numpy(np.ascontiguousarray(y.transpose(0, 2, 3, 1)))


def _run(n, c, h, w_, size, alpha=1e-2, beta=0.75, bias=1.0, blocks=(32, 64),
         dtype=torch.float32, tol=RTOL):
    g = torch.Generator().manual_seed(torch.seed() % 2**31)
    x = (3 * torch.randn(n, c, h, w_, generator=g)).to(dtype)  # large enough that sq matters
    ref = _oracle(x, size, alpha, beta, bias)
    got = lrn_mod.lrn(x.permute(0, 2, 3, 1).contiguous().to(DEV), size=size, alpha=alpha,
                      beta=beta, bias=bias, block_p=blocks[0], block_c=blocks[1]).cpu()
    assert got.shape == ref.shape and got.dtype == dtype
    err = _rel_err(got, ref)
    assert err < tol, f"rel err {err:.3g}"
    # the normalization is not a no-op here
    assert (ref - x.double().permute(0, 2, 3, 1)).abs().max() > 1e-2


@pytest.mark.parametrize("size,c,blocks", [(5, 20, (32, 64)), (4, 20, (32, 16)), (3, 37, (16, 16)),
                                           (1, 9, (32, 16)), (6, 7, (16, 8))],
                         ids=["size5", "size4_even_2ctiles", "size3_3ctiles", "size1",
                              "size6_gt_block"])
def test_lrn(size, c, blocks):
    _run(1, c, 5, 6, size, blocks=blocks)


def test_other_attrs():
    _run(2, 16, 3, 3, 5, alpha=0.5, beta=0.5, bias=2.0, blocks=(32, 16))


def test_into_given_out_and_rejects():
    x = torch.randn(1, 3, 3, 8, device=DEV)
    out = torch.empty_like(x)
    assert lrn_mod.lrn(x, size=3, alpha=0.1, beta=0.75, bias=1.0, out=out, block_p=16,
                       block_c=8) is out
    with pytest.raises(ValueError, match="lrn: out"):
        lrn_mod.lrn(x, size=3, alpha=0.1, beta=0.75, bias=1.0, out=torch.empty(1, 3, 3, 4))
    with pytest.raises(ValueError, match="lrn: x"):
        lrn_mod.lrn(x[0], size=3, alpha=0.1, beta=0.75, bias=1.0)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(dtype):
    if dtype == "bfloat16" and os.environ.get("TRITON_INTERPRET") == "1":
        pytest.skip("triton 3.6's interpreter has no bf16; runs on a GPU")
    _run(1, 24, 4, 5, 5, blocks=(32, 32), dtype=getattr(torch, dtype),
         tol=2e-3 if dtype == "float16" else 1.6e-2)
