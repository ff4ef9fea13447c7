"""Test helpers: build ONNX models, run them on onnxruntime (the oracle) and on cnnrt, compare.

run_cnnrt uses `cnnrt.load` when it exists; before it did, a local pipeline stood in for it
(import -> bind shapes -> infer + fold node by node -> ReferenceBackend), kept as
`run_fallback` so the frontend and the reference kernels can be tested without the passes.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import cnnrt

BACKENDS = ("reference", "cpu")
DEFAULT_OPSET = 17


def require_backend(backend: str) -> None:
    """Skips the test when `backend` is not wired up (or not built) in this checkout."""
    if not hasattr(cnnrt, "load"):
        if backend != "reference":
            pytest.skip(f"{backend} backend not available yet")
        return
    names = cnnrt.backends() if hasattr(cnnrt, "backends") else []
    if backend not in names:
        pytest.skip(f"{backend} backend not available yet")
    if not cnnrt.get_backend(backend).available():
        pytest.skip(f"{backend} backend not available on this machine (not built?)")


# --- models --------------------------------------------------------------------------------

def make_model(nodes, inputs, outputs, initializers=(), opset=DEFAULT_OPSET, ir_version=None,
               check=True) -> onnx.ModelProto:
    """nodes: NodeProtos; inputs/outputs: ValueInfoProtos or (name, shape[, elem_type]) tuples
    (elem_type defaults to FLOAT; shape None = unknown); initializers: TensorProtos or
    {name: ndarray}."""
    def vi(x):
        if isinstance(x, onnx.ValueInfoProto):
            return x
        name, shape, *t = x
        return helper.make_tensor_value_info(name, t[0] if t else onnx.TensorProto.FLOAT, shape)

    if isinstance(initializers, dict):
        initializers = [onnx.numpy_helper.from_array(np.asarray(a), n) for n, a in initializers.items()]
    outs = [vi(o) for o in outputs]
    graph = helper.make_graph(list(nodes), "test", [vi(i) for i in inputs], outs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    _type_outputs(model)
    if ir_version is None:  # the lowest IR version that can carry this opset, so ORT accepts it
        ir_version = 3 if opset <= 8 else min(onnx.helper.find_min_ir_version_for(
            [helper.make_opsetid("", opset)]), 10)
    model.ir_version = ir_version
    if ir_version < 4:  # IR 3 requires every initializer to be listed as a graph input too
        listed = {i.name for i in model.graph.input}
        for t in model.graph.initializer:
            if t.name not in listed:
                model.graph.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    if check:
        onnx.checker.check_model(model)
    return model


def _type_outputs(model):
    """Outputs declared without a shape get the type ONNX shape inference gives them (the
    checker insists on one); where inference cannot tell, the rank is left unknown-but-typed."""
    if all(o.type.tensor_type.HasField("shape") for o in model.graph.output):
        return
    try:
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True).graph
    except Exception:  # noqa: BLE001 - then the outputs keep what they have
        return
    known = {v.name: v for v in [*inferred.value_info, *inferred.output]
             if v.type.tensor_type.HasField("shape")}
    for o in model.graph.output:
        if not o.type.tensor_type.HasField("shape") and o.name in known:
            o.type.CopyFrom(known[o.name].type)


def random_input(shape, rng, dtype=np.float32) -> np.ndarray:
    """Normal data (never all zeros: the draw is redrawn until it has a non-zero element)."""
    while True:
        x = rng.standard_normal(shape).astype(dtype)
        if x.size == 0 or np.any(x != 0):
            return x


# --- runners -------------------------------------------------------------------------------

def run_ort(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    """onnxruntime on CPU, graph optimizations off, one thread: the oracle."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def run_onnx_reference(model: onnx.ModelProto, feeds: dict) -> list[np.ndarray]:
    """onnx.reference: the oracle for what onnxruntime lacks."""
    from onnx.reference import ReferenceEvaluator
    return list(ReferenceEvaluator(model).run(None, feeds))


def run_cnnrt(model, feeds: dict, backend: str = "reference", optimize: bool = True) -> list[np.ndarray]:
    """cnnrt's outputs in the model's graph-output order."""
    if not hasattr(cnnrt, "load"):
        return run_fallback(model, feeds)
    m = cnnrt.load(model, backend=backend, optimize=optimize)
    out = m.run(feeds)
    if isinstance(out, dict):
        return [out[name] for name in m.outputs]
    return list(out)


