"""f32/f16/bf16 softmax over the last dim of a contiguous 2-D (rows, cols) tensor, fp32 math,
max-subtracted (1e3-sized logits do not overflow exp).

One program per row. When the row fits one block (ONE_TILE, the common classifier head with
cols <= BLOCK) it stays in registers: one load, one store. Otherwise two passes over the row:
an online pass keeps a per-lane running max m and sum s (s rescaled by exp(m_old - m_new) when
the max grows), combined across lanes at the end; the second pass writes exp(x - M) / S.

Tile constraint: BLOCK a power of two (tl.arange).
"""

import triton
import triton.language as tl


@triton.jit
def _softmax_rows_kernel(x_ptr, y_ptr, cols, ONE_TILE: tl.constexpr, BLOCK: tl.constexpr):
    row = tl.program_id(0).to(tl.int64) * cols        # int64: rows * cols may pass 2**31
    offs = tl.arange(0, BLOCK)
    if ONE_TILE:
        ok = offs < cols
        x = tl.load(x_ptr + row + offs, mask=ok, other=float("-inf")).to(tl.float32)
        e = tl.exp(x - tl.max(x, axis=0))             # masked lanes: exp(-inf) = 0
        tl.store(y_ptr + row + offs, (e / tl.sum(e, axis=0)).to(y_ptr.dtype.element_ty),
                 mask=ok)
    else:
        m = tl.full((BLOCK,), float("-inf"), dtype=tl.float32)
        s = tl.zeros((BLOCK,), dtype=tl.float32)
        for c0 in range(0, cols, BLOCK):
            ok = c0 + offs < cols
            x = tl.load(x_ptr + row + c0 + offs, mask=ok, other=float("-inf")).to(tl.float32)
            m_new = tl.maximum(m, x)
            # a lane that has seen only -inf keeps s = 0 (exp(-inf - -inf) would be NaN)
            s = tl.where(m_new == float("-inf"), 0.0,
                         s * tl.exp(m - m_new) + tl.exp(x - m_new))
            m = m_new
        mx = tl.max(m, axis=0)
        inv = 1.0 / tl.sum(s * tl.exp(m - mx), axis=0)
        for c0 in range(0, cols, BLOCK):
            ok = c0 + offs < cols
            x = tl.load(x_ptr + row + c0 + offs, mask=ok, other=0.0).to(tl.float32)
            tl.store(y_ptr + row + c0 + offs, (tl.exp(x - mx) * inv).to(y_ptr.dtype.element_ty),
                     mask=ok)


def softmax(x, out=None, *, block=1024, num_warps=4, num_stages=3):
    """Softmax over the last dim. Returns (rows, cols) (or `out` when given).

    x            contiguous 2-D (rows, cols) tensor.
    out          None or a contiguous tensor of x's shape.
    block        columns per step (a power of two); rows with cols <= block stay in registers.
    num_warps, num_stages
                 Triton launch options (ignored by the interpreter).
    """
    out, grid, args, meta = softmax_launch_args(x, out=out, block=block, num_warps=num_warps,
                                                num_stages=num_stages)
    _softmax_rows_kernel[grid](*args, **meta)
    return out


def softmax_launch_args(x, *, out, block, num_warps, num_stages=3):
    """Checks softmax's arguments and returns (out, grid, args, meta) for
    _softmax_rows_kernel[grid](*args, **meta) (also what the AOT test compiles)."""
    import torch

    if x.dim() != 2 or not x.is_contiguous():
        raise ValueError(f"softmax: x must be a contiguous 2-D (rows, cols) tensor, got shape "
                         f"{tuple(x.shape)} strides {tuple(x.stride())}")
    rows, cols = x.shape
    if out is None:
        out = torch.empty_like(x)
    if tuple(out.shape) != (rows, cols) or not out.is_contiguous():
        raise ValueError(f"softmax: out {tuple(out.shape)} must be contiguous ({rows}, {cols})")
    grid = (rows,)
    args = (x, out, cols)
    meta = dict(ONE_TILE=cols <= block, BLOCK=block, num_warps=num_warps, num_stages=num_stages)
    return out, grid, args, meta


# Shipped (block, num_warps): ImageNet's 1000 classes fit one 1024 block; 21843 (ImageNet-21k)
# loops over 4096-wide steps. Compiled for sm_90 by tests/triton/test_aot_sm90.py.
CONFIGS = [(1024, 4), (4096, 8)]


def aot_cases():
    """{case id: () -> (jit kernel, args, meta)}: each shipped config on the width it is for
    (1024 on cols=1000, one tile; 4096 on cols=21843, looped), fp16 and fp32."""
    import torch

    def case(dtype, cfg, cols):
        block, warps = cfg
        x = torch.empty(8, cols, dtype=getattr(torch, dtype))
        _, _, args, meta = softmax_launch_args(x, out=None, block=block, num_warps=warps)
        return _softmax_rows_kernel, args, meta

    return {f"{dtype}-{'x'.join(map(str, cfg))}-cols{cols}":
            (lambda d=dtype, c=cfg, n=cols: case(d, c, n))
            for dtype in ("float16", "float32") for cfg, cols in zip(CONFIGS, (1000, 21843))}
