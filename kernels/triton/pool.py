"""f32/f16/bf16 max / average pooling on NHWC activations, ONNX semantics (the oracle is
python/cnnrt/backends/reference/nn.py), and global average / max pooling.

pool2d: each program owns BLOCK_P output pixels x BLOCK_C channels and walks the window's taps;
every tap is one coalesced [BLOCK_P, BLOCK_C] load masked to the input (1-D mask per tap).
  max: cells outside the input are ignored (never win), so pads and ceil-mode overhang need
       no -inf padding.
  avg: the sum is over cells inside the input; the divisor counts the window's cells inside
       [0, H) x [0, W), or with count_include_pad inside [-pt, H + pb) x [-pl, W + pr): pads
       count, the ceil-mode overhang past the pads never does (ONNX, and the reference's _counts).
The output may be a channel slice of a wider NHWC tensor (a concat output): pixel stride and
channel offset are arguments, like conv2d's.

global_pool: (N, H, W, C) -> (N, C); a program per (image, channel tile) loops over H*W in chunks
of BLOCK_HW rows, accumulating a [BLOCK_HW, BLOCK_C] fp32 tile reduced once at the end.

Tile constraints: every BLOCK_* a power of two (tl.arange).
"""

import triton
import triton.language as tl

from .window import _tap_rows, _window_origin


@triton.jit
def _pool2d_nhwc_kernel(
    x_ptr, y_ptr,
    P, C, H, W, OH, OW,
    stride_h, stride_w, pad_t, pad_l, dil_h, dil_w,
    # avg divisor extent: a cell counts when lo <= ih < hi (and likewise for iw)
    cnt_h_lo, cnt_h_hi, cnt_w_lo, cnt_w_hi,
    y_row_stride, y_ch_off,
    KH: tl.constexpr, KW: tl.constexpr, IS_MAX: tl.constexpr,
    BLOCK_P: tl.constexpr, BLOCK_C: tl.constexpr,
):
    pid_p = tl.program_id(0)
    pid_c = tl.program_id(1)
    offs_p = pid_p * BLOCK_P + tl.arange(0, BLOCK_P)
    offs_c = pid_c * BLOCK_C + tl.arange(0, BLOCK_C)
    p_ok = offs_p < P
    c_ok = offs_c < C

    n, ih0, iw0 = _window_origin(offs_p, OH, OW, stride_h, stride_w, pad_t, pad_l)
    x_img = n.to(tl.int64) * H * W * C               # int64: big batches overflow int32

    if IS_MAX:
        acc = tl.full((BLOCK_P, BLOCK_C), float("-inf"), dtype=tl.float32)
    else:
        acc = tl.zeros((BLOCK_P, BLOCK_C), dtype=tl.float32)
        cnt = tl.zeros((BLOCK_P,), dtype=tl.float32)
    # Rows of taps a runtime loop, taps within a row unrolled (as in dwconv.py: a fully unrolled
    # window lets the scheduler hoist every tap's tile load, costly in registers).
    for kh in range(KH):
        ih = ih0 + kh * dil_h
        h_ok = p_ok & (ih >= 0) & (ih < H)
        for kw in tl.static_range(KW):
            iw = iw0 + kw * dil_w
            row, row_ok = _tap_rows(x_img, ih, iw, h_ok, W, C)
            ok = row_ok[:, None] & c_ok[None, :]
            if IS_MAX:
                v = tl.load(x_ptr + row[:, None] + offs_c[None, :], mask=ok,
                            other=float("-inf"))
                acc = tl.maximum(acc, v.to(tl.float32))
            else:
                v = tl.load(x_ptr + row[:, None] + offs_c[None, :], mask=ok, other=0.0)
                acc += v.to(tl.float32)
                counted = ((ih >= cnt_h_lo) & (ih < cnt_h_hi) & (iw >= cnt_w_lo)
                           & (iw < cnt_w_hi))
                cnt += counted.to(tl.float32)
    if not IS_MAX:
        # max(cnt, 1): a window with no counted cell (impossible in ONNX) gives 0, not NaN
        acc = acc / tl.maximum(cnt, 1.0)[:, None]
    y_off = offs_p.to(tl.int64)[:, None] * y_row_stride + (y_ch_off + offs_c)[None, :]
    tl.store(y_ptr + y_off, acc.to(y_ptr.dtype.element_ty), mask=p_ok[:, None] & c_ok[None, :])


