"""End-to-end latency, cnnrt vs onnxruntime, batch 1 (pytest-benchmark).

    pytest benchmarks/test_models_bench.py --benchmark-only --benchmark-json=out.json

For a ratio measured interleaved in one run (what the issues ask for), use compare_ort.py.
"""

import os

import numpy as np
import pytest

MODELS = ["efficientnet_lite0", "mobilenet_v2"]
THREADS = int(os.environ.get("CNNRT_BENCH_THREADS", os.cpu_count()))


@pytest.fixture(scope="module", params=MODELS)
def model_path(request):
    from cnnrt.cli import resolve_model

    try:
        return resolve_model(request.param)
    except Exception as e:  # mobilenet_v2's weights are a test-only install
        pytest.skip(f"{request.param}: {e}")


@pytest.mark.parametrize("runtime", ["cnnrt", "onnxruntime"])
def test_latency(benchmark, model_path, runtime):
    x = np.random.default_rng().standard_normal((1, 3, 224, 224)).astype(np.float32)
    if runtime == "cnnrt":
        import cnnrt

        m = cnnrt.load(model_path, num_threads=THREADS)
        name = m.inputs[0][0]
        run = lambda: m.run({name: x})
    else:
        ort = pytest.importorskip("onnxruntime")
        so = ort.SessionOptions()
        so.intra_op_num_threads = THREADS
        sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
        name = sess.get_inputs()[0].name
        run = lambda: sess.run(None, {name: x})
    run()
    benchmark(run)
