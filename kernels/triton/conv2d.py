"""f32/f16/bf16 conv2d as an implicit GEMM on NHWC activations, with a fused epilogue.

GEMM view:  Y[P, M] = A[P, K] @ B[K, M]
  P = N*OH*OW   output pixels (rows),   M = output channels (columns),
  K = KH*KW*C   reduction, ordered (kh, kw, c) with c fastest.
A is never materialised: each A tile is gathered from the NHWC input, with padding and the K tail
masked to zero. B is the weight packed once by `pack_conv_weight` to a dense (K, M) row-major
matrix: the same (kh, kw, c) order as the NHWC gather, so consecutive k of one tap are adjacent
channels in memory, and M contiguous, so a [BLOCK_K, BLOCK_N] tile is a coalesced load that
feeds tl.dot with no transpose.

Epilogue (the CPU contract in kernels/cpu/kernel_api.h):
  y = act(acc + bias[m], alpha, beta)
  if residual: y = post_act(y + residual[p, m], post_alpha, post_beta)
Output and residual are NHWC with a row stride (elements between consecutive pixels), and the
output has a channel offset, so a branch writes straight into its channel slice of a concat
output.

Optional fusions (all off by default; each is a constexpr flag or a plain argument):
  in_scale  the A gather reads x[n, h, w, c] * in_scale[n, c] (fp32 multiply, cast back to the
            A dtype for tl.dot): EfficientNet's squeeze-and-excitation gate folded into the
            projection conv that consumes it, saving a pass over the block's largest tensor.
  input slice  x has its own pixel stride (x_row_stride >= C), so x can be a channel slice of a
            wider NHWC buffer, read in place (inception's 3x3/5x5 branches read their slice of
            the merged 1x1 conv's scratch output).
  split output  columns m < split_at go to y at channel y_ch_off + m, columns m >= split_at to
            y2 at channel y2_ch_off + (m - split_at) (own row stride): inception's sibling 1x1
            convs run as one wider conv, the first branch straight into the concat output.

The K loop has two shapes (constexpr FLAT_K): one flat loop over (kh, kw, c), or taps outer and
channel chunks inner (1-D padding masks per tap); the launcher picks, see conv2d(flat_k=).

Tile constraints: BLOCK_K >= 16 (fp16/bf16 tl.dot needs K >= 16 on the GPU; the K tail is masked),
all BLOCK_* powers of two.
"""

import triton
import triton.language as tl

from .activations import ACTS, _act, act_args
from .window import _tap_rows, _window_origin

