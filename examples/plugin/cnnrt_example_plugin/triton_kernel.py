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


BLOCK = 1024


def launch_args(x, groups, y):
    """(grid, args, meta) of one launch: shared by channel_shuffle and the sm_90 compile check."""
    n, c, h, w = x.shape
    return (triton.cdiv(x.numel(), BLOCK),), (x, y, x.numel(), c, h * w), {"GROUPS": groups,
                                                                           "BLOCK": BLOCK}


def channel_shuffle(x, groups):
    """x: a contiguous float32 (N, C, H, W) tensor on the device; returns the shuffled copy."""
    y = torch.empty_like(x)
    grid, args, meta = launch_args(x, groups, y)
    _channel_shuffle[grid](*args, **meta)
    return y


def aot_cases():
    """{case id: () -> (jit kernel, args, meta)} for cnnrt's sm_90 compile test (ShuffleNet's
    shuffle of 116 channels in 2 groups at 28x28)."""
    def case():
        x = torch.empty(1, 116, 28, 28)
        _, args, meta = launch_args(x, 2, torch.empty_like(x))
        return _channel_shuffle, args, {**meta, "num_warps": 4, "num_stages": 3}  # the JIT defaults
    return {"float32-groups2_c116_28": case}
