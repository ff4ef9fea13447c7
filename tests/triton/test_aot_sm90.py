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
from _load import load_kernel_module  # noqa: E402

SHARED_LIMIT = 227 * 1024  # max dynamic shared memory per block on sm_90 (H100/H200)


def _case_ids():
    # The helper's cases(), rebuilt here from CONFIGS without importing triton's compiler in this
    # (interpreter) process; test_case_ids_match_helper keeps the two in step.
    mod = load_kernel_module("conv2d")
    layers = ["3x3s1_silu_res_relu6_flatK", "3x3s1_silu_res_relu6_tapK", "1x1s2_nobias",
              "7x7s2_stem_c3"]
    return [f"{dtype}-{prec}-{'x'.join(map(str, cfg))}-{lay}"
            for (dtype, prec), configs in mod.CONFIGS.items() for cfg in configs for lay in layers]


CASE_IDS = _case_ids()


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
    print("\nAOT sm_90 resource report (conv2d):")
    for cid in CASE_IDS:
        r = by_id.get(cid, {"error": "missing"})
        print(f"  {cid:60s} " + (f"regs {r['regs']:3d}  spills {r['spills']:4d} B  shared "
                                 f"{r['shared']:6d} B" if "error" not in r else r["error"][:200]))
    return by_id


def test_case_ids_match_helper():
    """The ids rebuilt here are the helper's (ran without TRITON_INTERPRET in a subprocess)."""
    env = {k: v for k, v in os.environ.items() if k != "TRITON_INTERPRET"}
    code = ("import sys; sys.path.insert(0, %r); import _aot_compile as a, _load; "
            "print('\\n'.join(a.cases(_load.load_kernel_module('conv2d'))))" % _here)
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == CASE_IDS


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_conv2d_compiles_for_sm90(results, case_id):
    r = results[case_id]
    assert "error" not in r, r["error"]
    assert r["shared"] <= SHARED_LIMIT, f"shared memory {r['shared']} B > {SHARED_LIMIT} B"
    assert r["spills"] == 0, f"{r['spills']} bytes of register spills ({r['regs']} registers)"