@triton.jit
def _conv2d_nhwc_kernel(
    x_ptr, w_ptr, bias_ptr, res_ptr, y_ptr,
    # sizes
    P, C, H, W, OH, OW, M, K,
    # conv attributes
    stride_h, stride_w, pad_t, pad_l, dil_h, dil_w,
    # output / residual layout: element stride between pixels, and the output channel offset
    y_row_stride, y_ch_off, res_row_stride,
    # activation parameters
    alpha, beta, post_alpha, post_beta,
    # optional fusions: (N, C) contiguous input scale; input pixel stride (C when dense); second
    # output (pointer, pixel stride, channel offset) and the first column that goes to it
    in_scale_ptr, x_row_stride, y2_ptr, y2_row_stride, y2_ch_off, split_at,
    KH: tl.constexpr, KW: tl.constexpr,
    FLAT_K: tl.constexpr,  # True: one flat (kh, kw, c) loop; False: taps outer, channels inner
    ACT: tl.constexpr, POST_ACT: tl.constexpr,
    HAS_BIAS: tl.constexpr, HAS_RES: tl.constexpr,
    PRECISION: tl.constexpr,  # tl.dot input_precision for fp32 inputs: "ieee" or "tf32"
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
    HAS_IN_SCALE: tl.constexpr = False,  # A = x * in_scale[n, c]
    HAS_OUT2: tl.constexpr = False,      # columns >= split_at go to y2
):
    pid_p = tl.program_id(0)
    pid_m = tl.program_id(1)
    offs_p = pid_p * BLOCK_M + tl.arange(0, BLOCK_M)   # output pixels of this tile
    offs_m = pid_m * BLOCK_N + tl.arange(0, BLOCK_N)   # output channels of this tile
    p_ok = offs_p < P
    m_ok = offs_m < M

    # Input origin of each output pixel's receptive field, once per tile.
    n, ih0, iw0 = _window_origin(offs_p, OH, OW, stride_h, stride_w, pad_t, pad_l)
    x_img = n.to(tl.int64) * H * W * x_row_stride    # int64: big batches overflow int32
    s_img = n * C                                    # row of in_scale (N*C is small)

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    if FLAT_K:
        # One flat K loop over (kh, kw, c): no step is wasted when C is small (a 3-channel stem),
        # at the cost of per-element tap arithmetic and 2-D padding masks.
        for k0 in range(0, K, BLOCK_K):
            offs_k = k0 + tl.arange(0, BLOCK_K)
            k_ok = offs_k < K
            c = offs_k % C
            tap = offs_k // C
            kw = tap % KW
            kh = tap // KW
            ih = ih0[:, None] + (kh * dil_h)[None, :]
            iw = iw0[:, None] + (kw * dil_w)[None, :]
            a_ok = (p_ok[:, None] & k_ok[None, :] & (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W))
            a_off = x_img[:, None] + ((ih * W + iw) * x_row_stride + c[None, :]).to(tl.int64)
            a = tl.load(x_ptr + a_off, mask=a_ok, other=0.0)
            if HAS_IN_SCALE:
                s = tl.load(in_scale_ptr + (s_img[:, None] + c[None, :]), mask=a_ok, other=0.0)
                a = (a.to(tl.float32) * s.to(tl.float32)).to(x_ptr.dtype.element_ty)
            b_off = offs_k[:, None].to(tl.int64) * M + offs_m[None, :]
            b = tl.load(w_ptr + b_off, mask=k_ok[:, None] & m_ok[None, :], other=0.0)
            acc = tl.dot(a, b, acc, input_precision=PRECISION)
    else:
        # Taps outer, channel chunks inner: the padding mask and the pixel's row address are 1-D
        # per tap, and the inner loop is a plain strided GEMM step (what the pipeliner likes).
        for tap in range(0, KH * KW):
            kh = tap // KW
            kw = tap % KW
            ih = ih0 + kh * dil_h
            iw = iw0 + kw * dil_w
            row, row_ok = _tap_rows(x_img, ih, iw, p_ok & (ih >= 0) & (ih < H), W, x_row_stride)
            for c0 in range(0, C, BLOCK_K):
                offs_c = c0 + tl.arange(0, BLOCK_K)
                c_ok = offs_c < C
                a_ok = row_ok[:, None] & c_ok[None, :]
                a = tl.load(x_ptr + row[:, None] + offs_c[None, :], mask=a_ok, other=0.0)
                if HAS_IN_SCALE:
                    s = tl.load(in_scale_ptr + (s_img[:, None] + offs_c[None, :]), mask=a_ok,
                                other=0.0)
                    a = (a.to(tl.float32) * s.to(tl.float32)).to(x_ptr.dtype.element_ty)
                b_off = (tap * C + offs_c)[:, None].to(tl.int64) * M + offs_m[None, :]
                b = tl.load(w_ptr + b_off, mask=c_ok[:, None] & m_ok[None, :], other=0.0)
                acc = tl.dot(a, b, acc, input_precision=PRECISION)

    # Fused epilogue, in fp32.
    if HAS_BIAS:
        acc += tl.load(bias_ptr + offs_m, mask=m_ok, other=0.0).to(tl.float32)[None, :]
    acc = _act(acc, ACT, alpha, beta)
    out_ok = p_ok[:, None] & m_ok[None, :]
    if HAS_RES:
        r_off = offs_p.to(tl.int64)[:, None] * res_row_stride + offs_m[None, :]
        acc += tl.load(res_ptr + r_off, mask=out_ok, other=0.0).to(tl.float32)
        acc = _act(acc, POST_ACT, post_alpha, post_beta)
    y_off = offs_p.to(tl.int64)[:, None] * y_row_stride + (y_ch_off + offs_m)[None, :]
    if HAS_OUT2:
        to_y = offs_m < split_at
        tl.store(y_ptr + y_off, acc.to(y_ptr.dtype.element_ty), mask=out_ok & to_y[None, :])
        y2_off = (offs_p.to(tl.int64)[:, None] * y2_row_stride
                  + (y2_ch_off + offs_m - split_at)[None, :])
        tl.store(y2_ptr + y2_off, acc.to(y2_ptr.dtype.element_ty),
                 mask=out_ok & (offs_m >= split_at)[None, :])
    else:
        tl.store(y_ptr + y_off, acc.to(y_ptr.dtype.element_ty), mask=out_ok)


