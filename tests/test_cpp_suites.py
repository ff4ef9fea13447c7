"""Builds and runs the C++ test programs in tests/cpp/ (every kernel variant this CPU supports
against the reference kernels; the memory planner, the thread pool and the plugin step)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PROGRAMS = sorted(p.stem for p in (REPO / "tests" / "cpp").glob("*.cc"))


@pytest.fixture(scope="module")
def build_dir(tmp_path_factory):
    if not shutil.which("cmake"):
        pytest.skip("cmake is not installed")
    out = tmp_path_factory.mktemp("cpp")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(["cmake", "-S", str(REPO), "-B", str(out), *gen, "-DCMAKE_BUILD_TYPE=Release",
                    "-DCNNRT_BUILD_CPP_TESTS=ON"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(out), "-j", str(os.cpu_count() or 2), "--target", *PROGRAMS],
                   check=True, capture_output=True)
    return out


@pytest.mark.parametrize("program", PROGRAMS)
def test_cpp_program(build_dir, program):
    r = subprocess.run([str(build_dir / program)], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
