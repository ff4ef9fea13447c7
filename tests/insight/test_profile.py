"""Model.profile() / `cnnrt profile`: per-layer times from the engine's step timers, costs
from the op schema, origins back to the ONNX nodes, trace and roofline plot."""

from __future__ import annotations

import dataclasses
import json
import sys

import numpy as np
import onnx
import pytest

import cnnrt
from cnnrt.accounting import account
from cnnrt.cli import main
from cnnrt.insight import roofline
from cnnrt.passes import prepare
from oracle import require_backend
from small_cnn import FOLDED, NODES, small_cnn

RUNS = 5


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    require_backend("cpu")
    path = tmp_path_factory.mktemp("m") / "small_cnn.onnx"
    onnx.save(small_cnn(channels=32, size=32), path)
    return str(path)


@pytest.fixture(scope="module")
def prof(model_path):
    return cnnrt.load(model_path, num_threads=1).profile(runs=RUNS, warmup=1)


def test_times_are_positive_and_sum_to_the_end_to_end_time(prof):
    assert len(prof.run_times) == RUNS
    for layer in prof.layers:
        if layer.kernel:  # a step the engine did not eliminate
            assert len(layer.times) == RUNS and min(layer.times) > 0, layer.name
    for run in prof.runs:  # the step timers sit inside the timed call
        assert 0 < sum(run["steps"]) <= run["end_to_end"]
    # the convs dominate: Python's share of a call is small next to them
    assert 0.5 < prof.layer_sum / prof.total <= 1.05


def test_flops_and_bytes_per_layer_come_from_the_accounting(prof, model_path):
    m = cnnrt.load(model_path)
    rows, total = account(prepare(m.graph, {"x": (1, 3, 32, 32)}))
    by_name = {r.name: r.cost for r in rows}
    assert [layer.name for layer in prof.layers] == [r.name for r in rows]
    for layer in prof.layers:
        cost = by_name[layer.name]
        assert layer.flops == cost.flops and layer.bytes == cost.bytes_read + cost.bytes_written
    assert sum(layer.flops for layer in prof.layers) == total.flops
    conv = next(layer for layer in prof.layers if layer.name == "c2")  # 32x32 map, 32 -> 32 channels, 3x3
    assert conv.flops >= 2 * 32 * 32 * 32 * 32 * 9


def test_origins_cover_every_onnx_node_once(prof):
    seen = [o for layer in prof.layers for o in layer.origin]
    assert len(seen) == len(set(seen))
    assert set(seen) | {n for n, _ in prof.folded} == set(NODES)
    assert {n for n, _ in prof.folded} == FOLDED
    fused = {layer.name: layer.origin for layer in prof.layers}
    assert fused["c1"] == ["c1", "bn1", "r1"] and fused["c2"] == ["c2", "add", "r2"]


def test_origins_of_an_inception_network(tmp_path):
    """GoogLeNet: concats eliminated (steps without a kernel), every ONNX node in one step."""
    from cnnrt import models
    m = cnnrt.load(models.build("googlenet", weights="random", seed=0, size=64))
    prof = m.profile(runs=1, warmup=0)
    seen = [o for layer in prof.layers for o in layer.origin]
    assert len(seen) == len(set(seen))
    assert set(seen) | {n for n, _ in prof.folded} == {n for n, _ in m.graph.source_nodes}
    assert len(prof.layers) < len(m.graph.source_nodes)
    concats = [layer for layer in prof.layers if layer.op.startswith("concat")]
    assert concats and all(not layer.kernel and layer.times == [0.0] for layer in concats)


def test_efficiency_is_measured_against_the_roofline(prof):
    r = prof.roofline
    assert r.gflops > 0 and r.gbytes > 0 and r.num_threads == 1
    for layer in prof.layers:
        assert layer.attainable == pytest.approx(min(r.gflops, layer.intensity * r.gbytes))
        if layer.flops and layer.time > 0:
            assert layer.efficiency == pytest.approx(layer.gflops / layer.attainable)
    text = prof.table(top=3)
    assert text.count("\n") < len(prof.layers) + 12 and "end to end" in text
    slowest = max(prof.layers, key=lambda layer: layer.time)
    assert text.splitlines()[3].startswith(slowest.name)
    json.dumps(prof.to_dict())  # the full data is plain Python


def test_timers_are_off_outside_profile(model_path):
    m = cnnrt.load(model_path)
    m.profile(runs=1, warmup=0)
    plan = m.compiled().plan
    assert not plan.profiling
    before = plan.step_times()
    m.run(np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32))
    assert plan.step_times() == before


