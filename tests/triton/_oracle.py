"""Float64 oracles the Triton kernel tests share: the IR's activations (torch), relative error."""

import torch

F = torch.nn.functional


def _ref_act(y, act):
    name, alpha, beta = (act + (0.0, 0.0))[:3] if isinstance(act, tuple) else (act, 0.0, 0.0)
    if name == "relu6":
        name, alpha, beta = "clip", 0.0, 6.0
    return {
        "none": lambda v: v,
        "relu": F.relu,
        "clip": lambda v: v.clamp(alpha, beta),
        "silu": lambda v: v * torch.sigmoid(v),
        "sigmoid": torch.sigmoid,
        "leaky_relu": lambda v: torch.where(v >= 0, v, alpha * v),
        "hard_swish": lambda v: v * (v + 3).clamp(0, 6) / 6,
        "tanh": torch.tanh,
        "hard_sigmoid": lambda v: (alpha * v + beta).clamp(0, 1),
    }[name](y)


def _rel_err(got, ref):
    return ((got.double() - ref).abs().max() / ref.abs().max().clamp_min(1e-30)).item()
