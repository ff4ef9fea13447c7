"""Custom ops: an ONNX (domain, op_type) that cnnrt runs with kernels given by a plugin.

`register_op` plugs a custom op into the places every built-in op goes through, so no stage
needs a special case: an op schema in ir/ops.py's SCHEMAS (shape inference and cost, so the
passes, accounting and summary see it), an ONNX converter in onnx_registry (attributes of the
ONNX node become the cnnrt node's attributes, which reach the kernels), and its kernels:

  numpy   a Python function kernel(*inputs, **attrs) -> array or tuple of arrays; the
          reference backend runs it, and the cpu backend calls it from a plugin step
  cpp     a kernel in a shared library, loaded by cnnrt.load_plugin(path) (plugins/library.py)
          under the name "domain::OpType"; the cpu backend's engine calls it directly
  triton  a launcher(*inputs, **attrs) on torch tensors, for the triton backend

The IR op name is "domain::OpType", the same name the C++ kernel registers under. Fusion passes
match only the built-in ops they know, so they never fuse across a custom op.
"""

from __future__ import annotations

import inspect
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Callable

import numpy as np

from ..errors import CnnrtError, PluginError, ShapeError
from ..ir import Node
from ..ir import ops as _ops

CUSTOM_OPS: dict[str, "CustomOp"] = {}  # "domain::OpType" -> its definition
_entry_points_loaded = False


@dataclass(eq=False)
class CustomOp:
    domain: str
    op_type: str
    shape: Callable | None = None    # (input shapes, attrs) -> shape or list of shapes
    cost: Callable | None = None     # (input shapes, output shapes, attrs) -> {"macs", "flops"}
    attrs: dict | None = None        # attribute defaults; None: any attribute is passed on
    weights: tuple = ()              # input indices counted as parameters when constant
    numpy: Callable | None = None
    triton: Callable | None = None
    source: str = "<unknown>"        # where register_op was called: file:line
    cpp_library: str | None = None   # the library with its C++ kernel (set by load_plugin)

    @property
    def name(self) -> str:
        return f"{self.domain}::{self.op_type}"

    def kernels(self) -> list[str]:
        """Which kernels it has: numpy, cpp, triton."""
        return [k for k, f in (("numpy", self.numpy), ("cpp", self.cpp_library),
                               ("triton", self.triton)) if f]

    def __call__(self, fn: Callable) -> Callable:
        """As a decorator: fn becomes the numpy kernel (returned unchanged)."""
        self.numpy = fn
        return fn

    def describe(self) -> str:
        return f"custom op {self.domain} {self.op_type} (registered at {self.source})"


def register_op(domain: str, op_type: str, *, shape: Callable | None = None,
                cost: Callable | None = None, attrs: dict | None = None, weights=(),
                numpy: Callable | None = None, triton: Callable | None = None,
                replace: bool = False) -> CustomOp:
    """Registers the ONNX op (domain, op_type) as a cnnrt custom op; returns its CustomOp.

    shape(input_shapes, attrs) -> the output shape, or a list of them (None: every output
    shaped like input 0); cost(input_shapes, output_shapes, attrs) -> {"macs": int, "flops": int}
    (None: no arithmetic, only bytes moved). attrs: defaults for the node's attributes (None:
    take whatever attributes the node has). weights: input indices that are parameters.
    Kernels: numpy=fn, or use the returned object as a decorator of the numpy kernel; a C++
    kernel comes from cnnrt.load_plugin; triton=launcher. Registering a name twice is an error
    unless replace=True."""
    if not isinstance(domain, str) or not isinstance(op_type, str) or not op_type:
        raise PluginError(f"register_op needs a domain and an op_type (strings), got "
                          f"{domain!r}, {op_type!r}")
    if domain in ("", "ai.onnx"):
        raise PluginError(f"register_op: {op_type!r} must live in a custom domain, not ONNX's "
                          "default one (built-in ops cannot be replaced this way)")
    caller = sys._getframe(1)  # where the plugin registers it, for every message about it
    op = CustomOp(domain, op_type, shape, cost, None if attrs is None else dict(attrs),
                  tuple(weights), numpy, triton, f"{caller.f_code.co_filename}:{caller.f_lineno}")
    old = CUSTOM_OPS.get(op.name)
    if old is not None and not replace:
        raise PluginError(f"custom op {domain} {op_type} is already registered (at {old.source}); "
                          f"registering it again at {op.source} needs replace=True")
    from . import library
    op.cpp_library = library.cpp_library_for(op.name)
    CUSTOM_OPS[op.name] = op
    _ops.SCHEMAS[op.name] = _schema(op)
    from ..frontend.onnx_registry import register_converter
    register_converter(op_type, _converter(op), domain)
    return op


