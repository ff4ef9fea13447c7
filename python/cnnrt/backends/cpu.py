"""The `cpu` backend: lowers an optimized graph onto the C++ engine's steps (engine/STEPS.md).

Lowering is attribute translation only; the engine packs weights, plans memory and picks
kernels by CPUID at compile time.
"""

from __future__ import annotations

import numpy as np

from ..errors import BackendError, InputError, PluginError, UnsupportedOpError
from ..ir import Graph, Node, Value
from ..ir.ops import pad_amounts, reduce_axes, slice_params
from .base import Backend, CompileOptions, Executable, check_fp32_only

ACT_KEYS = ("act", "alpha", "beta", "post_act", "post_alpha", "post_beta")
RESHAPES = ("reshape", "flatten", "squeeze", "unsqueeze")
COPIES = ("identity", "dropout", "cast")


def _engine():
    try:
        from .. import _engine
    except ImportError as e:  # a source checkout without the built extension
        raise BackendError(f"the cpu backend's C++ extension cnnrt._engine is not built ({e}); "
                           "install the package with `pip install .`") from e
    return _engine


def _epilogue(a: dict) -> dict:
    return {k: (str(a[k]) if k.endswith("act") else float(a[k])) for k in ACT_KEYS if k in a}


def _step(n: Node) -> tuple[str, list[int], dict]:
    """(engine op, which node inputs to pass, attrs) for one IR node."""
    a, op = n.attrs, n.op
    if "::" in op:  # a custom op: its C++ kernel, else its numpy kernel, in a plugin step
        return "plugin", list(range(len(n.inputs))), {**a, "plugin_kernel": _plugin_kernel(op)}
    if op == "conv":
        return "conv", [0, 1, 2, 3], {"strides": list(a.get("strides", [1, 1])), "pads": list(a.get("pads", [0] * 4)),
                                      "dilations": list(a.get("dilations", [1, 1])), "group": int(a.get("group", 1)),
                                      **_epilogue(a)}
    if op == "gemm":
        return "gemm", [0, 1, 2, 3], _epilogue(a)
    if op == "matmul":
        return "matmul", [0, 1], {}
    if op == "activation":
        return "activation", [0], _epilogue(a)
    if op == "binary":
        return "binary", [0, 1], {"kind": a["kind"], **_epilogue(a)}
    if op == "batch_norm":
        return "batch_norm", [0, 1, 2, 3, 4], {"epsilon": float(a.get("epsilon", 1e-5))}
    if op in ("max_pool", "avg_pool"):
        attrs = {"kernel": list(a["kernel"]), "strides": list(a.get("strides", [1, 1])),
                 "pads": list(a.get("pads", [0] * 4))}
        if op == "max_pool":
            attrs["dilations"] = list(a.get("dilations", [1, 1]))
        else:
            attrs["count_include_pad"] = int(a.get("count_include_pad", 0))
        return op, [0], attrs
    if op in ("global_avg_pool", "global_max_pool"):
        return op, [0], {}
    if op == "reduce_mean":
        return "reduce_mean", [0], {"axes": reduce_axes(n), "keepdims": int(a.get("keepdims", 1))}
    if op == "lrn":
        return "lrn", [0], {"size": int(a["size"]), "alpha": float(a.get("alpha", 1e-4)),
                            "beta": float(a.get("beta", 0.75)), "bias": float(a.get("bias", 1.0))}
    if op == "softmax":
        return "softmax", [0], {"axis": int(a.get("axis", -1)) % len(n.inputs[0].shape)}
    if op in RESHAPES:
        return "reshape", [0], {}
    if op == "transpose":
        return "transpose", [0], {"perm": list(a["perm"])}
    if op == "concat":
        return "concat", list(range(len(n.inputs))), {"axis": int(a["axis"]) % len(n.outputs[0].shape),
                                                      "inplace": int(a.get("inplace", 0))}
    if op == "split":
        return "split", [0], {"axis": int(a.get("axis", 0)) % len(n.inputs[0].shape), "sizes": list(a["sizes"])}
    if op == "slice":
        starts, steps, _ = slice_params(n)
        return "slice", [0], {"starts": starts, "steps": steps}
    if op == "pad":
        value = n.input(2)
        return "pad", [0], {"pads": pad_amounts(n), "mode": a.get("mode", "constant"),
                            "value": float(value.const.ravel()[0]) if value is not None and value.const.size else 0.0}
    if op == "gather":
        axis = int(a.get("axis", 0)) % len(n.inputs[0].shape)
        idx = np.asarray(n.inputs[1].const, dtype=np.int64)
        idx = np.where(idx < 0, idx + n.inputs[0].shape[axis], idx)
        return "gather", [0], {"axis": axis, "indices": idx.ravel().tolist(), "indices_shape": list(idx.shape)}
    if op in COPIES:
        return "copy", [0], {}
    raise UnsupportedOpError(f"node {n.name!r}: op {op!r} has no cpu kernel")


