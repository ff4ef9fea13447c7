"""f32/f16/bf16 depthwise conv (group == C_in == C_out, one KHxKW filter per channel) on NHWC
activations, with a fused bias + activation epilogue: MobileNet's and EfficientNet's layer.

There is no reduction over channels, so no GEMM and no tl.dot: each program owns a tile of
BLOCK_P output pixels x BLOCK_C channels and accumulates, tap by tap, x[pixel + tap, c] * w[tap, c]
in fp32. Channels are contiguous in NHWC and in the packed (KH*KW, C) weight, so every tap is one
coalesced [BLOCK_P, BLOCK_C] load plus one [BLOCK_C] weight row; padding is a 1-D mask per tap.

  y[n, oh, ow, c] = act(sum_{kh, kw} x[n, oh*sh - pt + kh*dh, ow*sw - pl + kw*dw, c] * w[kh, kw, c]
                        + bias[c])

Tile constraints: BLOCK_P and BLOCK_C powers of two (tl.arange).
"""

import triton
import triton.language as tl

from .activations import _act, act_args
from .window import _tap_rows, _window_origin


@triton.jit
def _dwconv2d_nhwc_kernel(
    x_ptr, w_ptr, bias_ptr, y_ptr,
    P, C, H, W, OH, OW,
    stride_h, stride_w, pad_t, pad_l, dil_h, dil_w,
    alpha, beta,
    KH: tl.constexpr, KW: tl.constexpr,
    ACT: tl.constexpr, HAS_BIAS: tl.constexpr,
    BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr,
):
    pid_p = tl.program_id(0)
    pid_c = tl.program_id(1)
    offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)   # output pixels of this tile
    offs_c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)   # channels of this tile
    p_ok = offs_p < P
    c_ok = offs_c < C

    n, ih0, iw0 = _window_origin(offs_p, OH, OW, stride_h, stride_w, pad_t, pad_l)
    x_img = n.to(tl.int64) * H * W * C               # int64: big batches overflow int32

    acc = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
    # Rows of taps a runtime loop, taps within a row unrolled: fully unrolling a 5x5 lets the
    # scheduler hoist all 25 tile loads and spill (sm_90 AOT report); one row's KW loads still
    # overlap.
    for kh in range(KH):
        ih = ih0 + kh * dil_h
        h_ok = p_ok & (ih >= 0) & (ih < H)
        for kw in tl.static_range(KW):
            iw = iw0 + kw * dil_w
            row, row_ok = _tap_rows(x_img, ih, iw, h_ok, W, C)
            a = tl.load(x_ptr + row[:, None] + offs_c[None, :],
                        mask=row_ok[:, None] & c_ok[None, :], other=0.0)
            wv = tl.load(w_ptr + (kh * KW + kw) * C + offs_c, mask=c_ok, other=0.0)
            acc += a.to(tl.float32) * wv.to(tl.float32)[None, :]

    if HAS_BIAS:
        acc += tl.load(bias_ptr + offs_c, mask=c_ok, other=0.0).to(tl.float32)[None, :]
    acc = _act(acc, ACT, alpha, beta)
    y_off = offs_p.to(tl.int64)[:, None] * C + offs_c[None, :]
    tl.store(y_ptr + y_off, acc.to(y_ptr.dtype.element_ty), mask=p_ok[:, None] & c_ok[None, :])


def pack_dwconv_weight(w):
    """(C, 1, KH, KW) depthwise weight -> dense (KH*KW, C): tap-major, channels contiguous, so a
    tap's weights for a channel tile are one coalesced row. Works for numpy arrays and torch
    tensors (returns the same kind)."""
    C, one, KH, KW = w.shape
    if one != 1:
        raise ValueError(f"pack_dwconv_weight: expected (C, 1, KH, KW), got {tuple(w.shape)}")
    if hasattr(w, "permute"):
        return w.reshape(C, KH * KW).t().contiguous()
    import numpy as np
    return np.ascontiguousarray(w.reshape(C, KH * KW).T)


def dwconv2d(x_nhwc, w_packed, bias=None, *, kernel_size, stride=(1, 1), pads=(0, 0, 0, 0),
             dilation=(1, 1), act="none", out=None, block_p=64, block_c=64, num_warps=8,
             num_stages=3):
    """Launch the depthwise conv. Returns the output (N, OH, OW, C) NHWC (or `out` when given).
    Each argument is checked and turned into kernel arguments by dwconv2d_launch_args.

    x_nhwc       (N, H, W, C) input (made contiguous).
    w_packed     (KH*KW, C) weight from pack_dwconv_weight, same dtype as x.
    bias         (C,) or None; added in fp32 before the activation.
    kernel_size  (KH, KW): the packed weight no longer knows it.
    stride       (sh, sw).
    pads         (top, left, bottom, right), ONNX's order.
    dilation     (dh, dw).
    act          name in activations.ACTS or "relu6", or (name, alpha, beta); see act_args.
    out          None (a new tensor) or a contiguous (N, OH, OW, C) tensor to write.
    block_p/c    tile: output pixels x channels (powers of two).
    num_warps, num_stages
                 Triton launch options (ignored by the interpreter).
    """
    out, grid, args, meta = dwconv2d_launch_args(
        x_nhwc, w_packed, bias, kernel_size=kernel_size, stride=stride, pads=pads,
        dilation=dilation, act=act, out=out, block_p=block_p, block_c=block_c,
        num_warps=num_warps, num_stages=num_stages)
    _dwconv2d_nhwc_kernel[grid](*args, **meta)
    return out


