"""ChannelShuffle in Triton, for cnnrt's triton backend (imported only when that backend runs it)."""

import torch
import triton
import triton.language as tl


@triton.jit
def _channel_shuffle(x_ptr, y_ptr, total, C, HW, GROUPS: tl.constexpr, BLOCK: tl.constexpr):
    # one program per BLOCK output elements: output channel j * GROUPS + g reads input channel
    # g * (C / GROUPS) + j of the same image and pixel
    o = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = o < total
    n = o // (C * HW)
    c_out = (o // HW) % C
    p = o % HW
    c_in = (c_out % GROUPS) * (C // GROUPS) + c_out // GROUPS
    tl.store(y_ptr + o, tl.load(x_ptr + n * C * HW + c_in * HW + p, mask=mask), mask=mask)


def channel_shuffle(x, groups):
    """x: a contiguous float32 (N, C, H, W) tensor on the device; returns the shuffled copy."""
    n, c, h, w = x.shape
    y = torch.empty_like(x)
    total, block = x.numel(), 1024
    _channel_shuffle[(triton.cdiv(total, block),)](x, y, total, c, h * w, GROUPS=groups, BLOCK=block)
    return y
