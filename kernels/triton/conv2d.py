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

The K loop has two shapes (constexpr FLAT_K): one flat loop over (kh, kw, c), or taps outer and
channel chunks inner (1-D padding masks per tap); the launcher picks, see conv2d(flat_k=).

Tile constraints: BLOCK_K >= 16 (fp16/bf16 tl.dot needs K >= 16 on the GPU; the K tail is masked),
all BLOCK_* powers of two.
"""

import triton
import triton.language as tl

from .activations import ACTS, _act, act_args

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
    KH: tl.constexpr, KW: tl.constexpr,
    FLAT_K: tl.constexpr,  # True: one flat (kh, kw, c) loop; False: taps outer, channels inner
    ACT: tl.constexpr, POST_ACT: tl.constexpr,
    HAS_BIAS: tl.constexpr, HAS_RES: tl.constexpr,
    PRECISION: tl.constexpr,  # tl.dot input_precision for fp32 inputs: "ieee" or "tf32"
    BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr,
):
    pid_p = tl.program_id(0)
    pid_m = tl.program_id(1)
    offs_p = pid_p * BLOCK_M + tl.arange(0, BLOCK_M)   # output pixels of this tile
    offs_m = pid_m * BLOCK_N + tl.arange(0, BLOCK_N)   # output channels of this tile
    p_ok = offs_p < P
    m_ok = offs_m < M

    # Pixel -> (n, oh, ow) once per tile; input origin of each pixel's receptive field.
    ow = offs_p % OW
    t = offs_p // OW
    oh = t % OH
    n = t // OH
    ih0 = oh * stride_h - pad_t
    iw0 = ow * stride_w - pad_l
    x_img = n.to(tl.int64) * H * W * C               # int64: big batches overflow int32

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
            a_off = x_img[:, None] + ((ih * W + iw) * C + c[None, :]).to(tl.int64)
            a = tl.load(x_ptr + a_off, mask=a_ok, other=0.0)
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
            row_ok = p_ok & (ih >= 0) & (ih < H) & (iw >= 0) & (iw < W)
            row = x_img + ((ih * W + iw) * C).to(tl.int64)
            for c0 in range(0, C, BLOCK_K):
                offs_c = c0 + tl.arange(0, BLOCK_K)
                c_ok = offs_c < C
                a = tl.load(x_ptr + row[:, None] + offs_c[None, :],
                            mask=row_ok[:, None] & c_ok[None, :], other=0.0)
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
           num_warps=4, num_stages=3, flat_k=None):
    """Launch the implicit-GEMM conv. Returns the output (NHWC, or `out` when given).
    Each argument is checked and turned into kernel arguments by conv2d_launch_args.

    x_nhwc       (N, H, W, C) contiguous input (torch tensor on the kernel's device).
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
    """
    out, grid, args, meta = conv2d_launch_args(
        x_nhwc, w_packed, bias, kernel_size=kernel_size, stride=stride, pads=pads,
        dilation=dilation, act=act, residual=residual, residual_after_act=residual_after_act,
        post_act=post_act, out=out, out_channel_offset=out_channel_offset, precision=precision,
        block_m=block_m, block_n=block_n, block_k=block_k, num_warps=num_warps,
        num_stages=num_stages, flat_k=flat_k)
    _conv2d_nhwc_kernel[grid](*args, **meta)
    return out


def conv2d_launch_args(x_nhwc, w_packed, bias=None, *, kernel_size, stride, pads, dilation,
                       act, residual, residual_after_act, post_act, out, out_channel_offset,
                       precision, block_m, block_n, block_k, num_warps, num_stages,
                       flat_k=None):
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
    x_nhwc = x_nhwc.contiguous()
    if flat_k is None:
        flat_k = C < 4 * block_k

    if out is None:
        out = torch.empty((N, OH, OW, M), dtype=x_nhwc.dtype, device=x_nhwc.device)
        if out_channel_offset:
            raise ValueError("conv2d: out_channel_offset needs `out`")
    if out.shape[:3] != (N, OH, OW) or out.stride(3) != 1 or out_channel_offset + M > out.shape[3]:
        raise ValueError(f"conv2d: out {tuple(out.shape)} cannot hold (N,OH,OW)=({N},{OH},{OW}) "
                         f"channels [{out_channel_offset}, {out_channel_offset + M})")
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
    )
    meta = dict(
        KH=KH, KW=KW, FLAT_K=flat_k, ACT=a, POST_ACT=pa,
        HAS_BIAS=bias is not None, HAS_RES=residual is not None,
        PRECISION=precision, BLOCK_M=block_m, BLOCK_N=block_n, BLOCK_K=block_k,
        num_warps=num_warps, num_stages=num_stages,
    )
    return out, grid, args, meta


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


def aot_cases():
    """{case id: () -> (jit kernel, args, meta)}: every shipped configuration on each layer above,
    built with the launcher's own argument checks (tensors are never read)."""
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

    return {f"{dtype}-{prec}-{'x'.join(map(str, cfg))}-{name}":
            (lambda d=dtype, c=cfg, p=prec, L=L: case(d, c, p, L))
            for (dtype, prec), configs in CONFIGS.items() for cfg in configs
            for name, L in _AOT_LAYERS.items()}
