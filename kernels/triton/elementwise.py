"""f32/f16/bf16 elementwise kernels: a broadcasting binary op with a fused activation, and a
standalone activation.

binary: y = act(a op b). The caller resolves broadcasting with .expand, so a and b both have the
output's shape (stride 0 on broadcast dims) and any strides (views welcome). The launcher pads
the shape to 4-D; the kernel walks the dense output in flat blocks, splits each flat index into
(i0, i1, i2, i3) and gathers each operand through its own strides. EfficientNet's squeeze-excite
scale x(N,H,W,C) * s(N,1,1,C) is the main use: s's strides are (C, 0, 0, 1), so its loads
repeat a C-long row that stays in L1.

activation: y = act(x) over a contiguous tensor, flat blocks.

Tile constraint: BLOCK a power of two (tl.arange).
"""

import triton
import triton.language as tl

from .activations import _act, act_args

# Binary op selector (a constexpr).
KINDS = {"add": 0, "sub": 1, "mul": 2, "div": 3, "max": 4, "min": 5}


@triton.jit
def _binary_kernel(
    a_ptr, b_ptr, y_ptr, numel,
    S1, S2, S3,                          # padded 4-D shape (S0 is implied by numel)
    sa0, sa1, sa2, sa3, sb0, sb1, sb2, sb3,
    alpha, beta,
    KIND: tl.constexpr, ACT: tl.constexpr,
    IDX64: tl.constexpr,  # int64 indices: only when an index or offset can pass 2**31
    BLOCK: tl.constexpr,
):
    # int32 index math unless needed: the div/mod split below is a slow emulated call in int64
    pid = tl.program_id(0)
    if IDX64:
        pid = pid.to(tl.int64)
    offs = pid * BLOCK + tl.arange(0, BLOCK)
    ok = offs < numel
    i3 = offs % S3
    t = offs // S3
    i2 = t % S2
    t = t // S2
    i1 = t % S1
    i0 = t // S1
    a = tl.load(a_ptr + i0 * sa0 + i1 * sa1 + i2 * sa2 + i3 * sa3, mask=ok, other=0.0)
    b = tl.load(b_ptr + i0 * sb0 + i1 * sb1 + i2 * sb2 + i3 * sb3, mask=ok, other=1.0)
    a = a.to(tl.float32)
    b = b.to(tl.float32)  # masked lanes read b = 1 so div does not make inf/NaN there
    if KIND == 0:
        y = a + b
    elif KIND == 1:
        y = a - b
    elif KIND == 2:
        y = a * b
    elif KIND == 3:
        y = a / b
    elif KIND == 4:
        y = tl.maximum(a, b)
    else:
        y = tl.minimum(a, b)
    y = _act(y, ACT, alpha, beta)
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=ok)


