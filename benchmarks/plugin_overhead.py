"""What a custom op's kernel costs inside a model, by kind of kernel: the example plugin's
ChannelShuffle (examples/plugin) between a 1x1 conv and a grouped 3x3 conv (64 channels, 56x56),
run on the cpu backend with its numpy kernel (the engine calling back into Python), with its C++
kernel (cnnrt.load_plugin), and the same model with an Identity instead (no step at all).
Blocks of 10 runs alternate between the three; medians and ratios are printed.

    python benchmarks/plugin_overhead.py [--threads 2] [--blocks 15]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

import cnnrt

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples" / "plugin"))
from cnnrt_example_plugin import ops as example  # noqa: E402  (registers ChannelShuffle)

C, HW = 64, 56


def model(rng, shuffle: bool):
    w1 = (rng.standard_normal((C, C, 1, 1)) / 8).astype(np.float32)
    w2 = (rng.standard_normal((C, C // 2, 3, 3)) / 8).astype(np.float32)
    mid = (helper.make_node("ChannelShuffle", ["a"], ["b"], domain="com.example", groups=2, name="sh")
           if shuffle else helper.make_node("Identity", ["a"], ["b"], name="id"))
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], name="c1"), mid,
             helper.make_node("Conv", ["b", "w2"], ["y"], group=2, pads=[1, 1, 1, 1], name="c2")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, C, HW, HW])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                          [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(w2, "w2")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)])
    m.ir_version = 8
    return m


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--blocks", type=int, default=15)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with_shuffle, without = model(rng, True), model(np.random.default_rng(0), False)
    x = rng.standard_normal((1, C, HW, HW)).astype(np.float32)
    models = {"numpy kernel": cnnrt.load(with_shuffle, num_threads=args.threads)}
    cnnrt.load_plugin(example.build_cpp_kernel(tempfile.mkdtemp()))
    models["C++ kernel"] = cnnrt.load(with_shuffle, num_threads=args.threads)
    models["no shuffle"] = cnnrt.load(without, num_threads=args.threads)
    ref = models["numpy kernel"].run(x)["y"]
    assert np.allclose(models["C++ kernel"].run(x)["y"], ref, atol=1e-5)
    times = {k: [] for k in models}
    for _ in range(args.blocks):
        for k, m in models.items():
            t = time.perf_counter()
            for _ in range(10):
                m.run(x)
            times[k].append((time.perf_counter() - t) / 10)
    med = {k: float(np.median(v)) for k, v in times.items()}
    for k, v in med.items():
        print(f"{k:>13}: {v * 1e3:.3f} ms  ({v / med['no shuffle']:.3f}x no shuffle)")
    print(f"numpy kernel / C++ kernel: {med['numpy kernel'] / med['C++ kernel']:.3f}")


if __name__ == "__main__":
    main()
