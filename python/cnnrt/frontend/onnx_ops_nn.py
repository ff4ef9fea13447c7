"""Converters for the network layers: Conv, BatchNormalization, pools, LRN, Gemm, MatMul,
Softmax, Dropout."""

from __future__ import annotations

import numpy as np

from .onnx_registry import OnnxOpConverter, converter


def _spatial_rank(node, weight_index=None):
    """The number of spatial axes the node works on, from whatever the node says about it."""
    for key in ("kernel_shape", "strides", "dilations"):
        if node.attr(key) is not None:
            return len(node.attr(key))
    if node.attr("pads") is not None:
        return len(node.attr("pads")) // 2
    w = node.input(weight_index) if weight_index is not None else None
    if w is not None and w.const is not None:
        return w.const.ndim - 2
    x = node.input(0)
    return len(x.shape) - 2 if x is not None and x.shape is not None else None


def _require_2d(ctx, node, weight_index=None):
    rank = _spatial_rank(node, weight_index)
    if rank is not None and rank != 2:
        ctx.unsupported(f"only 2-D windows are supported, this one is {rank}-D")


def _window_attrs(node, *, dilations=True):
    a = {"strides": list(node.attr("strides", [1, 1])), "pads": list(node.attr("pads", [0, 0, 0, 0])),
         "auto_pad": node.attr("auto_pad", "NOTSET") or "NOTSET"}
    if dilations:
        a["dilations"] = list(node.attr("dilations", [1, 1]))
    return a


def _only_first_output(ctx, node, what):
    for k, used in enumerate(node.used_outputs[1:], 1):
        if used:
            ctx.unsupported(f"output {k} ({node.output_names[k]!r}, {what}) is used")


@converter("Conv")
class Conv(OnnxOpConverter):
    """ONNX pads [x1_begin, x2_begin, x1_end, x2_end] are cnnrt's [top, left, bottom, right]."""

    @classmethod
    def _impl_v1(cls, ctx, node):
        _require_2d(ctx, node, 1)
        attrs = {**_window_attrs(node), "group": int(node.attr("group", 1))}
        return [ctx.emit1("conv", node.inputs[:3], attrs)]


