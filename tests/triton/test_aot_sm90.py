"""Every shipped kernel configuration compiles ahead of time for sm_90 (no GPU needed), with the
specialization a real launch would get, within the H100's 227 KB of shared memory per block and
with no register spills. The interpreter cannot see either limit (nor fp16 tl.dot's K >= 16).

The compiling happens in _aot_compile.py, in a subprocess without TRITON_INTERPRET (see there
why); it specializes with Triton's own launch binder applied to the launcher's real arguments, so
pointer dtypes, divisibility-16 hints and integers equal to 1 made constants are the JIT's. The
cases are split over two subprocesses (CI machines here have 2 cores)."""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

pytest.importorskip("torch")
pytest.importorskip("triton")
_here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, _here)
from _load import kernel_modules  # noqa: E402

SHARED_LIMIT = 227 * 1024  # max dynamic shared memory per block on sm_90 (H100/H200)


# Ids only: building a case (and compiling it) happens in the subprocess.
CASE_IDS = [f"{m.__name__.rsplit('.', 1)[-1]}/{cid}" for m in kernel_modules()
            for cid in m.aot_cases()]


@pytest.fixture(scope="module")
def results():
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}

    def run(ids):
        r = subprocess.run([sys.executable, os.path.join(_here, "_aot_compile.py"), *ids],
                           env=env, capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        return [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]

    with ThreadPoolExecutor(2) as pool:
        recs = sum(pool.map(run, [CASE_IDS[0::2], CASE_IDS[1::2]]), [])
    by_id = {r["id"]: r for r in recs}
    print("\nAOT sm_90 resource report:")
    for cid in CASE_IDS:
        r = by_id.get(cid, {"error": "missing"})
        print(f"  {cid:68s} " + (f"regs {r['regs']:3d}  spills {r['spills']:4d} B  shared "
                                 f"{r['shared']:6d} B" if "error" not in r else r["error"][:200]))
    return by_id


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_kernel_compiles_for_sm90(results, case_id):
    r = results[case_id]
    assert "error" not in r, r["error"]
    assert r["shared"] <= SHARED_LIMIT, f"shared memory {r['shared']} B > {SHARED_LIMIT} B"
    assert r["spills"] == 0, f"{r['spills']} bytes of register spills ({r['regs']} registers)"
