"""End-to-end model timings, cnnrt vs onnxruntime (vs OpenVINO where installed)
(pytest-benchmark).

    pytest benchmarks/test_models_bench.py --benchmark-only --benchmark-json=out.json
    pytest benchmarks/test_models_bench.py -k "resnet50 and latency" --benchmark-only

test_latency: batch 1; test_throughput: batch BATCH (8), extra_info["images_per_s"] =
BATCH / median. Models are the zoo's at their native input size (resolve_model: built once
into the cache, real weights where the zoo has them, else seeded random); mobilenet_v2 is
skipped when its weights package is missing. Peers: onnxruntime (ORT_ENABLE_ALL, spin-waiting
off) and OpenVINO (f32, LATENCY hint), both with CNNRT_BENCH_THREADS (default: all cores)
threads. Before timing, each runtime's outputs on fresh random data are compared with
onnxruntime's (max |err| / max |ref| < TOL).

For a ratio measured interleaved in one run (what the issues ask for), use `cnnrt bench` or
compare_ort.py. CNNRT_BENCH_SMOKE=1: lenet5 and efficientnet_b0 at 32x32, random weights.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

SMOKE = os.environ.get("CNNRT_BENCH_SMOKE", "") not in ("", "0")
MODELS = ["alexnet", "vgg19", "googlenet", "resnet50", "resnet152", "efficientnet_b0",
          "efficientnet_b7", "mobilenet_v2", "efficientnet_lite0"]
# smoke: name -> zoo.build options (lenet5's graph has a fixed 32x32 input)
SMOKE_MODELS = {"lenet5": {}, "efficientnet_b0": {"size": 32}}
if SMOKE:
    MODELS = list(SMOKE_MODELS)
RUNTIMES = ["cnnrt", "onnxruntime", "openvino"]
BATCH = 8
TOL = 1e-3  # deep random-weight nets: fp32 sums in another order drift more than one conv


@pytest.fixture(scope="module", params=MODELS)
def model(request, tmp_path_factory, bench_env):
    """{"name", "path", "chw"}, plus "runners": per-module cache of loaded runtimes, so the
    latency and throughput tests of one model load each runtime once."""
    import onnx

    name = request.param
    if SMOKE:
        import cnnrt.models as zoo

        path = str(tmp_path_factory.mktemp("models") / f"{name}.onnx")
        zoo.build(name, path, weights="random", **SMOKE_MODELS[name])
    else:
        from cnnrt.cli import resolve_model

        try:
            path = resolve_model(name)
        except Exception as e:  # mobilenet_v2's weights are a test-only install
            pytest.skip(f"{name}: {e}")
    proto = onnx.load(path, load_external_data=False)
    init = {i.name for i in proto.graph.initializer}
    inp = next(i for i in proto.graph.input if i.name not in init)
    chw = tuple(d.dim_value for d in inp.type.tensor_type.shape.dim[1:])
    info = {"name": name, "path": path, "input": inp.name, "chw": chw, "runners": {}}
    yield info
    info["runners"].clear()


def _load(runtime, model, bench_env):
    """A function feed -> list of outputs for `runtime` on the model (cached per module)."""
    runners = model["runners"]
    if runtime in runners:
        return runners[runtime]
    path = model["path"]
    if runtime == "cnnrt":
        import cnnrt

        m = cnnrt.load(path, num_threads=bench_env.THREADS)
        names = [v.name for v in m.graph.inputs]

        def run(feed):  # compiled once per batch size, then reused
            return m.compiled({k: v.shape for k, v in feed.items()}).run([feed[n] for n in names])
    elif runtime == "onnxruntime":
        sess = bench_env.ort_session(path)
        run = lambda feed: sess.run(None, feed)
    elif runtime == "openvino":
        compiled = bench_env.openvino_compiled(path)  # skips when openvino is not installed
        req = compiled.create_infer_request()

        def run(feed):
            res = req.infer(feed)
            return [res[o] for o in compiled.outputs]
    else:
        raise ValueError(runtime)
    runners[runtime] = run
    return run


def _prepared(model, runtime, batch, bench_env):
    """The timed callable on fresh random input, after a correctness check against ORT."""
    x = np.random.default_rng().standard_normal((batch, *model["chw"])).astype(np.float32)
    feed = {model["input"]: x}
    run = _load(runtime, model, bench_env)
    got = run(feed)  # also the warm-up (and cnnrt's compile for this batch size)
    if runtime != "onnxruntime":
        want = _load("onnxruntime", model, bench_env)(feed)
        assert len(got) == len(want)
        for g, w in zip(got, want):
            err = bench_env.rel_err(g, w)
            assert err < TOL, f"{runtime} {model['name']} batch {batch}: rel err {err:.2e} vs onnxruntime"
    return lambda: run(feed)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_latency(benchmark, bench_env, model, runtime):
    run = _prepared(model, runtime, 1, bench_env)
    benchmark.group = f"latency {model['name']} batch 1"
    benchmark.extra_info.update(model=model["name"], runtime=runtime, batch=1,
                                threads=bench_env.THREADS, input=list(model["chw"]))
    benchmark(run)
    bench_env.record_rate(benchmark, 1, "images_per_s")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_throughput(benchmark, bench_env, model, runtime):
    run = _prepared(model, runtime, BATCH, bench_env)
    benchmark.group = f"throughput {model['name']} batch {BATCH}"
    benchmark.extra_info.update(model=model["name"], runtime=runtime, batch=BATCH,
                                threads=bench_env.THREADS, input=list(model["chw"]))
    benchmark(run)
    bench_env.record_rate(benchmark, BATCH, "images_per_s")