@converter("BatchNormalization")
class BatchNormalization(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        # is_test (opsets 1-6) is ignored: exporters left it 0 in inference models too.
        if node.attr("spatial", 1) != 1:
            ctx.unsupported("spatial=0 (per-activation statistics)")
        if node.attr("training_mode", 0):
            ctx.unsupported("training_mode=1 (batch statistics); cnnrt does inference only")
        _only_first_output(ctx, node, "a training statistic")
        return [ctx.emit1("batch_norm", node.inputs[:5], {"epsilon": float(node.attr("epsilon", 1e-5))})]


def _kernel(ctx, node):
    k = node.attr("kernel_shape")
    if k is None or len(k) != 2:
        ctx.unsupported(f"only 2-D pooling is supported (kernel_shape {k})")
    return list(k)


@converter("MaxPool")
class MaxPool(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        k = _kernel(ctx, node)
        # storage_order only changes the Indices output, which is refused here
        _only_first_output(ctx, node, "argmax Indices")
        attrs = {"kernel": k, **_window_attrs(node), "ceil_mode": int(node.attr("ceil_mode", 0))}
        return [ctx.emit1("max_pool", [node.input(0)], attrs)]


@converter("AveragePool")
class AveragePool(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        k = _kernel(ctx, node)
        if any(d != 1 for d in node.attr("dilations", [1, 1])):
            ctx.unsupported("dilated average pooling")
        attrs = {"kernel": k, **_window_attrs(node, dilations=False),
                 "ceil_mode": int(node.attr("ceil_mode", 0)),
                 "count_include_pad": int(node.attr("count_include_pad", 0))}
        return [ctx.emit1("avg_pool", [node.input(0)], attrs)]


@converter("GlobalAveragePool")
class GlobalAveragePool(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return [ctx.emit1("global_avg_pool", [node.input(0)])]


@converter("GlobalMaxPool")
class GlobalMaxPool(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return [ctx.emit1("global_max_pool", [node.input(0)])]


@converter("LRN")
class LRN(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        attrs = {"size": int(node.attr("size")), "alpha": float(node.attr("alpha", 1e-4)),
                 "beta": float(node.attr("beta", 0.75)), "bias": float(node.attr("bias", 1.0))}
        return [ctx.emit1("lrn", [node.input(0)], attrs)]


@converter("MatMul")
class MatMul(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        return [ctx.emit1("matmul", node.inputs[:2])]


@converter("Gemm")
class Gemm(OnnxOpConverter):
    """Y = alpha * A' . B' + beta * C.

    With a constant 2-D B this becomes cnnrt gemm with W = alpha * B' laid out (M, K) (new arrays
    made at import; the initializer is never touched) and beta * C folded into the bias when C
    is per-output (M), (1, M) or a scalar. Otherwise: matmul, then binary mul/add nodes.
    """

    @classmethod
    def _impl_v1(cls, ctx, node):
        a, b, c = node.input(0), node.input(1), node.input(2)
        alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
        if node.attr("transA", 0):
            a = ctx.emit1("transpose", [a], {"perm": [1, 0]})
        trans_b = bool(node.attr("transB", 0))
        if b.const is not None and b.const.ndim == 2:
            y, m, folded = cls._as_gemm(ctx, a, b, c, alpha, beta, trans_b)
            if folded:
                return [y]
        else:
            if trans_b:
                b = ctx.emit1("transpose", [b], {"perm": [1, 0]})
            y = ctx.emit1("matmul", [a, b])
            if alpha != 1.0:
                y = ctx.emit1("binary", [y, ctx.constant(np.float32(alpha), "alpha")], {"kind": "mul"})
        if c is not None and beta != 0.0:
            y = ctx.emit1("binary", [y, cls._scaled(ctx, c, beta)], {"kind": "add"})
        return [y]

    @classmethod
    def _as_gemm(cls, ctx, a, b, c, alpha, beta, trans_b):
        """Emits gemm; returns (Y, M, whether C is already in it as the bias)."""
        w_arr = b.const if trans_b else b.const.T
        if alpha == 1.0 and trans_b:
            w = b  # already (M, K): share the initializer
        else:
            w = ctx.constant(np.ascontiguousarray(w_arr * np.asarray(alpha, w_arr.dtype)), "W")
        m = w_arr.shape[0]
        bias = None
        cc = c.const if c is not None else None
        if cc is not None and (cc.size == 1 or cc.shape in ((m,), (1, m))):
            if beta == 1.0 and cc.shape == (m,):
                bias = c
            else:
                bias = ctx.constant(np.broadcast_to(cc.reshape(-1) * np.asarray(beta, cc.dtype), (m,)), "B")
        elif c is None or beta == 0.0:
            return ctx.emit1("gemm", [a, w]), m, True
        if bias is None:
            return ctx.emit1("gemm", [a, w]), m, False
        return ctx.emit1("gemm", [a, w, bias]), m, True

    @staticmethod
    def _scaled(ctx, c, beta):
        if beta == 1.0:
            return c
        if c.const is not None:
            return ctx.constant(c.const * np.asarray(beta, c.const.dtype), "C")
        return ctx.emit1("binary", [c, ctx.constant(np.float32(beta), "beta")], {"kind": "mul"})


@converter("Softmax")
class Softmax(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):  # opset < 13: the input is seen as 2-D, split before `axis`
        return [ctx.emit1("softmax", [node.input(0)], {"axis": int(node.attr("axis", 1)), "coerce_2d": 1})]

    @classmethod
    def _impl_v13(cls, ctx, node):
        return [ctx.emit1("softmax", [node.input(0)], {"axis": int(node.attr("axis", -1))})]


@converter("Dropout")
class Dropout(OnnxOpConverter):
    @classmethod
    def _impl_v1(cls, ctx, node):
        # is_test (opsets 1-6) is ignored: inference is the only mode cnnrt has
        _only_first_output(ctx, node, "the dropout mask")
        return [ctx.emit1("dropout", [node.input(0)])]

    @classmethod
    def _impl_v12(cls, ctx, node):  # ratio and training_mode became inputs
        training = ctx.const(node.input(2), "training_mode", np.array(False))
        if bool(np.asarray(training).ravel()[0]):
            ctx.unsupported("training_mode=True (random dropout)")
        return cls._impl_v1(ctx, node)
