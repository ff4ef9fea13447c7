"""Compiles every kernel module's aot_cases() for sm_90 and prints one JSON line per case:
{"id", "regs", "spills", "shared"} or {"id", "error"}. Run by test_aot_sm90.py in a subprocess
without TRITON_INTERPRET: a process that imported triton under the interpreter holds interpreted
copies of tl.* helpers (tl.sigmoid, ...) and cannot compile for a GPU.

    python _aot_compile.py [case-id ...]      (no ids: every case)
"""

import json
import os
import re
import subprocess
import sys
import tempfile

assert os.environ.get("TRITON_INTERPRET", "0") in ("", "0"), "run without TRITON_INTERPRET"
import torch  # noqa: E402
import triton  # noqa: E402
from triton.backends.compiler import GPUTarget  # noqa: E402
from triton.compiler.compiler import ASTSource, make_backend  # noqa: E402
from triton.runtime.jit import create_function_from_signature  # noqa: E402
from triton._utils import find_paths_if, get_iterable_path  # noqa: E402
from triton.backends.nvidia.compiler import sm_arch_from_capability  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _load import kernel_modules  # noqa: E402

TARGET = GPUTarget("cuda", 90, 32)
_BIN = os.path.join(os.path.dirname(triton.__file__), "backends", "nvidia", "bin")


def _compile_like_jit(kernel, args, meta):
    """triton.compile the specialization that kernel[grid](*args, **meta) would compile."""
    backend = make_backend(TARGET)
    meta = dict(meta)
    options = {k: meta.pop(k) for k in ("num_warps", "num_stages")}
    binder = create_function_from_signature(kernel.signature, kernel.params, backend)
    params, spec, _ = binder(*args, **meta)
    sigvals = [s[0] for s in spec]
    signature = {p.name: v for p, v in zip(kernel.params, sigvals)}
    constexprs = {path: get_iterable_path(list(params.values()), path)
                  for path in find_paths_if(sigvals, lambda _, v: v == "constexpr")}
    attrvals = [s[1] for s in spec]
    attrs = {path: backend.parse_attr(get_iterable_path(attrvals, path))
             for path in find_paths_if(attrvals, lambda _, v: isinstance(v, str))}
    return triton.compile(ASTSource(kernel, signature, constexprs, attrs), target=TARGET,
                          options=options)


def _ptxas_usage(compiled):
    """(registers, spill store bytes + spill load bytes) from ptxas -v on the kernel's PTX."""
    with tempfile.TemporaryDirectory() as d:
        ptx = os.path.join(d, "k.ptx")
        with open(ptx, "w") as f:
            f.write(compiled.asm["ptx"])
        arch = sm_arch_from_capability(TARGET.arch)  # sm_90a, as Triton itself calls ptxas
        r = subprocess.run([os.path.join(_BIN, "ptxas"), f"-arch={arch}", "-v", ptx,
                            "-o", os.path.join(d, "k.cubin")],
                           capture_output=True, text=True)
    log = r.stdout + r.stderr
    if r.returncode:
        raise RuntimeError(f"ptxas failed: {log[-1500:]}")
    regs = int(re.search(r"Used (\d+) registers", log).group(1))
    spills = sum(int(v) for v in re.findall(r"(\d+) bytes spill (?:stores|loads)", log))
    return regs, spills


def all_cases():
    """{"<module>/<case id>": () -> (kernel, args, meta)} over every kernel module."""
    return {f"{m.__name__.rsplit('.', 1)[-1]}/{cid}": make
            for m in kernel_modules() for cid, make in m.aot_cases().items()}


def compile_case(make):
    """(registers, spill bytes, shared bytes) of one case."""
    kernel, args, meta = make()
    compiled = _compile_like_jit(kernel, args, meta)
    regs, spills = _ptxas_usage(compiled)
    return regs, spills, compiled.metadata.shared


def main(ids):
    cases = all_cases()
    for cid in ids or list(cases):
        try:
            regs, spills, shared = compile_case(cases[cid])
            rec = {"id": cid, "regs": regs, "spills": spills, "shared": shared}
        except Exception as e:  # reported per case by the test
            rec = {"id": cid, "error": f"{type(e).__name__}: {e}"[:2000]}
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
