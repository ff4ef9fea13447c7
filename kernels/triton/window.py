"""Sliding-window geometry the conv and pool kernels share."""

import triton
import triton.language as tl


@triton.jit
def _window_origin(offs_p, OH, OW, stride_h, stride_w, pad_t, pad_l):
    """Output pixel index (n, oh, ow flattened) -> its image n and the input row and column of
    its window's top-left tap (negative inside the leading padding)."""
    ow = offs_p % OW
    t = offs_p // OW
    oh = t % OH
    n = t // OH
    return n, oh * stride_h - pad_t, ow * stride_w - pad_l


@triton.jit
def _tap_rows(x_img, ih, iw, h_ok, W, row_stride):
    """One tap of every pixel of a tile: the element offset of its input pixel's channels
    (int64) and whether that pixel exists (h_ok: the tile's pixels whose row ih is inside)."""
    ok = h_ok & (iw >= 0) & (iw < W)
    return x_img + ((ih * W + iw) * row_stride).to(tl.int64), ok