def unregister_op(domain: str, op_type: str) -> None:
    """Forgets a custom op (its schema and converter too)."""
    from ..frontend.onnx_registry import CONVERTERS
    name = f"{domain}::{op_type}"
    CUSTOM_OPS.pop(name, None)
    _ops.SCHEMAS.pop(name, None)
    CONVERTERS.pop((domain, op_type), None)


def custom_op(name: str) -> CustomOp | None:
    """The custom op behind IR op `name` (None for a built-in op)."""
    return CUSTOM_OPS.get(name) if "::" in name else None


def load_entry_points() -> None:
    """Imports the `cnnrt.ops` entry points once: each names a module (importing it registers
    its ops) or a callable (called with no arguments)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for ep in metadata.entry_points(group="cnnrt.ops"):
        try:
            obj = ep.load()
            if callable(obj) and not inspect.ismodule(obj):
                obj()
        except CnnrtError:
            raise
        except Exception as e:  # noqa: BLE001 - a broken third-party package
            dist = f" (package {ep.dist.name})" if getattr(ep, "dist", None) else ""
            raise PluginError(f"the cnnrt.ops entry point {ep.name} = {ep.value}{dist} failed to "
                              f"load: {type(e).__name__}: {e}") from e


def unregistered_hint(domain: str, op_type: str) -> str:
    """What to do about a model's op of a custom domain that nobody registered."""
    from .library import cpp_library_for
    lib = cpp_library_for(f"{domain}::{op_type}")
    if lib:
        return (f"; a C++ kernel for it is loaded from {lib}, but the op itself (its shape "
                "function) is not registered: call cnnrt.register_op")
    return ("; register it with cnnrt.register_op, or install a package that provides it "
            "through the cnnrt.ops entry points")


# --- how the rest of cnnrt sees a custom op -------------------------------------------------

def _in_shapes(n: Node) -> list:
    return [None if v is None else tuple(v.shape) for v in n.inputs]


def _user_attrs(n: Node) -> dict:
    return dict(n.attrs)


def _call(op: CustomOp, what: str, fn: Callable, n: Node, *args):
    """Calls a plugin's function; what it raises comes back naming the node, the op and where
    it was registered (a cnnrt error keeps its type, anything else is a ShapeError)."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - the plugin's refusal (a cnnrt error) or its own bug
        shapes = ", ".join(str(s) for s in _in_shapes(n))
        kind = type(e) if isinstance(e, CnnrtError) else ShapeError
        raise kind(f"node {n.name!r} ({op.domain} {op.op_type}) with input shapes [{shapes}]: "
                   f"its {what} function {getattr(fn, '__qualname__', fn)!r} (registered at "
                   f"{op.source}) raised {type(e).__name__}: {e}") from e


def _infer(op: CustomOp) -> Callable:
    def infer(n: Node) -> list[tuple]:
        if op.shape is None:
            return [_ops._shape(n, 0)] * len(n.outputs)
        for i, v in enumerate(n.inputs):
            if v is not None:
                _ops._shape(n, i)  # known, or a ShapeError naming the node
        out = _call(op, "shape", op.shape, n, _in_shapes(n), _user_attrs(n))
        shapes = [out] if not out or isinstance(out[0], (int, np.integer)) else list(out)
        try:
            shapes = [tuple(int(d) for d in s) for s in shapes]
        except (TypeError, ValueError):
            shapes = None
        if not shapes or any(d < 0 for s in shapes for d in s):
            _ops._fail(n, f"the shape function of {op.describe()} returned {out!r}, not a shape "
                          "or a list of shapes")
        return shapes
    return infer


def _cost(op: CustomOp, key: str) -> Callable:
    def count(n: Node) -> int:
        if op.cost is None:
            return 0
        c = _call(op, "cost", op.cost, n, _in_shapes(n), [tuple(v.shape) for v in n.outputs],
                  _user_attrs(n))
        if not isinstance(c, dict):
            _ops._fail(n, f"the cost function of {op.describe()} returned {c!r}, not a dict "
                          "like {'macs': ..., 'flops': ...}")
        return int(c.get(key, 0))
    return count


def _schema(op: CustomOp) -> _ops.OpSchema:
    return _ops.OpSchema(op.name, ("X*",), dict(op.attrs or {}), _infer(op), (), _cost(op, "macs"),
                         _cost(op, "flops"), op.weights, lambda n: "float32", op.describe())


def _converter(op: CustomOp) -> Callable:
    def convert(ctx, node):
        attrs = dict(node.attrs)
        if op.attrs is not None:
            unknown = sorted(set(attrs) - set(op.attrs))
            if unknown:
                ctx.unsupported(f"unknown attribute(s) {unknown} for {op.describe()}, which takes "
                                f"{sorted(op.attrs)}")
            attrs = {**op.attrs, **attrs}
        n_out = max(1, len(node.output_names))
        return ctx.emit(op.name, list(node.inputs), attrs, n_out=n_out)
    return convert