@triton.jit
def _global_pool_nhwc_kernel(
    x_ptr, y_ptr, HW, C, rows_per_split, scale,
    IS_MAX: tl.constexpr, BLOCK_HW: tl.constexpr, BLOCK_C: tl.constexpr,
):
    """Program (n, channel block, s) reduces rows [s * rows_per_split, (s + 1) * rows_per_split)
    of image n's (HW, C) pixels and stores the result (times `scale` for avg) at row
    n * num_splits + s of y (C floats a row). One split: y is the (N, C) output; more: y is an
    fp32 (N, splits, C) buffer of partials, reduced by a second launch of this kernel."""
    n = tl.program_id(0)
    offs_c = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
    split = tl.program_id(2)
    c_ok = offs_c < C
    base = x_ptr + n.to(tl.int64) * HW * C
    r_lo = split * rows_per_split
    r_hi = tl.minimum(r_lo + rows_per_split, HW)
    if IS_MAX:
        acc = tl.full((BLOCK_HW, BLOCK_C), float("-inf"), dtype=tl.float32)
    else:
        acc = tl.zeros((BLOCK_HW, BLOCK_C), dtype=tl.float32)
    for r0 in range(r_lo, r_hi, BLOCK_HW):
        rows = r0 + tl.arange(0, BLOCK_HW)
        ok = (rows < r_hi)[:, None] & c_ok[None, :]
        off = rows.to(tl.int64)[:, None] * C + offs_c[None, :]
        if IS_MAX:
            acc = tl.maximum(acc, tl.load(base + off, mask=ok, other=float("-inf")).to(tl.float32))
        else:
            acc += tl.load(base + off, mask=ok, other=0.0).to(tl.float32)
    if IS_MAX:
        res = tl.max(acc, axis=0)
    else:
        res = tl.sum(acc, axis=0) * scale
    y_row = n.to(tl.int64) * tl.num_programs(2) + split
    tl.store(y_ptr + y_row * C + offs_c, res.to(y_ptr.dtype.element_ty), mask=c_ok)


def pool2d(x_nhwc, *, kind, kernel_size, stride, pads, dilation=(1, 1), count_include_pad=False,
           out_hw=None, out=None, out_channel_offset=0, block_p=64, block_c=64, num_warps=8,
           num_stages=3):
    """Launch a max or average pool. Returns the output (N, OH, OW, C) (or `out` when given).
    Each argument is checked and turned into kernel arguments by pool2d_launch_args.

    x_nhwc       (N, H, W, C) input (made contiguous).
    kind         "max" or "avg".
    kernel_size  (KH, KW).
    stride       (sh, sw).
    pads         (top, left, bottom, right), ONNX's order.
    dilation     (dh, dw).
    count_include_pad
                 avg only: the divisor counts pad cells (never the ceil-mode overhang past them).
    out_hw       (OH, OW) or None (floor mode). ceil_mode: the caller's resolved output size
                 (cnnrt.ir.ops.resolve_window); windows may then hang past the bottom/right pad.
    out          None (a new dense tensor) or an (N, OH, OW, Ctot) NHWC tensor, channels
                 contiguous and pixels evenly strided (a concat output).
    out_channel_offset
                 first channel of `out` written (the slice is [off, off + C)).
    block_p/c    tile: output pixels x channels (powers of two).
    num_warps, num_stages
                 Triton launch options (ignored by the interpreter).
    """
    out, grid, args, meta = pool2d_launch_args(
        x_nhwc, kind=kind, kernel_size=kernel_size, stride=stride, pads=pads, dilation=dilation,
        count_include_pad=count_include_pad, out_hw=out_hw, out=out,
        out_channel_offset=out_channel_offset, block_p=block_p, block_c=block_c,
        num_warps=num_warps, num_stages=num_stages)
    _pool2d_nhwc_kernel[grid](*args, **meta)
    return out