def _plugin_kernel(op: str) -> str:
    """The engine's kernel name for custom op `op` (its numpy kernel is registered on demand)."""
    from ..plugins.custom_ops import custom_op
    from ..plugins.kernels import engine_callback
    c = custom_op(op)
    if c.cpp_library:
        return op
    name = op + "/numpy"
    _engine().register_python_kernel(name, engine_callback(c))
    return name


class CpuExecutable(Executable):
    def __init__(self, graph: Graph, plan, vids: dict[int, int], report: dict, step_nodes=()):
        self.graph, self.plan, self.report = graph, plan, report
        self.step_nodes = list(step_nodes)  # the graph node each engine step was lowered from
        self._in_ids = [id(v) for v in graph.inputs]
        self._vids = vids

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self._run(inputs, None)

    def run_into(self, inputs: list[np.ndarray], outputs: list[np.ndarray]) -> None:
        self._run(inputs, outputs)

    def _run(self, inputs, outputs) -> list[np.ndarray]:
        """outputs: None (new arrays) or the caller's arrays, which the engine fills in place."""
        # outputs that are constants or graph inputs never pass through the engine
        by_id = dict(zip(self._in_ids, inputs))
        direct = [v.is_const or id(v) in by_id for v in self.graph.outputs]
        engine_outs = None if outputs is None else [o for o, d in zip(outputs, direct) if not d]
        try:
            outs = self.plan.run(inputs, engine_outs)
        except ValueError as e:
            raise InputError(f"{self.graph.source}: {e}") from None
        except RuntimeError as e:  # a kernel failed while running (a plugin's error status)
            raise PluginError(f"{self.graph.source}: {e}") from None
        result, it = [], iter(outs)
        for i, v in enumerate(self.graph.outputs):
            if not direct[i]:
                result.append(next(it))
                continue
            value = v.const if v.is_const else by_id[id(v)]
            if outputs is None:
                result.append(np.array(value, dtype=np.float32 if not v.is_const else None))
            else:
                np.copyto(outputs[i], value)
                result.append(outputs[i])
        return result


class CpuBackend(Backend):
    name = "cpu"
    devices = ("cpu",)
    owns_weights = True  # the engine shares each array until packed (fc: for good)

    def available(self) -> bool:
        try:
            _engine()
            return True
        except BackendError:
            return False

    def supports(self, node: Node) -> bool:
        if node.op in ("shape", "constant_of_shape"):
            return False
        if "::" in node.op:  # a custom op: a C++ or numpy kernel
            from ..plugins.custom_ops import custom_op
            c = custom_op(node.op)
            if c is None or not (c.cpp_library or c.numpy):
                return False
            if not all(_engine_attr(v) for v in node.attrs.values()):
                return False  # e.g. a list of strings: the engine's attributes cannot carry it
        if node.op in ("conv", "gemm") and not node.inputs[1].is_const:
            return False
        return all(v is None or v.dtype == "float32" or i in _static_inputs(node)
                   for i, v in enumerate([*node.inputs, *node.outputs]))

    def compile(self, graph: Graph, options: CompileOptions, *, record: bool = False) -> CpuExecutable:
        """record=True: the executable's `record` lists every Plan call (for Model.save)."""
        check_fp32_only("cpu", graph, options)
        eng = _engine()
        plan = _RecordingPlan(eng.Plan(), record)
        vids: dict[int, int] = {}

        def vid(v: Value) -> int:
            if id(v) not in vids:
                vids[id(v)] = len(vids)
                if v.is_const:
                    plan.add_constant(vids[id(v)], np.ascontiguousarray(v.const, dtype=np.float32))
                else:
                    plan.add_value(vids[id(v)], [int(d) for d in v.shape])
            return vids[id(v)]

        for v in graph.inputs:
            if v.dtype != "float32":
                raise UnsupportedOpError(f"{graph.source}: input {v.name!r} has dtype {v.dtype}; "
                                         "the cpu backend runs float32 models")
            vid(v)
        for n in graph.nodes:
            if not self.supports(n):
                why = ("it has no C++ or numpy kernel" if "::" in n.op
                       else "non-float32 data or non-constant weights")
                raise UnsupportedOpError(f"{graph.source}: node {n.name!r} (op {n.op}, from "
                                         f"{', '.join(n.origin) or 'the model'}) cannot run on the cpu "
                                         f"backend ({why})")
            plan.node = n
            if n.op == "softmax" and n.attrs.get("coerce_2d"):
                _lower_softmax_2d(plan, n, vid, vids)
                continue
            op, which, attrs = _step(n)
            ins = [vid(n.inputs[i]) if i < len(n.inputs) and n.inputs[i] is not None else -1 for i in which]
            while ins and ins[-1] == -1 and op not in ("conv", "gemm"):
                ins.pop()
            plan.add_step(op, ins, [vid(v) for v in n.outputs], attrs, n.name)
        engine_outs = [v for v in graph.outputs if not v.is_const and v not in graph.inputs]
        plan.set_io([vids[id(v)] for v in graph.inputs], [vid(v) for v in engine_outs])
        for v in graph.values():  # the engine shares every weight array now: drop this graph's
            if v.is_const and not graph.is_output(v):  # references, so that an array only it
                v.const = None                          # held (BN-folded) dies once packed
        try:
            plan.compile(int(options.num_threads), options.isa)
        except ValueError as e:
            raise BackendError(f"{graph.source}: {e}") from None
        report = {"backend": "cpu", "isa": plan.isa, "num_threads": plan.num_threads,
                  "arena_bytes": plan.arena_bytes, "naive_bytes": plan.naive_bytes,
                  "kernels": dict(zip(plan.step_names, plan.step_kernels()))}
        exe = CpuExecutable(graph, plan._plan, vids, report, plan.step_nodes)
        exe.record = plan.calls
        return exe


