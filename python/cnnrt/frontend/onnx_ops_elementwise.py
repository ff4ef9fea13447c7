"""Converters for elementwise ONNX ops: activations, Clip, and the (variadic) binary ops."""

from __future__ import annotations

import math

import numpy as np

from .onnx_registry import OnnxOpConverter, converter


def _act(ctx, node, act, alpha=0.0, beta=0.0):
    return [ctx.emit1("activation", [node.input(0)], {"act": act, "alpha": float(alpha), "beta": float(beta)})]


@converter("Relu")
class Relu(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return _act(ctx, node, "relu")


@converter("LeakyRelu")
class LeakyRelu(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return _act(ctx, node, "leaky_relu", node.attr("alpha", 0.01))


@converter("Sigmoid")
class Sigmoid(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return _act(ctx, node, "sigmoid")


@converter("Tanh")
class Tanh(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return _act(ctx, node, "tanh")


@converter("HardSigmoid")
class HardSigmoid(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return _act(ctx, node, "hard_sigmoid", node.attr("alpha", 0.2), node.attr("beta", 0.5))


@converter("HardSwish")
class HardSwish(OnnxOpConverter):
    @classmethod
    def _impl_v14(cls, ctx, node):
        return _act(ctx, node, "hard_swish")


@converter("Clip")
class Clip(OnnxOpConverter):
    """act clip with alpha=min, beta=max (an absent bound is -inf/+inf); Clip(0, 6) is ReLU6."""

    @classmethod
    def _impl_v1(cls, ctx, node):  # bounds as attributes
        return _act(ctx, node, "clip", node.attr("min", -math.inf), node.attr("max", math.inf))

    @classmethod
    def _impl_v11(cls, ctx, node):  # bounds as optional inputs, constant at import
        lo = ctx.const(node.input(1), "min", np.array(-np.inf))
        hi = ctx.const(node.input(2), "max", np.array(np.inf))
        if lo.size != 1 or hi.size != 1:
            ctx.unsupported("min and max must be scalars")
        return _act(ctx, node, "clip", float(lo.ravel()[0]), float(hi.ravel()[0]))


def _legacy_broadcast(ctx, node, b):
    """Opset < 7 binary ops: with broadcast=1 and `axis`, B lines up with A starting at axis.

    numpy aligns trailing dims instead, so B gets trailing 1-dims (needs A's rank, taken from
    ONNX shape inference). Without `axis` the legacy rule is numpy's suffix alignment.
    """
    if not node.attr("broadcast", 0) or node.attr("axis") is None:
        return b
    a = node.input(0)
    rank_a = ctx.rank_of(a)
    rank_b = b.const.ndim if b.const is not None else ctx.rank_of(b)
    if rank_a is None or rank_b is None:
        ctx.unsupported("legacy broadcast with `axis` needs the ranks of both inputs, which ONNX "
                        "shape inference could not determine")
    axis = node.attr("axis") % rank_a if rank_a else 0
    trailing = rank_a - axis - rank_b
    if trailing < 0:
        ctx.unsupported(f"legacy broadcast axis {axis} does not fit ranks {rank_a} and {rank_b}")
    if trailing == 0:
        return b
    if b.const is not None:
        return ctx.constant(b.const.reshape(b.const.shape + (1,) * trailing), "B")
    return ctx.emit1("unsqueeze", [b], {"axes": list(range(rank_b, rank_b + trailing))})


class _Binary(OnnxOpConverter):
    kind = ""

    @classmethod
    def _impl_v1(cls, ctx, node):
        b = _legacy_broadcast(ctx, node, node.input(1))
        return [ctx.emit1("binary", [node.input(0), b], {"kind": cls.kind})]

    @classmethod
    def _impl_v7(cls, ctx, node):  # numpy-style multidirectional broadcasting from opset 7
        return [ctx.emit1("binary", [node.input(0), node.input(1)], {"kind": cls.kind})]


for _op, _kind in [("Add", "add"), ("Sub", "sub"), ("Mul", "mul"), ("Div", "div"), ("Pow", "pow")]:
    converter(_op)(type(_op, (_Binary,), {"kind": _kind, "__doc__": f"ONNX {_op} -> binary {_kind}."}))


class _Variadic(OnnxOpConverter):
    """Max/Min/Sum over any number of inputs: a left-to-right chain of binary nodes."""
    kind = ""

    @classmethod
    def _impl_v1(cls, ctx, node):
        ins = [v for v in node.inputs if v is not None]
        if not ins:
            ctx.unsupported("no inputs")
        if len(ins) == 1:
            return [ctx.emit1("identity", ins)]
        acc = ins[0]
        for v in ins[1:]:
            acc = ctx.emit1("binary", [acc, v], {"kind": cls.kind})
        return [acc]


for _op, _kind in [("Max", "max"), ("Min", "min"), ("Sum", "add")]:
    converter(_op)(type(_op, (_Variadic,), {"kind": _kind, "__doc__": f"ONNX {_op} -> chain of binary {_kind}."}))