def pack_conv_weight(w_oihw):
    """(M, C, KH, KW) weight -> dense (KH*KW*C, M): k ordered (kh, kw, c) like the NHWC gather,
    output channels contiguous so the kernel's B tile is a coalesced row-major load. Done once
    at compile time; works for numpy arrays and torch tensors (returns the same kind)."""
    M, C, KH, KW = w_oihw.shape
    if hasattr(w_oihw, "permute"):
        return w_oihw.permute(2, 3, 1, 0).reshape(KH * KW * C, M).contiguous()
    import numpy as np
    return np.ascontiguousarray(w_oihw.transpose(2, 3, 1, 0).reshape(KH * KW * C, M))


def conv2d(x_nhwc, w_packed, bias=None, *, kernel_size, stride=(1, 1), pads=(0, 0, 0, 0),
           dilation=(1, 1), act="none", residual=None, residual_after_act=False, post_act="none",
           out=None, out_channel_offset=0, precision="ieee", block_m=64, block_n=64, block_k=32,
           num_warps=4, num_stages=3, flat_k=None, in_scale=None, out2=None,
           out2_channel_offset=0, split_at=None):
    """Launch the implicit-GEMM conv. Returns the output (NHWC, or `out` when given).
    Each argument is checked and turned into kernel arguments by conv2d_launch_args.

    x_nhwc       (N, H, W, C) input (torch tensor on the kernel's device): channels contiguous
                 and pixels evenly strided (stride(2) >= C, stride(1) == W * stride(2),
                 stride(0) == H * W * stride(2)), so a channel slice of a wider NHWC buffer
                 (buf[..., a:b]) is read in place; any other layout is copied to a dense one.
    w_packed     (KH*KW*C, M) weight from pack_conv_weight, same dtype as x.
    bias         (M,) or None; added in fp32 before the activation.
    kernel_size  (KH, KW): the packed weight no longer knows it.
    stride       (sh, sw).
    pads         (top, left, bottom, right): ONNX order is (top, left, bottom, right) too.
    dilation     (dh, dw).
    act          name in activations.ACTS or "relu6", or (name, alpha, beta) (clip bounds,
                 leaky_relu slope, hard_sigmoid's a*x+b).
    residual     None or (N, OH, OW, M) NHWC tensor (any pixel stride, channels contiguous).
    residual_after_act
                 False: y = act(conv + bias + residual)   (ResNet: add then ReLU);
                 True:  y = post_act(act(conv + bias) + residual).
    post_act     activation after the residual add when residual_after_act=True.
    out          None (a new dense NHWC tensor) or a preallocated (N, OH, OW, Ctot) NHWC tensor,
                 channels contiguous and pixels evenly strided (a concat output).
    out_channel_offset
                 first channel of `out` this conv writes (its slice is [off, off + M)).
    precision    tl.dot input precision for fp32 inputs: "ieee" (exact fp32) or "tf32".
    block_m/n/k  tile: output pixels x output channels x reduction step (powers of two,
                 block_k >= 16).
    num_warps, num_stages
                 Triton launch options (ignored by the interpreter).
    flat_k       K loop shape: True one flat (kh, kw, c) loop, False taps outer and channel
                 chunks inner; None picks the tap loop only when C >= 4 * block_k. Below that
                 the inner loop is too short to pipeline (and the sm_90 AOT report shows more
                 registers for it on ResNet's 3x3 C=64), and for a C=3 stem it would waste most
                 of each channel chunk.
    in_scale     None or an (N, C) tensor: the conv reads x[n, h, w, c] * in_scale[n, c]
                 (multiplied in fp32 as the A tile is gathered, then cast back to x's dtype):
                 a squeeze-and-excitation gate folded into the conv that consumes it.
    out2, out2_channel_offset, split_at
                 split output: output channels m < split_at go to `out` at channel
                 out_channel_offset + m, channels m >= split_at to out2 (an (N, OH, OW, Ctot2)
                 NHWC tensor, channels contiguous and pixels evenly strided) at channel
                 out2_channel_offset + (m - split_at); 0 < split_at < M. With out2, `out`
                 defaults to a new dense (N, OH, OW, split_at) tensor. Not with a residual.
    """
    out, grid, args, meta = conv2d_launch_args(
        x_nhwc, w_packed, bias, kernel_size=kernel_size, stride=stride, pads=pads,
        dilation=dilation, act=act, residual=residual, residual_after_act=residual_after_act,
        post_act=post_act, out=out, out_channel_offset=out_channel_offset, precision=precision,
        block_m=block_m, block_n=block_n, block_k=block_k, num_warps=num_warps,
        num_stages=num_stages, flat_k=flat_k, in_scale=in_scale, out2=out2,
        out2_channel_offset=out2_channel_offset, split_at=split_at)
    _conv2d_nhwc_kernel[grid](*args, **meta)
    return out


