"""f32/f16/bf16 local response normalization across channels (ONNX LRN) on NHWC activations:

  sq[c] = sum of x[c']^2 for c' in [c - floor((size-1)/2), c + ceil((size-1)/2)], clipped to [0, C)
  y[c]  = x[c] / (bias + alpha / size * sq[c]) ** beta

Channels are contiguous in NHWC, so each of the SIZE shifted loads of a [BLOCK_P, BLOCK_C] tile
is coalesced (and mostly hits L1: neighbouring shifts overlap). The power is exp2(-beta *
log2(base)), which assumes base > 0 (bias > 0, alpha >= 0: every real model).

Tile constraints: BLOCK_P and BLOCK_C powers of two (tl.arange).
"""

import triton
import triton.language as tl


@triton.jit
def _lrn_nhwc_kernel(
    x_ptr, y_ptr, P, C, bias, coef, neg_beta,
    SIZE: tl.constexpr, BEFORE: tl.constexpr,
    BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr,
):
    offs_p = tl.program_id(0) * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    p_ok = offs_p < P
    row = offs_p.to(tl.int64)[:, None] * C             # int64: big batches overflow int32
    sq = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
    for j in tl.static_range(SIZE):
        cj = offs_c - BEFORE + j                       # neighbour channel; the clip is the mask
        v = tl.load(x_ptr + row + cj[None, :],
                    mask=p_ok[:, None] & ((cj >= 0) & (cj < C))[None, :], other=0.0)
        v = v.to(tl.float32)
        sq += v * v
    ok = p_ok[:, None] & (offs_c < C)[None, :]
    x = tl.load(x_ptr + row + offs_c[None, :], mask=ok, other=0.0).to(tl.float32)
    y = x * tl.exp2(neg_beta * tl.log2(bias + coef * sq))
    tl.store(y_ptr + row + offs_c[None, :], y.to(y_ptr.dtype.element_ty), mask=ok)


def lrn(x_nhwc, *, size, alpha, beta, bias, out=None, block_p=32, block_c=64, num_warps=4,
        num_stages=3):
    """ONNX LRN over the channels of an NHWC tensor. Returns (N, H, W, C) (or `out` when given).

    x_nhwc       (N, H, W, C) input (made contiguous).
    size         window width in channels (odd or even, ONNX's asymmetric split when even).
    alpha, beta, bias
                 ONNX attributes: y = x / (bias + alpha / size * sq) ** beta.
    out          None or a contiguous tensor of x's shape.
    block_p/c    tile: pixels x channels (powers of two).
    num_warps, num_stages
                 Triton launch options (ignored by the interpreter).
    """
    out, grid, args, meta = lrn_launch_args(x_nhwc, size=size, alpha=alpha, beta=beta, bias=bias,
                                            out=out, block_p=block_p, block_c=block_c,
                                            num_warps=num_warps, num_stages=num_stages)
    _lrn_nhwc_kernel[grid](*args, **meta)
    return out


def lrn_launch_args(x_nhwc, *, size, alpha, beta, bias, out, block_p, block_c, num_warps,
                    num_stages=3):
    """Checks lrn's arguments and returns (out, grid, args, meta) for
    _lrn_nhwc_kernel[grid](*args, **meta) (also what the AOT test compiles)."""
    import torch

    if x_nhwc.dim() != 4:
        raise ValueError(f"lrn: x must be NHWC 4-D, got {tuple(x_nhwc.shape)}")
    if int(size) < 1:
        raise ValueError(f"lrn: size must be >= 1, got {size}")
    N, H, W, C = x_nhwc.shape
    x_nhwc = x_nhwc.contiguous()
    if out is None:
        out = torch.empty_like(x_nhwc)
    if tuple(out.shape) != tuple(x_nhwc.shape) or not out.is_contiguous():
        raise ValueError(f"lrn: out {tuple(out.shape)} must be contiguous {tuple(x_nhwc.shape)}")
    P = N * H * W
    size = int(size)
    grid = (triton.cdiv(P, block_p), triton.cdiv(C, block_c))
    args = (x_nhwc, out, P, C, float(bias), float(alpha) / size, -float(beta))
    meta = dict(SIZE=size, BEFORE=(size - 1) // 2, BLOCK_P=block_p, BLOCK_C=block_c,
                num_warps=num_warps, num_stages=num_stages)
    return out, grid, args, meta


# Shipped tiles (block_p, block_c, num_warps), compiled for sm_90 by tests/triton/test_aot_sm90.py.
CONFIGS = [(32, 64, 4), (16, 128, 4)]


def aot_cases():
    """{case id: () -> (jit kernel, args, meta)}: GoogLeNet's LRN (size 5, C=64 at 56x56), each
    shipped tile, fp16 and fp32."""
    import torch

    def case(dtype, cfg):
        bp, bc, warps = cfg
        x = torch.empty(1, 56, 56, 64, dtype=getattr(torch, dtype))
        _, _, args, meta = lrn_launch_args(x, size=5, alpha=1e-4, beta=0.75, bias=1.0, out=None,
                                           block_p=bp, block_c=bc, num_warps=warps)
        return _lrn_nhwc_kernel, args, meta

    return {f"{dtype}-{'x'.join(map(str, cfg))}-size5_c64_56":
            (lambda d=dtype, c=cfg: case(d, c))
            for dtype in ("float16", "float32") for cfg in CONFIGS}
