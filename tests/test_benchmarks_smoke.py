"""The pytest-benchmark suites in benchmarks/ in smoke mode (CNNRT_BENCH_SMOKE=1: tiny conv
shapes, lenet5 and efficientnet_b0 at 32x32; --benchmark-disable: each timed callable runs
once, the correctness checks against onnxruntime still run). Checks the harness, not speed."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter

import pytest

pytest.importorskip("pytest_benchmark")
pytest.importorskip("onnxruntime")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_benchmarks_smoke(tmp_path):
    report = tmp_path / "junit.xml"
    env = {**os.environ, "CNNRT_BENCH_SMOKE": "1", "CNNRT_CACHE": str(tmp_path / "cache")}
    p = subprocess.run([sys.executable, "-m", "pytest", "benchmarks", "-q", "-p", "no:cacheprovider",
                        "--benchmark-disable", f"--junitxml={report}"],
                       capture_output=True, text=True, timeout=300, env=env, cwd=ROOT)
    text = p.stdout + p.stderr
    assert p.returncode == 0, text[-5000:]

    passed, skipped, bad = Counter(), Counter(), []
    for case in ET.parse(report).getroot().iter("testcase"):
        suite = case.get("classname", "").rsplit(".", 1)[-1]
        if case.find("failure") is not None or case.find("error") is not None:
            bad.append(f"{suite}::{case.get('name')}")
        elif case.find("skipped") is not None:
            skipped[suite] += 1
        else:
            passed[suite] += 1
    assert not bad, bad
    # kernels: 16 shapes x (cnnrt, onnxruntime, numpy, and torch where installed)
    assert passed["test_kernels_bench"] >= 16 * 3, (passed, skipped)
    # models: 2 models x (latency, throughput) x (cnnrt, onnxruntime); openvino may skip
    assert passed["test_models_bench"] >= 2 * 2 * 2, (passed, skipped)