def conv2d_launch_args(x_nhwc, w_packed, bias=None, *, kernel_size, stride, pads, dilation,
                       act, residual, residual_after_act, post_act, out, out_channel_offset,
                       precision, block_m, block_n, block_k, num_warps, num_stages,
                       flat_k=None, in_scale=None, out2=None, out2_channel_offset=0,
                       split_at=None):
    """Checks conv2d's arguments (same meaning) and returns (out, grid, args, meta): the kernel
    is launched as _conv2d_nhwc_kernel[grid](*args, **meta). Kept apart so that the AOT tests
    compile exactly the specialization a launch would."""
    import torch

    N, H, W, C = x_nhwc.shape
    KH, KW = kernel_size
    K, M = w_packed.shape
    if K != KH * KW * C:
        raise ValueError(f"conv2d: packed weight has K={K}, expected KH*KW*C={KH * KW * C}")
    if block_k < 16:
        raise ValueError("conv2d: block_k must be >= 16 (tl.dot on fp16 needs K >= 16)")
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = pads
    OH = (H + pt + pb - dh * (KH - 1) - 1) // sh + 1
    OW = (W + pl + pr - dw * (KW - 1) - 1) // sw + 1
    P = N * OH * OW
    x_row = _pixel_stride(x_nhwc)
    if x_row is None or x_row < C:  # not an evenly strided (channel slice) view: make it dense
        x_nhwc = x_nhwc.contiguous()
        x_row = C
    if flat_k is None:
        flat_k = C < 4 * block_k

    if in_scale is not None:
        if tuple(in_scale.shape) != (N, C):
            raise ValueError(f"conv2d: in_scale must be (N, C)=({N}, {C}), got "
                             f"{tuple(in_scale.shape)}")
        in_scale = in_scale.contiguous()  # small: N*C

    if out2 is None:
        if split_at is not None or out2_channel_offset:
            raise ValueError("conv2d: split_at / out2_channel_offset need `out2`")
        M1, split = M, M
    else:
        if split_at is None or not 0 < split_at < M:
            raise ValueError(f"conv2d: split_at={split_at} out of range: need 0 < split_at < M={M}")
        if residual is not None:
            raise ValueError("conv2d: residual with a split output (out2) is not supported")
        M1, split = split_at, split_at
        if (tuple(out2.shape[:3]) != (N, OH, OW) or out2.stride(3) != 1 or out2_channel_offset < 0
                or out2_channel_offset + M - split_at > out2.shape[3]):
            raise ValueError(f"conv2d: out2 {tuple(out2.shape)} cannot hold (N,OH,OW)=({N},{OH},"
                             f"{OW}) channels [{out2_channel_offset}, "
                             f"{out2_channel_offset + M - split_at})")
        y2_row = _pixel_stride(out2)
        if y2_row is None or y2_row < out2.shape[3]:
            raise ValueError("conv2d: out2 pixels must be evenly strided (stride(2) * pixels)")

    if out is None:
        out = torch.empty((N, OH, OW, M1), dtype=x_nhwc.dtype, device=x_nhwc.device)
        if out_channel_offset:
            raise ValueError("conv2d: out_channel_offset needs `out`")
    if (out.shape[:3] != (N, OH, OW) or out.stride(3) != 1 or out_channel_offset < 0
            or out_channel_offset + M1 > out.shape[3]):
        raise ValueError(f"conv2d: out {tuple(out.shape)} cannot hold (N,OH,OW)=({N},{OH},{OW}) "
                         f"channels [{out_channel_offset}, {out_channel_offset + M1})")
    y_row = out.stride(2)
    if out.stride(1) != OW * y_row or out.stride(0) != OH * OW * y_row:
        raise ValueError("conv2d: out pixels must be evenly strided (stride(2) * pixels)")

    a, al, be = act_args(act)
    pa, pal, pbe = 0, 0.0, 0.0
    if residual is not None:
        if tuple(residual.shape) != (N, OH, OW, M) or residual.stride(3) != 1:
            raise ValueError(f"conv2d: residual must be (N,OH,OW,M)=({N},{OH},{OW},{M}) NHWC")
        res_row = residual.stride(2)
        if residual.stride(1) != OW * res_row or residual.stride(0) != OH * OW * res_row:
            raise ValueError("conv2d: residual pixels must be evenly strided")
        if residual_after_act:
            pa, pal, pbe = act_args(post_act)
        else:  # move the activation after the add
            (a, al, be), (pa, pal, pbe) = (0, 0.0, 0.0), (a, al, be)
    else:
        res_row = 0

    grid = (triton.cdiv(P, block_m), triton.cdiv(M, block_n))
    args = (
        x_nhwc, w_packed, bias if bias is not None else w_packed,
        residual if residual is not None else out, out,
        P, C, H, W, OH, OW, M, K,
        sh, sw, pt, pl, dh, dw,
        y_row, out_channel_offset, res_row,
        al, be, pal, pbe,
        in_scale if in_scale is not None else x_nhwc, x_row,
        out2 if out2 is not None else out, y2_row if out2 is not None else 0,
        out2_channel_offset, split,
    )
    meta = dict(
        KH=KH, KW=KW, FLAT_K=flat_k, ACT=a, POST_ACT=pa,
        HAS_BIAS=bias is not None, HAS_RES=residual is not None,
        PRECISION=precision, BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=block_k,
        HAS_IN_SCALE=in_scale is not None, HAS_OUT2=out2 is not None,
        num_warps=num_warps, num_stages=num_stages,
    )
    return out, grid, args, meta


