"""The converter table: one OnnxOpConverter subclass per ONNX op, versioned by opset.

A converter class has methods `_impl_v<N>(cls, ctx, node)`; for a model whose opset (of the op's
domain) is S, the method with the highest N <= S is used (as in TVM's and tinygrad's frontends).
Each returns the Values of the ONNX node's outputs, in order (trailing optional outputs that
nothing reads may be left off). `register_converter` adds converters for custom ops or other
domains, or replaces a built-in one.
"""

from __future__ import annotations

import re
from typing import Callable

_IMPL = re.compile(r"^_impl_v(\d+)$")


class OnnxOpConverter:
    """Base class of the per-op converters."""

    @classmethod
    def versions(cls) -> list[int]:
        return sorted(int(m.group(1)) for m in map(_IMPL.match, dir(cls)) if m)

    @classmethod
    def get_converter(cls, opset: int) -> Callable | None:
        """The `_impl_vN` for the highest N <= opset, or None when the op is newer than opset."""
        usable = [v for v in cls.versions() if v <= opset]
        return getattr(cls, f"_impl_v{usable[-1]}") if usable else None


# (domain, op_type) -> converter class; filled by the onnx_ops_* modules and register_converter.
CONVERTERS: dict[tuple[str, str], type[OnnxOpConverter] | Callable] = {}
DEFAULT_DOMAINS = ("", "ai.onnx")


def _norm_domain(domain: str) -> str:
    return "" if domain in DEFAULT_DOMAINS else domain


def converter(op_type: str, domain: str = ""):
    """Class decorator registering a built-in converter."""
    def reg(cls):
        CONVERTERS[(_norm_domain(domain), op_type)] = cls
        return cls
    return reg


def register_converter(op_type: str, conv, domain: str = "") -> None:
    """Registers a converter for `op_type` in `domain` (replacing any earlier one).

    `conv` is an OnnxOpConverter subclass (versioned `_impl_vN` methods) or a plain callable
    `conv(ctx, node) -> list[Value]` used at every opset. See onnx_context.ConvContext for what
    ctx offers (ctx.emit to add cnnrt nodes, ctx.const / ctx.constant for constants).
    """
    CONVERTERS[(_norm_domain(domain), op_type)] = conv


def find_converter(op_type: str, domain: str, opset: int) -> Callable | None:
    """The function converting (domain, op_type) at `opset`, or None if there is none."""
    conv = CONVERTERS.get((_norm_domain(domain), op_type))
    if conv is None:
        return None
    if isinstance(conv, type) and issubclass(conv, OnnxOpConverter):
        return conv.get_converter(opset)
    return conv