def dwconv2d_launch_args(x_nhwc, w_packed, bias=None, *, kernel_size, stride, pads, dilation,
                         act, out, block_p, block_c, num_warps, num_stages=3):
    """Checks dwconv2d's arguments (same meaning) and returns (out, grid, args, meta): the kernel
    is launched as _dwconv2d_nhwc_kernel[grid](*args, **meta) (also what the AOT test compiles)."""
    import torch

    if x_nhwc.dim() != 4:
        raise ValueError(f"dwconv2d: x must be NHWC 4-D, got {tuple(x_nhwc.shape)}")
    N, H, W, C = x_nhwc.shape
    KH, KW = kernel_size
    if tuple(w_packed.shape) != (KH * KW, C):
        raise ValueError(f"dwconv2d: packed weight is {tuple(w_packed.shape)}, expected "
                         f"(KH*KW, C)=({KH * KW}, {C})")
    if bias is not None and tuple(bias.shape) != (C,):
        raise ValueError(f"dwconv2d: bias is {tuple(bias.shape)}, expected ({C},)")
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = pads
    OH = (H + pt + pb - dh * (KH - 1) - 1) // sh + 1
    OW = (W + pl + pr - dw * (KW - 1) - 1) // sw + 1
    if OH < 1 or OW < 1:
        raise ValueError(f"dwconv2d: window {kernel_size} (dilation {dilation}) is larger than "
                         f"the padded input {H}x{W} pads {pads}")
    x_nhwc = x_nhwc.contiguous()
    w_packed = w_packed.contiguous()
    if out is None:
        out = torch.empty((N, OH, OW, C), dtype=x_nhwc.dtype, device=x_nhwc.device)
    if tuple(out.shape) != (N, OH, OW, C) or not out.is_contiguous():
        raise ValueError(f"dwconv2d: out {tuple(out.shape)} must be a contiguous "
                         f"(N,OH,OW,C)=({N},{OH},{OW},{C})")
    a, al, be = act_args(act)
    P = N * OH * OW
    grid = (triton.cdiv(P, block_p), triton.cdiv(C, block_c))
    args = (x_nhwc, w_packed, bias if bias is not None else w_packed, out,
            P, C, H, W, OH, OW, sh, sw, pt, pl, dh, dw, al, be)
    meta = dict(KH=KH, KW=KW, ACT=a, HAS_BIAS=bias is not None,
                BLOCK_P=block_p, BLOCK_C=block_c, num_warps=num_warps, num_stages=num_stages)
    return out, grid, args, meta


# Shipped tiles (block_p, block_c, num_warps). Wide channel tiles keep loads 128-byte coalesced
# for EfficientNet's 96..3840 channels; the 128x16 tile is for C=16..32 stages. All are compiled
# for sm_90 by tests/triton/test_aot_sm90.py: the 4096-element tiles take 8 warps (with 4 they
# need 140..235 registers a thread, 8 warps: 84..110).
CONFIGS = [(32, 128, 8), (64, 64, 8), (128, 16, 4)]

# Representative launches for the sm_90 compile check: a 3x3/1 and a 5x5/2 (asymmetric TF-style
# pads) EfficientNet layer, each with its usual SiLU.
_AOT_LAYERS = {
    "3x3s1_c144_56": dict(n=1, h=56, w=56, c=144, k=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1)),
    "5x5s2_c240_28_b2": dict(n=2, h=28, w=28, c=240, k=(5, 5), stride=(2, 2), pads=(1, 1, 2, 2)),
}


def aot_cases():
    """{case id: () -> (jit kernel, args, meta)}: each shipped tile on each layer, fp16 and fp32."""
    import torch

    def case(dtype, cfg, L):
        bp, bc, warps = cfg
        dt = getattr(torch, dtype)
        kh, kw = L["k"]
        x = torch.empty(L["n"], L["h"], L["w"], L["c"], dtype=dt)
        _, _, args, meta = dwconv2d_launch_args(
            x, torch.empty(kh * kw, L["c"], dtype=dt), torch.empty(L["c"], dtype=dt),
            kernel_size=L["k"], stride=L["stride"], pads=L["pads"], dilation=(1, 1), act="silu",
            out=None, block_p=bp, block_c=bc, num_warps=warps)
        return _dwconv2d_nhwc_kernel, args, meta

    return {f"{dtype}-{'x'.join(map(str, cfg))}-{name}":
            (lambda d=dtype, c=cfg, L=L: case(d, c, L))
            for dtype in ("float16", "float32") for cfg in CONFIGS
            for name, L in _AOT_LAYERS.items()}
