"""The command line: the main job (`cnnrt classify`: top-5, params, MACs, latency), zoo commands, errors."""

import os
import subprocess
import sys

import pytest


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


def test_zoo_export_writes_a_loadable_model(tmp_path):
    out = tmp_path / "lenet5.onnx"
    r = subprocess.run([sys.executable, "-m", "cnnrt.cli", "zoo", "export", "lenet5", "-o", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    import cnnrt

    assert cnnrt.load(str(out)).summary().total.params == 61_706


@pytest.mark.slow
def test_zoo_list_counts_every_model(tmp_path):
    """Builds every architecture but L2 (minutes, GBs of cache)."""
    env = dict(os.environ, CNNRT_CACHE=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "cnnrt.cli", "zoo", "list"], capture_output=True, text=True,
                       env=env, timeout=3000)
    assert r.returncode == 0, r.stderr
    rows = {line.split()[0]: line for line in r.stdout.splitlines()[1:]}
    assert "143.67M" in rows["vgg19"] and "60.19M" in rows["resnet152"] and "real" in rows["mobilenet_v2"]
    assert "--all" in rows["efficientnet_l2"]