@triton.jit
def _activation_kernel(x_ptr, y_ptr, numel, alpha, beta, ACT: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    ok = offs < numel
    x = tl.load(x_ptr + offs, mask=ok, other=0.0).to(tl.float32)
    tl.store(y_ptr + offs, _act(x, ACT, alpha, beta).to(y_ptr.dtype.element_ty), mask=ok)


def binary(a, b, *, kind, act="none", out=None, block=1024, num_warps=4, num_stages=3):
    """y = act(a op b). Returns the output (contiguous, a's shape; or `out` when given).

    a, b         tensors of one shape (up to 4 dims) and dtype, any strides: broadcasting is
                 resolved by the caller with .expand (stride 0 on broadcast dims).
    kind         "add", "sub", "mul", "div", "max" or "min".
    act          name in activations.ACTS or "relu6", or (name, alpha, beta); see act_args.
    out          None (a new contiguous tensor) or a contiguous tensor of that shape.
    block        elements per program (a power of two).
    num_warps, num_stages
                 Triton launch options (ignored by the interpreter).
    """
    out, grid, args, meta = binary_launch_args(a, b, kind=kind, act=act, out=out, block=block,
                                               num_warps=num_warps, num_stages=num_stages)
    _binary_kernel[grid](*args, **meta)
    return out


def binary_launch_args(a, b, *, kind, act, out, block, num_warps, num_stages=3):
    """Checks binary's arguments and returns (out, grid, args, meta) for
    _binary_kernel[grid](*args, **meta) (also what the AOT test compiles)."""
    import torch

    if kind not in KINDS:
        raise ValueError(f"binary: unknown kind {kind!r}; known: {sorted(KINDS)}")
    if tuple(a.shape) != tuple(b.shape) or a.dim() > 4:
        raise ValueError(f"binary: a {tuple(a.shape)} and b {tuple(b.shape)} must have one shape "
                         "of at most 4 dims (expand b to broadcast)")
    if a.dtype != b.dtype:
        raise ValueError(f"binary: a is {a.dtype}, b is {b.dtype}; expected one dtype")
    if out is None:
        out = torch.empty(a.shape, dtype=a.dtype, device=a.device)
    if tuple(out.shape) != tuple(a.shape) or not out.is_contiguous():
        raise ValueError(f"binary: out {tuple(out.shape)} must be contiguous {tuple(a.shape)}")
    pad = 4 - a.dim()
    shape = (1,) * pad + tuple(a.shape)
    sa = (0,) * pad + tuple(a.stride())
    sb = (0,) * pad + tuple(b.stride())
    numel = out.numel()
    # largest index or element offset the kernel forms (+ one block of overshoot)
    reach = max(numel, *(sum((d - 1) * st for d, st in zip(shape, s)) for s in (sa, sb)))
    idx64 = reach + block >= 2**31
    act_sel, al, be = act_args(act)
    grid = (max(triton.cdiv(numel, block), 1),)
    args = (a, b, out, numel, shape[1], shape[2], shape[3], *sa, *sb, al, be)
    meta = dict(KIND=KINDS[kind], ACT=act_sel, IDX64=idx64, BLOCK=block, num_warps=num_warps,
                num_stages=num_stages)
    return out, grid, args, meta


def activation(x, *, act, out=None, block=1024, num_warps=4, num_stages=3):
    """y = act(x) elementwise. Returns a contiguous tensor of x's shape (or `out` when given).

    x            contiguous tensor, any shape.
    act          name in activations.ACTS or "relu6", or (name, alpha, beta); see act_args.
    out          None or a contiguous tensor of x's shape (may be x itself: in place).
    block        elements per program (a power of two).
    num_warps, num_stages
                 Triton launch options (ignored by the interpreter).
    """
    out, grid, args, meta = activation_launch_args(x, act=act, out=out, block=block,
                                                   num_warps=num_warps, num_stages=num_stages)
    _activation_kernel[grid](*args, **meta)
    return out


def activation_launch_args(x, *, act, out, block, num_warps, num_stages=3):
    """Checks activation's arguments and returns (out, grid, args, meta) for
    _activation_kernel[grid](*args, **meta)."""
    import torch

    if not x.is_contiguous():
        raise ValueError(f"activation: x {tuple(x.shape)} must be contiguous")
    if out is None:
        out = torch.empty_like(x)
    if tuple(out.shape) != tuple(x.shape) or not out.is_contiguous():
        raise ValueError(f"activation: out {tuple(out.shape)} must be contiguous "
                         f"{tuple(x.shape)}")
    act_sel, al, be = act_args(act)
    grid = (max(triton.cdiv(x.numel(), block), 1),)
    args = (x, out, x.numel(), al, be)
    meta = dict(ACT=act_sel, BLOCK=block, num_warps=num_warps, num_stages=num_stages)
    return out, grid, args, meta


# Shipped (block, num_warps), compiled for sm_90 by tests/triton/test_aot_sm90.py.
CONFIGS = [(1024, 4), (2048, 8)]


def aot_cases():
    """{case id: () -> (jit kernel, args, meta)}: EfficientNet-B0's squeeze-excite scale
    x(2,56,56,144) * s(2,1,1,144) in fp16 and a same-shape add + relu in fp32, each shipped
    config; hard_swish as a standalone activation in fp16."""
    import torch

    def se_case(cfg):
        block, warps = cfg
        x = torch.empty(2, 56, 56, 144, dtype=torch.float16)
        s = torch.empty(2, 1, 1, 144, dtype=torch.float16).expand(x.shape)
        _, _, args, meta = binary_launch_args(x, s, kind="mul", act="none", out=None,
                                              block=block, num_warps=warps)
        return _binary_kernel, args, meta

    def add_case(cfg):
        block, warps = cfg
        x = torch.empty(2, 28, 28, 40, dtype=torch.float32)
        _, _, args, meta = binary_launch_args(x, torch.empty_like(x), kind="add", act="relu",
                                              out=None, block=block, num_warps=warps)
        return _binary_kernel, args, meta

    def act_case(cfg):
        block, warps = cfg
        x = torch.empty(2, 56, 56, 144, dtype=torch.float16)
        _, _, args, meta = activation_launch_args(x, act="hard_swish", out=None, block=block,
                                                  num_warps=warps)
        return _activation_kernel, args, meta

    cases = {}
    for cfg in CONFIGS:
        tag = "x".join(map(str, cfg))
        cases[f"float16-{tag}-se_mul_n1c"] = lambda c=cfg: se_case(c)
        cases[f"float32-{tag}-add_relu"] = lambda c=cfg: add_case(c)
        cases[f"float16-{tag}-act_hard_swish"] = lambda c=cfg: act_case(c)
    return cases
