"""Compiles conv2d's shipped configurations for sm_90 and prints one JSON line per case:
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
from _load import load_kernel_module  # noqa: E402

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


# Representative launches. ResNet's 3x3 with the heaviest epilogue, with each K loop shape; a
# strided 1x1 with none (KW and the stride become different constants; tap loop); the 7x7/2 stem
# with C=3 (K = 147, ragged K tail; flat loop).
LAYERS = {
    "3x3s1_silu_res_relu6_flatK": dict(n=2, h=56, w=56, c=64, m=64, k=(3, 3), stride=(1, 1),
                                       pads=(1, 1, 1, 1), act="silu", residual=True,
                                       post="relu6", flat_k=True),
    "3x3s1_silu_res_relu6_tapK": dict(n=2, h=56, w=56, c=64, m=64, k=(3, 3), stride=(1, 1),
                                      pads=(1, 1, 1, 1), act="silu", residual=True,
                                      post="relu6", flat_k=False),
    "1x1s2_nobias": dict(n=2, h=28, w=28, c=256, m=512, k=(1, 1), stride=(2, 2),
                         pads=(0, 0, 0, 0), act="none", residual=False, post="none", bias=False),
    "7x7s2_stem_c3": dict(n=2, h=224, w=224, c=3, m=64, k=(7, 7), stride=(2, 2),
                          pads=(3, 3, 3, 3), act="relu", residual=False, post="none"),
}


def cases(mod):
    """{case id: (dtype, cfg, precision, layer)} for every shipped configuration."""
    out = {}
    for (dtype, prec), configs in mod.CONFIGS.items():
        for cfg in configs:
            for layer in LAYERS:
                out[f"{dtype}-{prec}-{'x'.join(map(str, cfg))}-{layer}"] = (dtype, cfg, prec,
                                                                            layer)
    return out


def compile_case(conv, dtype, cfg, precision, layer):
    """(registers, spill bytes, shared bytes) of one case."""
    bm, bn, bk, warps, stages = cfg
    L = LAYERS[layer]
    dt = getattr(torch, dtype)
    kh, kw = L["k"]
    x = torch.empty(L["n"], L["h"], L["w"], L["c"], dtype=dt)
    wp = torch.empty(kh * kw * L["c"], L["m"], dtype=dt)
    b = torch.empty(L["m"], dtype=dt) if L.get("bias", True) else None
    oh = (L["h"] + L["pads"][0] + L["pads"][2] - kh) // L["stride"][0] + 1
    ow = (L["w"] + L["pads"][1] + L["pads"][3] - kw) // L["stride"][1] + 1
    res = torch.empty(L["n"], oh, ow, L["m"], dtype=dt) if L["residual"] else None
    _, _, args, meta = conv.conv2d_launch_args(
        x, wp, b, kernel_size=L["k"], stride=L["stride"], pads=L["pads"], dilation=(1, 1),
        act=L["act"], residual=res, residual_after_act=True, post_act=L["post"], out=None,
        out_channel_offset=0, precision=precision, block_m=bm, block_n=bn, block_k=bk,
        num_warps=warps, num_stages=stages, flat_k=L.get("flat_k"))
    compiled = _compile_like_jit(conv._conv2d_nhwc_kernel, args, meta)
    regs, spills = _ptxas_usage(compiled)
    return regs, spills, compiled.metadata.shared


def main(ids):
    conv = load_kernel_module("conv2d")
    all_cases = cases(conv)
    for cid in ids or list(all_cases):
        try:
            regs, spills, shared = compile_case(conv, *all_cases[cid])
            rec = {"id": cid, "regs": regs, "spills": spills, "shared": shared}
        except Exception as e:  # reported per case by the test
            rec = {"id": cid, "error": f"{type(e).__name__}: {e}"[:2000]}
        print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