class _RecordingPlan:
    """The engine's Plan, remembering each step's name (for the compile report) and the graph
    node being lowered (`node`, for profiles); with record=True, every call that built it too
    (what a .cnnrt file stores: cnnrt/model_file.py)."""

    def __init__(self, plan, record: bool = False):
        self._plan, self.step_names, self.step_nodes, self.node = plan, [], [], None
        self.calls: list[tuple] | None = [] if record else None

    def _log(self, *call):
        if self.calls is not None:
            self.calls.append(call)

    def add_value(self, vid, shape):
        self._log("add_value", vid, list(shape))
        self._plan.add_value(vid, shape)

    def add_constant(self, vid, array):
        self._log("add_constant", vid, array)
        self._plan.add_constant(vid, array)

    def add_step(self, op, ins, outs, attrs, name):
        self.step_names.append(name)
        self.step_nodes.append(self.node)
        self._log("add_step", op, list(ins), list(outs), dict(attrs), name)
        self._plan.add_step(op, ins, outs, attrs, name)

    def set_io(self, ins, outs):
        self._log("set_io", list(ins), list(outs))
        self._plan.set_io(ins, outs)

    def __getattr__(self, attr):
        if self.__dict__.get("calls") is not None and attr.startswith(("add_", "set_")):
            self.calls.append(("unrecorded", attr))  # a call a saved file would miss: refused there
        return getattr(self._plan, attr)


def _lower_softmax_2d(plan, n: Node, vid, vids: dict) -> None:
    """Opset < 13 softmax (over all axes from `axis` on, as one): reshape, softmax, reshape."""
    shape = n.inputs[0].shape
    axis = int(n.attrs.get("axis", 1)) % len(shape)
    flat = [int(np.prod(shape[:axis], dtype=np.int64)), int(np.prod(shape[axis:], dtype=np.int64))]
    a, b = len(vids), len(vids) + 1
    vids[-a - 1], vids[-b - 1] = a, b  # private keys: these two values exist only in the plan
    plan.add_value(a, flat)
    plan.add_value(b, flat)
    plan.add_step("reshape", [vid(n.inputs[0])], [a], {}, n.name + "/flatten")
    plan.add_step("softmax", [a], [b], {"axis": 1}, n.name)
    plan.add_step("reshape", [b], [vid(n.outputs[0])], {}, n.name + "/unflatten")


def _engine_attr(v) -> bool:
    """Whether the engine's step attributes can carry v: a number, a string, or a flat list of
    numbers (what engine/STEPS.md allows)."""
    number = (int, float, np.integer, np.floating)
    if isinstance(v, (str, *number)):
        return True
    if isinstance(v, np.ndarray):
        return v.ndim <= 1 and v.dtype.kind in "iuf"
    return isinstance(v, (list, tuple)) and all(isinstance(x, number) for x in v)


def _static_inputs(node: Node) -> tuple[int, ...]:
    from ..ir.ops import schema
    return schema(node.op).static
