"""`cnnrt bench`: cnnrt and onnxruntime measured interleaved on one model; the result carries
latency, throughput, peak memory, load time, agreement and the ratio; bad requests say why."""

import json
import os

import pytest

pytest.importorskip("onnxruntime")

import cnnrt  # noqa: E402
import cnnrt.models as zoo  # noqa: E402
from cnnrt import cli  # noqa: E402
from cnnrt.bench import bench, render  # noqa: E402


@pytest.fixture(scope="module")
def lenet(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("bench") / "lenet5.onnx")
    zoo.build("lenet5", path=path)
    return path


def test_bench_against_onnxruntime(lenet):
    res = bench(lenet, batch=2, threads=1, vs=("onnxruntime",), rounds=2)
    cn, ort = res["rows"]
    assert (cn["runtime"], ort["runtime"]) == ("cnnrt", "onnxruntime")
    assert res["runs_per_runtime"] == 10 and res["batch"] == 2
    for r in (cn, ort):
        assert 0 < r["min_ms"] <= r["median_ms"]
        assert r["throughput"] == pytest.approx(2 / (r["median_ms"] / 1e3))
    assert ort["max_rel_err_vs_cnnrt"] < 1e-4
    assert ort["cnnrt_over_peer"] == pytest.approx(cn["median_ms"] / ort["median_ms"])
    if os.path.exists("/proc/self/status"):  # each runtime's own process: imports + model
        assert cn["peak_rss_mb"] > 20 and ort["peak_rss_mb"] > 20
    text = render(res)
    assert "cnnrt/peer" in text and "onnxruntime" in text


def test_cli_bench_writes_json(lenet, tmp_path, capsys):
    out = tmp_path / "b.json"
    assert cli.main(["bench", lenet, "--rounds", "1", "--threads", "1", "--json", str(out)]) == 0
    assert "onnxruntime" in capsys.readouterr().out
    assert [r["runtime"] for r in json.loads(out.read_text())["rows"]] == ["cnnrt", "onnxruntime"]


def test_unknown_or_missing_peer_and_bf16_are_refused(lenet):
    with pytest.raises(ValueError, match="unknown peer"):
        bench(lenet, vs=("tensorflow",))
    try:
        import openvino  # noqa: F401
    except ImportError:
        with pytest.raises(cnnrt.BackendError, match="openvino is not installed"):
            bench(lenet, vs=("openvino",), rounds=1)
    with pytest.raises(cnnrt.BackendError, match="bf16"):
        bench(lenet, precision="bf16", vs=(), rounds=1)
