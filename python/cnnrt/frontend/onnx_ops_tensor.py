"""Converters for data-movement and shape ops: Reshape, Flatten, Transpose, Concat, Split, Pad,
Squeeze/Unsqueeze, Slice, Gather, Shape, Constant, ConstantOfShape, Cast, Identity, ReduceMean.

Where an old opset carried a tensor as an attribute and a newer one takes it as an input
(Reshape's shape, Split's sizes, Slice's starts/ends, Pad's pads, axes of Squeeze & co.), the
old form is turned into a constant input, so the cnnrt op has a single form.
"""

from __future__ import annotations

import numpy as np
import onnx

from .onnx_context import np_dtype_name
from .onnx_registry import OnnxOpConverter, converter


def _i64(ctx, values, hint):
    return ctx.constant(np.asarray(values, dtype=np.int64), hint)


@converter("Identity")
class Identity(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return [ctx.emit1("identity", [node.input(0)])]


@converter("Constant")
class Constant(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        a = node.attrs
        if "value" in a:
            return [ctx.constant(a["value"], "value")]
        for key, dtype in (("value_float", np.float32), ("value_floats", np.float32),
                           ("value_int", np.int64), ("value_ints", np.int64)):
            if key in a:
                return [ctx.constant(np.asarray(a[key], dtype), key)]
        ctx.unsupported(f"attribute(s) {sorted(a)} (only value, value_float(s), value_int(s))")


@converter("ConstantOfShape")
class ConstantOfShape(OnnxOpConverter):
    @classmethod
    def _impl_v9(cls, ctx, node):
        value = node.attr("value")
        attrs = {}
        if value is not None:  # a 1-element tensor; kept as a numpy scalar so its dtype survives
            attrs["value"] = np.asarray(value).reshape(-1)[0]
        return [ctx.emit1("constant_of_shape", [node.input(0)], attrs)]


@converter("Shape")
class Shape(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        attrs = {}
        if node.attr("start") is not None:
            attrs["start"] = int(node.attr("start"))
        if node.attr("end") is not None:
            attrs["end"] = int(node.attr("end"))
        return [ctx.emit1("shape", [node.input(0)], attrs)]


@converter("Gather")
class Gather(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return [ctx.emit1("gather", node.inputs[:2], {"axis": int(node.attr("axis", 0))})]


_CASTABLE = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
             "float16", "float32", "float64"}


@converter("Cast")
class Cast(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        to = node.attr("to")
        if isinstance(to, str):  # opsets 1-5 name the type ("FLOAT")
            to = onnx.TensorProto.DataType.Value(to.upper())
        name = np_dtype_name(int(to))
        if name not in _CASTABLE:
            ctx.unsupported(f"cast to {name}")
        return [ctx.emit1("cast", [node.input(0)], {"to": name})]


@converter("Reshape")
class Reshape(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):  # target shape as an attribute
        return [ctx.emit1("reshape", [node.input(0), _i64(ctx, node.attr("shape"), "shape")])]

    @classmethod
    def _impl_v5(cls, ctx, node):
        attrs = {"allowzero": 1} if node.attr("allowzero", 0) else {}
        return [ctx.emit1("reshape", node.inputs[:2], attrs)]


@converter("Flatten")
class Flatten(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return [ctx.emit1("flatten", [node.input(0)], {"axis": int(node.attr("axis", 1))})]


@converter("Transpose")
class Transpose(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        perm = node.attr("perm")
        return [ctx.emit1("transpose", [node.input(0)], {"perm": list(perm) if perm else None})]


@converter("Concat")
class Concat(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):  # axis defaulted to 1 before opset 4
        ins = [v for v in node.inputs if v is not None]
        return [ctx.emit1("concat", ins, {"axis": int(node.attr("axis", 1))})]


@converter("Split")
class Split(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):  # sizes as attribute `split` or as a second input
        sizes = node.input(1)
        if sizes is None and node.attr("split"):
            sizes = _i64(ctx, node.attr("split"), "split")
        return cls._emit(ctx, node, sizes)

    @classmethod
    def _impl_v2(cls, ctx, node):
        sizes = _i64(ctx, node.attr("split"), "split") if node.attr("split") else None
        return cls._emit(ctx, node, sizes)

    @classmethod
    def _impl_v13(cls, ctx, node):  # sizes as an input; from 18 `num_outputs` = len(outputs)
        return cls._emit(ctx, node, node.input(1))

    @staticmethod
    def _emit(ctx, node, sizes):
        ins = [node.input(0)] + ([sizes] if sizes is not None else [])
        return ctx.emit("split", ins, {"axis": int(node.attr("axis", 0))}, n_out=len(node.output_names))


@converter("Slice")
class Slice(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):  # starts/ends/axes as attributes
        ins = [node.input(0), _i64(ctx, node.attr("starts"), "starts"), _i64(ctx, node.attr("ends"), "ends")]
        if node.attr("axes") is not None:
            ins.append(_i64(ctx, node.attr("axes"), "axes"))
        return [ctx.emit1("slice", ins)]

    @classmethod
    def _impl_v10(cls, ctx, node):
        return [ctx.emit1("slice", node.inputs[:5])]


@converter("Pad")
class Pad(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):  # attribute `paddings` (renamed `pads` in opset 2)
        return cls._attr_form(ctx, node, node.attr("paddings"))

    @classmethod
    def _impl_v2(cls, ctx, node):
        return cls._attr_form(ctx, node, node.attr("pads"))

    @classmethod
    def _impl_v11(cls, ctx, node):  # pads, constant_value (and from 18 axes) as inputs
        return cls._emit(ctx, node, node.inputs[:4])

    @classmethod
    def _attr_form(cls, ctx, node, pads):
        value = ctx.constant(np.float32(node.attr("value", 0.0)), "value")
        return cls._emit(ctx, node, [node.input(0), _i64(ctx, pads, "pads"), value])

    @staticmethod
    def _emit(ctx, node, inputs):
        mode = node.attr("mode", "constant")
        if mode not in ("constant", "reflect", "edge"):
            ctx.unsupported(f"pad mode {mode!r}")
        return [ctx.emit1("pad", inputs, {"mode": mode})]


class _AxesOp(OnnxOpConverter):
    """Ops whose `axes` moved from an attribute to an optional input (Squeeze/Unsqueeze at 13)."""
    op = ""

    @classmethod
    def _impl_v1(cls, ctx, node):
        axes = node.attr("axes")
        return [ctx.emit1(cls.op, [node.input(0)], {"axes": list(axes)} if axes is not None else {})]

    @classmethod
    def _impl_v13(cls, ctx, node):
        return [ctx.emit1(cls.op, node.inputs[:2])]


@converter("Squeeze")
class Squeeze(_AxesOp):
    op = "squeeze"


@converter("Unsqueeze")
class Unsqueeze(_AxesOp):
    op = "unsqueeze"


@converter("ReduceMean")
class ReduceMean(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        attrs = {"keepdims": int(node.attr("keepdims", 1))}
        if node.attr("axes") is not None:
            attrs["axes"] = list(node.attr("axes"))
        return [ctx.emit1("reduce_mean", [node.input(0)], attrs)]

    @classmethod
    def _impl_v18(cls, ctx, node):  # axes as an input
        attrs = {"keepdims": int(node.attr("keepdims", 1)),
                 "noop_with_empty_axes": int(node.attr("noop_with_empty_axes", 0))}
        return [ctx.emit1("reduce_mean", node.inputs[:2], attrs)]
