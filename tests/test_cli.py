"""The main job: `cnnrt classify` prints top-5, params, MACs and latency for the cat photo."""

import os
import subprocess
import sys


def test_classify_main_job(tmp_path):
    env = dict(os.environ, CNNRT_CACHE=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "cnnrt.cli", "classify", "--repeat", "3"],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    top = [line.split(None, 1) for line in out.splitlines() if line.startswith("  ")]
    assert len(top) == 5
    assert {label for _, label in top[:3]} == {"tabby", "tiger cat", "Egyptian cat"}
    assert "params  4,652,008" in out and "MACs" in out and "latency" in out
    assert (tmp_path / "efficientnet_lite0.onnx").exists()


def test_cli_error_is_clean(tmp_path):
    bad = tmp_path / "x.onnx"
    bad.write_text("not a model")
    r = subprocess.run([sys.executable, "-m", "cnnrt.cli", "summary", str(bad)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "x.onnx" in r.stderr and "Traceback" not in r.stderr
