"""cnnrt vs onnxruntime latency, measured interleaved in one process, reported as a ratio.

    python benchmarks/compare_ort.py [--models efficientnet_lite0,mobilenet_v2] [--threads 2]
                                     [--batch 1] [--rounds 10] [--ort-spinning]

Each round runs a block of runs of each runtime in turn, so machine noise hits both alike; the
ratio is median(cnnrt) / median(onnxruntime) (< 1 means cnnrt is faster).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

BLOCK = 5


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--models", default="efficientnet_lite0,mobilenet_v2")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--ort-spinning", action="store_true", help="leave onnxruntime's spin-waiting on")
    args = p.parse_args(argv)

    import onnxruntime as ort

    import cnnrt
    from cnnrt.cli import resolve_model

    rows = []
    for name in args.models.split(","):
        path = resolve_model(name)
        m = cnnrt.load(path, num_threads=args.threads)
        so = ort.SessionOptions()
        so.intra_op_num_threads = args.threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if not args.ort_spinning:
            # onnxruntime's workers otherwise spin for milliseconds after each run, holding a
            # core that cnnrt's next run needs (measured: MobileNetV2 14.2 ms vs 9.3 ms)
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        iname = sess.get_inputs()[0].name
        shape = [args.batch] + [int(d) for d in sess.get_inputs()[0].shape[1:]]
        x = np.random.default_rng().standard_normal(shape).astype(np.float32)
        ours, theirs = m.run({iname: x}), sess.run(None, {iname: x})
        err = float(np.abs(list(ours.values())[0] - theirs[0]).max() / np.abs(theirs[0]).max())
        t_c, t_o = [], []
        for _ in range(3):  # warm-up
            m.run({iname: x}), sess.run(None, {iname: x})
        # Blocks of runs alternate between the runtimes: onnxruntime's workers spin for a while
        # after each run, and with per-call alternation that spinning would eat a core cnnrt
        # needs. The first run of each block is discarded for the same reason.
        for _ in range(args.rounds):
            for run, times in ((lambda: m.run({iname: x}), t_c), (lambda: sess.run(None, {iname: x}), t_o)):
                run()
                for _ in range(BLOCK):
                    t = time.perf_counter(); run(); times.append(time.perf_counter() - t)
        c, o = statistics.median(t_c) * 1e3, statistics.median(t_o) * 1e3
        rows.append((name, c, o, c / o, err))
    print(f"batch {args.batch}, {args.threads} threads, {args.rounds} rounds of {BLOCK} runs each, "
          f"onnxruntime {ort.__version__} (spinning {'on' if args.ort_spinning else 'off'}), cnnrt isa {m.summary().report.get('isa')}")
    print(f"{'model':<20} {'cnnrt ms':>9} {'ort ms':>9} {'ratio':>7} {'max rel err':>12}")
    for name, c, o, r, e in rows:
        print(f"{name:<20} {c:9.2f} {o:9.2f} {r:7.2f} {e:12.2e}")
    return rows


if __name__ == "__main__":
    main()
