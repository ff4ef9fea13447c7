"""Where the time goes: per-op-class totals of cnnrt (CNNRT_PROFILE=1) next to onnxruntime's
profiler, batch 1, same thread count, same process, runs alternating in blocks.

    python benchmarks/profile_ops.py [--models mobilenet_v2,efficientnet_lite0] [--threads 2]
                                     [--runs 200] [--steps]

Classes: stem (the first conv, 3 input channels), 1x1 (pointwise GEMM convs), dw (depthwise),
conv (other convs), fc (Gemm/MatMul), other (pooling, adds, reorders, softmax...). The times
are per-step (per-node) medians over the runs, in microseconds; "sum" is the sum of the classes (not the wall time:
onnxruntime's per-node events exclude its framework overhead, cnnrt's include the thread pool
hand-off of each step).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import tempfile
import time

os.environ["CNNRT_PROFILE"] = "1"  # before any Plan is compiled

import numpy as np

WARMUP, BLOCK = 5, 10
CLASSES = ("stem", "1x1", "dw", "conv", "fc", "other")


def conv_class(w_shape, in_channels, group):
    m, cg, kh, kw = w_shape
    if in_channels == 3 and group == 1:
        return "stem"
    if group > 1 and group == in_channels:
        return "dw"
    return "1x1" if kh == kw == 1 else "conv"


def input_shape(path):
    """Batch 1 at the model's own declared size (EfficientNet-B7: 600 px), 224 px if dynamic."""
    import onnx

    dims = onnx.load(path, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    shape = [d.dim_value if d.dim_value > 0 else 0 for d in dims]
    return (1, *[s or 224 for s in shape[1:]]) if len(shape) == 4 else (1, 3, 224, 224)


def cnnrt_session(path, threads, x):
    """(run, per-step rows, step_times) for cnnrt's compiled plan of the model."""
    import cnnrt

    m = cnnrt.load(path, num_threads=threads)
    ex = m.compiled({m.graph.inputs[0].name: tuple(x.shape)})
    nodes = {n.name: n for n in ex.graph.nodes}
    rows = []
    for name, kernel in ex.report["kernels"].items():
        n = nodes.get(name)
        if n is not None and n.op == "conv":
            w = n.inputs[1].shape
            cls = conv_class(w, n.inputs[0].shape[1], n.attrs.get("group", 1))
            desc = f"{list(n.inputs[0].shape[1:])} k{w[2]} s{n.attrs['strides'][0]} -> {w[0]}"
            flops = 2 * int(np.prod(n.outputs[0].shape)) * int(np.prod(w[1:]))
        else:
            cls = "fc" if n is not None and n.op in ("gemm", "matmul") else "other"
            desc = n.op if n is not None else name
            flops = 2 * int(np.prod(n.inputs[1].shape)) if cls == "fc" else 0
        rows.append((name, kernel, cls, desc, flops))
    return lambda: ex.plan.run([x]), rows, ex.plan.step_times


def ort_session(path, threads, x):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.enable_profiling = True
    # onnxruntime's pool threads otherwise keep spinning long after its runs and take a core
    # from cnnrt's next block (cnnrt measured 14 ms instead of 9 ms right after them).
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    iname = sess.get_inputs()[0].name
    return lambda: sess.run(None, {iname: x}), sess


def ort_classes(sess, skip):
    """Median per node over the runs after the first `skip`, summed per class (seconds)."""
    with open(sess.end_profiling()) as f:
        events = json.load(f)
    durs = collections.defaultdict(list)
    cls_of = {}
    for e in events:
        if e.get("cat") != "Node" or not e["name"].endswith("_kernel_time"):
            continue
        a = e["args"]
        op = a.get("op_name", "")
        shapes = [list(s.values())[0] for s in a.get("input_type_shape", [])]
        if "Conv" in op and len(shapes) >= 2:
            w, c_in = shapes[1], shapes[0][1]
            cls = conv_class(w, c_in, c_in // w[1] if w[1] else 1)
        elif op in ("Gemm", "MatMul", "FusedGemm"):
            cls = "fc"
        else:
            cls = "other"
        cls_of[e["name"]] = cls
        durs[e["name"]].append(e["dur"] * 1e-6)
    tot = collections.defaultdict(float)
    nodes = []
    for name, d in durs.items():
        t = statistics.median(d[skip:] or d)
        tot[cls_of[name]] += t
        nodes.append((name[: -len("_kernel_time")], cls_of[name], t))
    return tot, nodes


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="mobilenet_v2,efficientnet_lite0")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=200)
    p.add_argument("--steps", action="store_true", help="also print every cnnrt step")
    p.add_argument("--ort-steps", action="store_true", help="also print every onnxruntime node")
    args = p.parse_args(argv)
    from cnnrt.cli import resolve_model

    for name in args.models.split(","):
        path = resolve_model(name)
        x = np.random.default_rng().standard_normal(input_shape(path)).astype(np.float32)
        c_run, rows, c_times = cnnrt_session(path, args.threads, x)
        o_run, sess = ort_session(path, args.threads, x)
        for _ in range(WARMUP):
            c_run(), o_run()
        # Blocks alternate between the runtimes (noise hits both alike); medians per step.
        c_steps, c_wall, o_wall = [], [], []
        prev = np.array(c_times())
        for _ in range(max(1, args.runs // BLOCK)):
            for _ in range(BLOCK):
                t = time.perf_counter(); c_run(); c_wall.append(time.perf_counter() - t)
                now = np.array(c_times())
                c_steps.append(now - prev)
                prev = now
            for _ in range(BLOCK):
                t = time.perf_counter(); o_run(); o_wall.append(time.perf_counter() - t)
        per = np.median(np.array(c_steps), axis=0)
        o_tot, o_nodes = ort_classes(sess, WARMUP)
        c_wall, o_wall = statistics.median(c_wall), statistics.median(o_wall)
        rows = [r + (t,) for r, t in zip(rows, per)]
        c_tot = collections.defaultdict(float)
        for r in rows:
            c_tot[r[2]] += r[-1]
        print(f"\n{name}, {args.threads} threads, {args.runs} runs: median wall cnnrt "
              f"{c_wall*1e3:.2f} ms, onnxruntime {o_wall*1e3:.2f} ms (profiling on)")
        print(f"{'class':<8} {'cnnrt us':>9} {'ort us':>9} {'ratio':>6}")
        for cls in CLASSES:
            c, o = c_tot.get(cls, 0.0) * 1e6, o_tot.get(cls, 0.0) * 1e6
            print(f"{cls:<8} {c:9.0f} {o:9.0f} {c / o if o else float('nan'):6.2f}")
        cs, os_ = sum(c_tot.values()) * 1e6, sum(o_tot.values()) * 1e6
        print(f"{'sum':<8} {cs:9.0f} {os_:9.0f} {cs / os_:6.2f}")
        if args.steps:
            for step, kernel, cls, desc, flops, sec in rows:
                gf = flops / sec * 1e-9 if sec > 0 else 0.0
                print(f"  {sec*1e6:8.1f} us {gf:6.1f} GF/s  {cls:<5} {desc:<28} {kernel:<28} {step}")
        if args.ort_steps:
            for node, cls, sec in o_nodes:
                print(f"  ort {sec*1e6:8.1f} us  {cls:<5} {node}")


if __name__ == "__main__":
    main()
