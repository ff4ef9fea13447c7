"""com.example ChannelShuffle(groups): splits the channels into `groups` groups and interleaves
them (ShuffleNet): output channel j * groups + g is input channel g * (C / groups) + j."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import cnnrt

DOMAIN, OP = "com.example", "ChannelShuffle"


def shape(inputs, attrs):
    (x,) = inputs
    groups = attrs["groups"]
    if len(x) != 4 or groups < 1 or x[1] % groups:
        raise cnnrt.ShapeError(f"ChannelShuffle needs an NCHW input whose {x[1] if len(x) > 1 else '?'} "
                               f"channels divide into groups={groups}")
    return x


def cost(inputs, outputs, attrs):
    return {"macs": 0, "flops": 0}  # pure data movement: only bytes


def channel_shuffle_triton(x, groups):
    """The triton backend's kernel (triton and torch are imported only when it runs)."""
    from .triton_kernel import channel_shuffle as launch
    return launch(x, groups)


op = cnnrt.register_op(DOMAIN, OP, shape=shape, cost=cost, attrs={"groups": 2},
                       triton=channel_shuffle_triton)


@op
def channel_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(0, 2, 1, 3, 4).reshape(n, c, h, w)


def cpp_source() -> Path:
    return Path(__file__).with_name("channel_shuffle.cc")


def build_cpp_kernel(out_dir: str | os.PathLike, compiler: str = "c++") -> Path:
    """Compiles channel_shuffle.cc into a plugin library in out_dir; returns its path (load it
    with cnnrt.load_plugin)."""
    lib = Path(out_dir) / "libcnnrt_channel_shuffle.so"
    cmd = [compiler, "-O2", "-std=c++17", "-shared", "-fPIC", f"-I{cnnrt.plugin_include_dir()}",
           str(cpp_source()), "-o", str(lib)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return lib