def _pixel_stride(t):
    """Element stride between consecutive pixels of an NHWC view whose channels are contiguous
    and whose pixels are evenly strided (a channel slice of a wider NHWC buffer), else None.
    Size-1 dimensions may carry any stride."""
    N, H, W, C = t.shape
    if C > 1 and t.stride(3) != 1:
        return None
    row = t.stride(2) if W > 1 else (t.stride(1) // W if H > 1 else None)
    if row is None:  # H == W == 1: one pixel per image
        row = t.stride(0) if N > 1 else C
    if (H > 1 and t.stride(1) != W * row) or (N > 1 and t.stride(0) != H * W * row):
        return None
    return row


# Shipped tile configurations, (block_m, block_n, block_k, num_warps, num_stages), per dtype and
# tl.dot precision; the autotuning step (issue 4) will choose among these per shape. Each one is
# compiled for sm_90 in tests/triton/test_aot_sm90.py (shared memory <= 227 KB, no register
# spills), with both K loop shapes. 128x128 tiles need 8 warps: with 4 they spill (the fp32
# accumulator alone is 128 registers a thread).
CONFIGS = {
    ("float16", "ieee"): [(128, 128, 32, 8, 4), (128, 128, 64, 8, 3), (128, 64, 32, 4, 4),
                          (64, 128, 32, 4, 4), (64, 64, 32, 4, 3)],
    ("bfloat16", "ieee"): [(128, 128, 32, 8, 4), (64, 64, 32, 4, 3)],
    ("float32", "tf32"): [(128, 64, 32, 8, 3), (64, 64, 32, 4, 3), (64, 32, 16, 4, 3)],
    ("float32", "ieee"): [(64, 64, 32, 8, 3), (64, 32, 16, 4, 3)],
}


# Representative launches for the sm_90 compile check (tests/triton/test_aot_sm90.py): ResNet's
# 3x3 with the heaviest epilogue, with each K loop shape; a strided 1x1 with none (KW and the
# stride become different constants; tap loop); the 7x7/2 stem with C=3 (K = 147, ragged K tail;
# flat loop).
_AOT_LAYERS = {
    "3x3s1_silu_res_relu6_flatK": dict(n=2, h=56, w=56, c=64, m=64, k=(3, 3), stride=(1, 1),
                                       pads=(1, 1, 1, 1), act="silu", residual=True,
                                       post="relu6", flat_k=True),
    "3x3s1_silu_res_relu6_tapK": dict(n=2, h=56, w=56, c=64, m=64, k=(3, 3), stride=(1, 1),
                                      pads=(1, 1, 1, 1), act="silu", residual=True,
                                      post="relu6", flat_k=False),
    "1x1s2_nobias": dict(n=2, h=28, w=28, c=256, m=512, k=(1, 1), stride=(2, 2),
                         pads=(0, 0, 0, 0), act="none", residual=False, post="none", bias=False),
    "7x7s2_stem_c3": dict(n=2, h=224, w=224, c=3, m=64, k=(7, 7), stride=(2, 2),
                          pads=(3, 3, 3, 3), act="relu", residual=False, post="none"),
}


# The optional fusions, on one configuration each (not crossed with CONFIGS, to keep CI quick):
# EfficientNet-B0's SE projection 1x1 (C=240 -> 40 at 28x28) with the gate folded in (fp16 tap
# loop; fp32-ieee forced onto the flat loop so both K loop shapes compile with in_scale), and
# inception 3a's merged sibling 1x1s (192 -> 64 + 96 + 16, split at 64: 64 into the 256-channel
# concat, 112 into a scratch buffer) followed by the 3x3 branch reading its 96-channel slice of
# the scratch in place.
_AOT_FUSED = {
    "float16-ieee-128x64x32x4x4-se_proj_1x1_inscale":
        ("float16", "ieee", (128, 64, 32, 4, 4),
         dict(n=2, h=28, w=28, c=240, m=40, k=(1, 1), pads=(0, 0, 0, 0), in_scale=True)),
    "float32-ieee-64x64x32x8x3-se_proj_1x1_inscale_flatK":
        ("float32", "ieee", (64, 64, 32, 8, 3),
         dict(n=2, h=28, w=28, c=240, m=40, k=(1, 1), pads=(0, 0, 0, 0), in_scale=True,
              flat_k=True)),
    "float16-ieee-128x64x32x4x4-incep_merged_1x1_split64":
        ("float16", "ieee", (128, 64, 32, 4, 4),
         dict(n=2, h=28, w=28, c=192, m=176, k=(1, 1), pads=(0, 0, 0, 0), act="relu",
              split=(64, 256, 112))),
    "float16-ieee-128x64x32x4x4-incep_3x3_slice_in":
        ("float16", "ieee", (128, 64, 32, 4, 4),
         dict(n=2, h=28, w=28, c=96, m=128, k=(3, 3), pads=(1, 1, 1, 1), act="relu",
              x_slice=112, out=(256, 64))),
}


def aot_cases():
    """{case id: () -> (jit kernel, args, meta)}: every shipped configuration on each layer above,
    and the fusion cases, built with the launcher's own argument checks (tensors are never
    read)."""
    import torch

    def case(dtype, cfg, precision, L):
        bm, bn, bk, warps, stages = cfg
        dt = getattr(torch, dtype)
        kh, kw = L["k"]
        x = torch.empty(L["n"], L["h"], L["w"], L["c"], dtype=dt)
        wp = torch.empty(kh * kw * L["c"], L["m"], dtype=dt)
        b = torch.empty(L["m"], dtype=dt) if L.get("bias", True) else None
        oh = (L["h"] + L["pads"][0] + L["pads"][2] - kh) // L["stride"][0] + 1
        ow = (L["w"] + L["pads"][1] + L["pads"][3] - kw) // L["stride"][1] + 1
        res = torch.empty(L["n"], oh, ow, L["m"], dtype=dt) if L["residual"] else None
        _, _, args, meta = conv2d_launch_args(
            x, wp, b, kernel_size=L["k"], stride=L["stride"], pads=L["pads"], dilation=(1, 1),
            act=L["act"], residual=res, residual_after_act=True, post_act=L["post"], out=None,
            out_channel_offset=0, precision=precision, block_m=bm, block_n=bn, block_k=bk,
            num_warps=warps, num_stages=stages, flat_k=L.get("flat_k"))
        return _conv2d_nhwc_kernel, args, meta

    def fused(dtype, cfg, precision, L):
        bm, bn, bk, warps, stages = cfg
        dt = getattr(torch, dtype)
        n, h, w, c, m = L["n"], L["h"], L["w"], L["c"], L["m"]
        kh, kw = L["k"]
        x = torch.empty(n, h, w, L.get("x_slice", c), dtype=dt)[..., :c]
        wp = torch.empty(kh * kw * c, m, dtype=dt)
        b = torch.empty(m, dtype=dt)
        scale = torch.empty(n, c, dtype=dt) if L.get("in_scale") else None
        out, off, out2, split_at = None, 0, None, None
        if "out" in L:  # (concat channels, this conv's offset); same spatial size (stride 1)
            out, off = torch.empty(n, h, w, L["out"][0], dtype=dt), L["out"][1]
        if "split" in L:  # (split_at, concat channels, scratch channels)
            split_at, ctot, c2 = L["split"]
            out, out2 = torch.empty(n, h, w, ctot, dtype=dt), torch.empty(n, h, w, c2, dtype=dt)
        _, _, args, meta = conv2d_launch_args(
            x, wp, b, kernel_size=L["k"], stride=(1, 1), pads=L["pads"], dilation=(1, 1),
            act=L.get("act", "none"), residual=None, residual_after_act=False, post_act="none",
            out=out, out_channel_offset=off, precision=precision, block_m=bm, block_n=bn,
            block_k=bk, num_warps=warps, num_stages=stages, flat_k=L.get("flat_k"),
            in_scale=scale, out2=out2, out2_channel_offset=0, split_at=split_at)
        return _conv2d_nhwc_kernel, args, meta

    cases = {f"{dtype}-{prec}-{'x'.join(map(str, cfg))}-{name}":
             (lambda d=dtype, c=cfg, p=prec, L=L: case(d, c, p, L))
             for (dtype, prec), configs in CONFIGS.items() for cfg in configs
             for name, L in _AOT_LAYERS.items()}
    cases.update({cid: (lambda d=d, c=c, p=p, L=L: fused(d, c, p, L))
                  for cid, (d, p, c, L) in _AOT_FUSED.items()})
    return cases