def test_cnnrt_profile_env_still_turns_the_timers_on(model_path, monkeypatch):
    monkeypatch.setenv("CNNRT_PROFILE", "1")
    m = cnnrt.load(model_path)  # compiled now, with the variable set
    plan = m.compiled().plan
    assert plan.profiling
    m.run(np.random.default_rng(0).standard_normal((1, 3, 32, 32)).astype(np.float32))
    assert sum(plan.step_times()) > 0


def test_chrome_trace(prof, tmp_path):
    path = tmp_path / "trace.json"
    prof.chrome_trace(path)
    events = json.loads(path.read_text())["traceEvents"]
    steps = [e for e in events if e.get("tid") == 1]
    timed = sum(1 for k in prof.step_kernels if k)
    assert len(steps) == RUNS * timed
    assert all(e["ph"] == "X" and e["dur"] > 0 for e in steps)
    c1 = next(e for e in steps if e["name"] == "c1")
    assert c1["args"]["origin"] == ["c1", "bn1", "r1"] and c1["args"]["flops"] > 0
    assert {"op", "kernel", "bytes", "run"} <= set(c1["args"])
    runs = [e for e in events if e.get("cat") == "run"]
    assert len(runs) == RUNS
    for r in runs:  # every run's steps lie inside it
        mine = [e for e in steps if e["args"]["run"] == r["args"]["run"]]
        assert min(e["ts"] for e in mine) >= r["ts"]
        assert max(e["ts"] + e["dur"] for e in mine) <= r["ts"] + r["dur"] + 1e-3


def test_roofline_png(prof, tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    path = tmp_path / "roof.png"
    prof.roofline_plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(cnnrt.CnnrtError, match="pip install matplotlib"):
        prof.roofline_plot(tmp_path / "no.png")


def test_roofline_cache_is_written_once_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRT_CACHE", str(tmp_path))
    calls = []
    real = roofline.measure
    monkeypatch.setattr(roofline, "measure", lambda *a: calls.append(a) or real(*a))
    first = roofline.machine_roofline(1)
    path = tmp_path / "roofline.json"
    stamp = path.stat().st_mtime_ns
    assert roofline.machine_roofline(1) == first and len(calls) == 1
    assert path.stat().st_mtime_ns == stamp
    assert first.gflops > 1 and first.gbytes > 0.5  # any CPU of this century
    (entry,) = json.loads(path.read_text()).values()
    assert entry["cpu"] == roofline.cpu_model() and entry["num_threads"] == 1


def test_profile_needs_the_cpu_backend(model_path):
    m = cnnrt.load(model_path, backend="reference")
    with pytest.raises(cnnrt.BackendError, match="cpu backend"):
        m.profile()


def test_cli(model_path, tmp_path, capsys):
    trace, png, js = tmp_path / "t.json", tmp_path / "r.png", tmp_path / "p.json"
    args = ["profile", model_path, "--runs", "2", "--threads", "1", "--top", "3",
            "--trace", str(trace), "--json", str(js)]
    try:
        import matplotlib  # noqa: F401
        args += ["--roofline", str(png)]
    except ImportError:
        png = None
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "end to end" in out and "roofline" in out
    assert json.loads(trace.read_text())["traceEvents"]
    assert len(json.loads(js.read_text())["layers"]) >= 5
    assert png is None or png.read_bytes()[:4] == b"\x89PNG"


def test_remeasure_replaces_the_cached_roofline(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNRT_CACHE", str(tmp_path))
    first = roofline.machine_roofline(1)
    busy = dataclasses.replace(first, gflops=first.gflops / 50)  # as if measured on a busy host
    path = tmp_path / "roofline.json"
    key, = json.loads(path.read_text())
    path.write_text(json.dumps({key: dataclasses.asdict(busy)}))
    assert roofline.machine_roofline(1) == busy  # the cache is trusted...
    again = roofline.machine_roofline(1, remeasure=True)  # ...until asked to measure again
    assert again.gflops > busy.gflops * 10
    assert json.loads(path.read_text())[key]["gflops"] == again.gflops


def test_a_roof_below_what_layers_reach_is_called_stale(model_path, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNRT_CACHE", str(tmp_path))
    m = cnnrt.load(model_path, num_threads=1)
    measured = m.profile(runs=1, warmup=0).roofline
    key, = json.loads((tmp_path / "roofline.json").read_text())

    def profile_with_peak(gflops):
        entry = dataclasses.asdict(dataclasses.replace(measured, gflops=gflops))
        (tmp_path / "roofline.json").write_text(json.dumps({key: entry}))
        return m.profile(runs=2, warmup=1)

    high = profile_with_peak(measured.gflops * 50)
    assert high.stale_roof() is None and "--remeasure" not in high.table()
    low = profile_with_peak(measured.gflops / 50)
    assert low.stale_roof() > 110 and "--remeasure" in low.table()
