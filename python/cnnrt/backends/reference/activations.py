"""The activation functions of kernels/cpu/kernel_api.h, in float64 numpy."""

from __future__ import annotations

import numpy as np


def _sigmoid(x):
    # split by sign so exp never overflows
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


_ACTS = {
    "none": lambda x, a, b: x,
    "relu": lambda x, a, b: np.maximum(x, 0),
    "clip": lambda x, a, b: np.minimum(np.maximum(x, a), b),
    "leaky_relu": lambda x, a, b: np.where(x >= 0, x, a * x),
    "sigmoid": lambda x, a, b: _sigmoid(x),
    "silu": lambda x, a, b: x * _sigmoid(x),
    "tanh": lambda x, a, b: np.tanh(x),
    "hard_sigmoid": lambda x, a, b: np.maximum(0.0, np.minimum(1.0, a * x + b)),
    "hard_swish": lambda x, a, b: x * np.maximum(0.0, np.minimum(1.0, x / 6.0 + 0.5)),
}


def apply_act(x: np.ndarray, act: str, alpha: float = 0.0, beta: float = 0.0) -> np.ndarray:
    """act(x) computed in float64 for float input (integers stay integers for clip/relu)."""
    if act == "none":
        return x
    if act not in _ACTS:
        raise ValueError(f"unknown activation {act!r}")
    if x.dtype.kind in "iu" and act in ("relu", "clip"):  # integer Clip (opset 12+), exact
        info = np.iinfo(x.dtype)
        lo = 0 if act == "relu" else int(max(alpha, info.min))
        hi = info.max if act == "relu" else int(min(beta, info.max))
        return np.clip(x, lo, hi).astype(x.dtype)
    return _ACTS[act](x.astype(np.float64), float(alpha), float(beta)).astype(x.dtype)


def epilogue(acc: np.ndarray, bias, residual, attrs: dict, channel_axis: int = 1) -> np.ndarray:
    """conv/gemm epilogue on the float64 accumulator: post_act(act(acc + B) + R)."""
    if bias is not None:
        shape = [1] * acc.ndim
        shape[channel_axis] = -1
        acc = acc + bias.astype(np.float64).reshape(shape)
    acc = _ACTS[attrs["act"]](acc, float(attrs["alpha"]), float(attrs["beta"]))
    if residual is not None:
        acc = acc + residual.astype(np.float64)
        acc = _ACTS[attrs["post_act"]](acc, float(attrs["post_alpha"]), float(attrs["post_beta"]))
    return acc