def pool2d_launch_args(x_nhwc, *, kind, kernel_size, stride, pads, dilation, count_include_pad,
                       out_hw, out, out_channel_offset, block_p, block_c, num_warps, num_stages=3):
    """Checks pool2d's arguments (same meaning) and returns (out, grid, args, meta): the kernel is
    launched as _pool2d_nhwc_kernel[grid](*args, **meta) (also what the AOT test compiles)."""
    import torch

    if kind not in ("max", "avg"):
        raise ValueError(f"pool2d: kind must be 'max' or 'avg', got {kind!r}")
    if x_nhwc.dim() != 4:
        raise ValueError(f"pool2d: x must be NHWC 4-D, got {tuple(x_nhwc.shape)}")
    N, H, W, C = x_nhwc.shape
    KH, KW = kernel_size
    sh, sw = stride
    dh, dw = dilation
    pt, pl, pb, pr = pads
    if out_hw is None:
        out_hw = ((H + pt + pb - dh * (KH - 1) - 1) // sh + 1,
                  (W + pl + pr - dw * (KW - 1) - 1) // sw + 1)
    OH, OW = out_hw
    if OH < 1 or OW < 1 or (OH - 1) * sh >= H + pt or (OW - 1) * sw >= W + pl:
        raise ValueError(f"pool2d: out_hw {tuple(out_hw)} impossible for input {H}x{W}, window "
                         f"{tuple(kernel_size)}, stride {tuple(stride)}, pads {tuple(pads)} "
                         "(every window must start inside the input or its leading pad)")
    x_nhwc = x_nhwc.contiguous()
    if out is None:
        out = torch.empty((N, OH, OW, C), dtype=x_nhwc.dtype, device=x_nhwc.device)
        if out_channel_offset:
            raise ValueError("pool2d: out_channel_offset needs `out`")
    if (tuple(out.shape[:3]) != (N, OH, OW) or out.stride(3) != 1
            or out_channel_offset < 0 or out_channel_offset + C > out.shape[3]):
        raise ValueError(f"pool2d: out {tuple(out.shape)} cannot hold (N,OH,OW)=({N},{OH},{OW}) "
                         f"channels [{out_channel_offset}, {out_channel_offset + C})")
    y_row = out.stride(2)
    if out.stride(1) != OW * y_row or out.stride(0) != OH * OW * y_row:
        raise ValueError("pool2d: out pixels must be evenly strided (stride(2) * pixels)")
    if count_include_pad:
        cnt = (-pt, H + pb, -pl, W + pr)
    else:
        cnt = (0, H, 0, W)
    P = N * OH * OW
    grid = (triton.cdiv(P, block_p), triton.cdiv(C, block_c))
    args = (x_nhwc, out, P, C, H, W, OH, OW, sh, sw, pt, pl, dh, dw, *cnt,
            y_row, out_channel_offset)
    meta = dict(KH=KH, KW=KW, IS_MAX=kind == "max", BLOCK_P=block_p, BLOCK_C=block_c,
                num_warps=num_warps, num_stages=num_stages)
    return out, grid, args, meta


def global_pool(x_nhwc, *, kind="avg", out=None, block_hw=32, block_c=128, num_warps=4,
                num_stages=3, splits=None):
    """Global average or max pool. Returns (N, C) contiguous (or `out` when given).

    x_nhwc       (N, H, W, C) input (made contiguous).
    kind         "avg" or "max"; accumulated in fp32.
    out          None or a contiguous (N, C) tensor.
    block_hw/c   tile: pixel rows per step x channels (powers of two).
    num_warps, num_stages
                 Triton launch options (ignored by the interpreter).
    splits       programs per (image, channel block) that share its rows; None picks enough to
                 fill the GPU (EfficientNet-B7's squeezes: 16 images x 1 channel block of 90,000
                 pixels were 16 programs). More than one adds a second launch over the partials.
    """
    out, launches = global_pool_launch_args(x_nhwc, kind=kind, out=out, block_hw=block_hw,
                                            block_c=block_c, num_warps=num_warps,
                                            num_stages=num_stages, splits=splits)
    for grid, args, meta in launches:
        _global_pool_nhwc_kernel[grid](*args, **meta)
    return out


# global_pool's automatic split: about this many programs, each with at least this many rows
_TARGET_PROGRAMS = 512
_MIN_SPLIT_ROWS = 256


def global_pool_launch_args(x_nhwc, *, kind, out, block_hw, block_c, num_warps, num_stages=3,
                            splits=None):
    """Checks global_pool's arguments and returns (out, [(grid, args, meta), ...]): the launches
    of _global_pool_nhwc_kernel, in order."""
    import torch

    if kind not in ("max", "avg"):
        raise ValueError(f"global_pool: kind must be 'max' or 'avg', got {kind!r}")
    if x_nhwc.dim() != 4:
        raise ValueError(f"global_pool: x must be NHWC 4-D, got {tuple(x_nhwc.shape)}")
    N, H, W, C = x_nhwc.shape
    x_nhwc = x_nhwc.contiguous()
    if out is None:
        out = torch.empty((N, C), dtype=x_nhwc.dtype, device=x_nhwc.device)
    if tuple(out.shape) != (N, C) or not out.is_contiguous():
        raise ValueError(f"global_pool: out {tuple(out.shape)} must be a contiguous "
                         f"(N, C)=({N}, {C})")
    HW, cblocks = H * W, triton.cdiv(C, block_c)
    if splits is None:
        splits = min(triton.cdiv(HW, _MIN_SPLIT_ROWS),
                     max(1, _TARGET_PROGRAMS // (N * cblocks)))
    if splits < 1:
        raise ValueError(f"global_pool: splits must be >= 1, got {splits}")
    rows = triton.cdiv(HW, splits)
    splits = triton.cdiv(HW, rows)  # no empty split
    meta = dict(IS_MAX=kind == "max", BLOCK_HW=block_hw, BLOCK_C=block_c, num_warps=num_warps,
                num_stages=num_stages)
    if splits == 1:
        return out, [((N, cblocks, 1), (x_nhwc, out, HW, C, HW, 1.0 / HW), meta)]
    part = torch.empty((N, splits, C), dtype=torch.float32, device=x_nhwc.device)
    return out, [((N, cblocks, splits), (x_nhwc, part, HW, C, rows, 1.0), meta),
                 ((N, cblocks, 1), (part, out, splits, C, splits, 1.0 / HW), meta)]


# Shipped tiles: pool2d (block_p, block_c, num_warps); global_pool (block_hw, block_c, num_warps).
# Compiled for sm_90 by tests/triton/test_aot_sm90.py.
# 4096-element pool2d tiles take 8 warps: with 4, fp32 needs 155..164 registers a thread.
CONFIGS = {"pool2d": [(64, 64, 8), (32, 128, 8)], "global_pool": [(32, 128, 4), (16, 256, 8)]}

# Representative launches for the sm_90 compile check: ResNet's 3x3/2 max pool (ceil-mode output
# size, as ONNX models from Caffe have it), an Inception 3x3/1 avg pool with count_include_pad
# writing a concat slice, and EfficientNet-B7's global pool (C=2560).
_AOT_POOLS = {
    "max3x3s2_ceil_c64_112": dict(kind="max", n=1, h=112, w=112, c=64, k=(3, 3), s=(2, 2),
                                  pads=(0, 0, 0, 0), out_hw=(56, 56), inc=False, ctot=64),
    "avg3x3s1_incpad_c192_35_slice": dict(kind="avg", n=2, h=35, w=35, c=192, k=(3, 3),
                                          s=(1, 1), pads=(1, 1, 1, 1), out_hw=None, inc=True,
                                          ctot=288, off=96),
}


def aot_cases():
    """{case id: () -> (jit kernel, args, meta)}: each shipped tile on the launches above, fp16 and
    fp32 (pool2d) and avg/max in fp16 (global pool, C=2560, in one launch and split in two)."""
    import torch

    def pool_case(dtype, cfg, L):
        bp, bc, warps = cfg
        dt = getattr(torch, dtype)
        x = torch.empty(L["n"], L["h"], L["w"], L["c"], dtype=dt)
        oh, ow = L["out_hw"] or (L["h"], L["w"])
        out = torch.empty(L["n"], oh, ow, L["ctot"], dtype=dt)
        _, _, args, meta = pool2d_launch_args(
            x, kind=L["kind"], kernel_size=L["k"], stride=L["s"], pads=L["pads"],
            dilation=(1, 1), count_include_pad=L["inc"], out_hw=L["out_hw"], out=out,
            out_channel_offset=L.get("off", 0), block_p=bp, block_c=bc, num_warps=warps)
        return _pool2d_nhwc_kernel, args, meta

    def global_case(kind, cfg, splits, stage):
        bhw, bc, warps = cfg
        x = torch.empty(2, 19, 19, 2560, dtype=torch.float16)
        _, launches = global_pool_launch_args(x, kind=kind, out=None, block_hw=bhw,
                                              block_c=bc, num_warps=warps, splits=splits)
        _, args, meta = launches[stage]
        return _global_pool_nhwc_kernel, args, meta

    cases = {f"{dtype}-{'x'.join(map(str, cfg))}-{name}":
             (lambda d=dtype, c=cfg, L=L: pool_case(d, c, L))
             for dtype in ("float16", "float32") for cfg in CONFIGS["pool2d"]
             for name, L in _AOT_POOLS.items()}
    # one launch, and the two launches of a split: fp16 pixels -> fp32 partials -> fp16 result
    for name, splits, stage in (("", 1, 0), ("_split_partials", 4, 0), ("_split_finish", 4, 1)):
        cases.update({f"float16-{'x'.join(map(str, cfg))}-global_{kind}_c2560{name}":
                      (lambda k=kind, c=cfg, s=splits, i=stage: global_case(k, c, s, i))
                      for kind in ("avg", "max") for cfg in CONFIGS["global_pool"]})
    return cases