def run_fallback(model, feeds: dict) -> list[np.ndarray]:
    """The minimal pipeline without the passes: import, bind, infer + fold in order, reference."""
    from cnnrt.backends.reference import ReferenceBackend, evaluate
    from cnnrt.frontend.onnx import import_onnx
    from cnnrt.ir.ops import infer_node

    g = import_onnx(model)
    for v in g.inputs:
        v.shape = tuple(np.asarray(feeds[v.name]).shape)
    kept = []
    for n in g.nodes:
        infer_node(n)
        # a Shape node only needs its input's (now concrete) shape: fold it too
        if n.op == "shape" or all(v is None or v.is_const for v in n.inputs):
            ins = [None if v is None else v.const if v.is_const else np.empty(v.shape, v.dtype) for v in n.inputs]
            outs = evaluate(n, ins)
            for v, a in zip(n.outputs, outs):
                v.const = np.asarray(a)
            continue
        kept.append(n)
    g.nodes = kept
    exe = ReferenceBackend().compile(g)
    return exe.run([np.asarray(feeds[v.name]) for v in g.inputs])


# --- comparison ----------------------------------------------------------------------------

def assert_close(ours, ref, rtol: float = 1e-4, what: str = "") -> None:
    """max|ours - ref| / max(max|ref|, tiny) <= rtol; shapes must match, nothing may be NaN/inf,
    and an all-zero reference proves nothing, so it fails too."""
    ours, ref = np.asarray(ours), np.asarray(ref)
    tag = f"{what}: " if what else ""
    assert ours.shape == ref.shape, f"{tag}shape {ours.shape} != reference {ref.shape}"
    assert np.all(np.isfinite(ref)), f"{tag}reference has NaN/inf"
    assert np.all(np.isfinite(ours)), f"{tag}result has NaN/inf"
    if ref.size == 0:
        return
    if ref.dtype == bool or ours.dtype == bool:
        assert np.array_equal(ours, ref), f"{tag}boolean results differ"
        return
    scale = float(np.max(np.abs(ref.astype(np.float64))))
    assert scale > 0, f"{tag}reference is all zeros: the test proves nothing"
    err = float(np.max(np.abs(ours.astype(np.float64) - ref.astype(np.float64)))) / max(scale, 1e-30)
    assert err <= rtol, f"{tag}relative error {err:.3g} > {rtol:g} (max|ref| = {scale:.3g})"


def check_model(model, feeds: dict, backend: str, optimize: bool = True, rtol: float = 1e-4,
                oracle=run_ort) -> list[np.ndarray]:
    """Runs `model` on cnnrt (`backend`) and on the oracle and compares every output."""
    require_backend(backend)
    ref = oracle(model, feeds)
    ours = run_cnnrt(model, feeds, backend, optimize)
    assert len(ours) == len(ref), f"{len(ours)} outputs, reference has {len(ref)}"
    for i, (o, r) in enumerate(zip(ours, ref)):
        assert_close(o, r, rtol, what=f"output {i}")
        assert np.asarray(o).dtype == np.asarray(r).dtype, f"output {i}: dtype {o.dtype} != {r.dtype}"
    return ours


def single_op(op_type, input_shapes, attrs=None, *, rng, initializers=None, opset=DEFAULT_OPSET,
              n_outputs=1, input_names=None, extra_inputs=()):
    """A one-node model: runtime inputs x0, x1, ... of the given shapes (float), then the names in
    extra_inputs (initializers, or "" for an absent optional input). Returns (model, feeds)."""
    names = input_names or [f"x{i}" for i in range(len(input_shapes))]
    outs = [f"y{i}" for i in range(n_outputs)]
    node = helper.make_node(op_type, [*names, *extra_inputs], outs, name=f"{op_type}_node", **(attrs or {}))
    model = make_model([node], [(n, list(s)) for n, s in zip(names, input_shapes)],
                       [(o, None) for o in outs], initializers or {}, opset)
    feeds = {n: random_input(s, rng) for n, s in zip(names, input_shapes)}
    return model, feeds
