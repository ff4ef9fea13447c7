"""The GPU executable: one arena, weights uploaded once, launches bound once, replayed.

compile (GpuExecutable.__init__):
  1. schedule the steps: streams and arena offsets (schedule.py);
  2. allocate the arena and the input/output staging tensors, upload every weight in its
     kernel's layout, choose each conv's tile (autotune.py) and bind every launch;
  3. on a GPU: one eager run (Triton compiles each kernel now, not during capture), then capture
     the whole launch sequence, branch streams included, into a CUDA graph.
run: copy the inputs into the staging tensors, replay the graph (or launch eagerly), return the
outputs. A run holds the executable's lock: one arena, one run at a time.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from ...errors import BackendError, InputError
from ...ir import Graph
from ..base import Executable
from . import runtime
from .autotune import Tuner
from .lowering import Lowering
from .schedule import schedule


class _Kernels:
    """The kernel modules, imported on first use (importing them imports triton)."""

    def __getattr__(self, name):
        import importlib
        mod = importlib.import_module(f"cnnrt.kernels.triton.{name}")
        setattr(self, name, mod)
        return mod


class _BindContext:
    """What a step's bind() may use: tensors by storage, uploads, the conv launcher + tuner."""

    def __init__(self, exe: "GpuExecutable", arena, offsets):
        self.exe, self.k = exe, exe.kernels
        self._arena, self._offsets = arena, offsets
        self.inputs, self.outputs = exe._inputs, exe._outputs

    def t(self, st):
        """The stored tensor of `st` (a slice: its channel slice of the concat output)."""
        if st.kind == "slice":
            root = self.t(st.owner)
            return root[..., st.channel_offset:st.channel_offset + st.phys_shape[-1]]
        r = st.root
        n = 1
        for d in r.phys_shape:
            n *= int(d)
        off = self._offsets[id(r)]
        flat = self._arena[off:off + n * self.exe.itemsize].view(self.exe.dtype)
        t = flat.view(r.phys_shape)
        return t if r is st else t.reshape(st.phys_shape)  # an alias: same bytes, its own shape

    def upload(self, a, fp32: bool = False):
        import torch
        if a is None:
            return None
        t = torch.from_numpy(np.array(a, dtype=np.float32))  # a copy: weights may be read-only
        return t.to(self.exe.device, torch.float32 if fp32 else self.exe.dtype).contiguous()

    def conv(self, name, x, wp, bias, geo, act, res, post, y, view=None, in_scale=None,
             out2=None, split_at=None):
        """A bound conv2d launch writing storage y (and out2 from column split_at on), with its
        tile chosen by the tuner."""
        k = self.k.conv2d
        out = self.t(y.owner) if y.kind == "slice" else self.t(y)
        if view is not None and y.kind != "slice":
            out = view(out)
        fixed = dict(geo, act=act, residual=res, residual_after_act=res is not None,
                     post_act=post, out=out, out_channel_offset=y.channel_offset,
                     precision=self.exe.matmul_precision, in_scale=in_scale,
                     out2=None if out2 is None else self.t(out2), split_at=split_at)
        key_dt = (str(self.exe.dtype).replace("torch.", ""), self.exe.matmul_precision)
        configs = [tuple(c) for c in k.CONFIGS[key_dt]]

        def launcher(cfg):
            bm, bn, bk, warps, stages = cfg
            o, grid, args, meta = k.conv2d_launch_args(
                x, wp, bias, **fixed, block_m=bm, block_n=bn, block_k=bk, num_warps=warps,
                num_stages=stages)
            kern = k._conv2d_nhwc_kernel[grid]
            return lambda: kern(*args, **meta)

        n_, h, w, c = x.shape
        problem = (n_, h, w, c, wp.shape[1], *geo["kernel_size"], *geo["stride"], *geo["pads"],
                   *geo["dilation"], *key_dt, res is not None, act[0], in_scale is not None,
                   split_at is not None)
        P = n_ * ((h + geo["pads"][0] + geo["pads"][2] - geo["dilation"][0]
                   * (geo["kernel_size"][0] - 1) - 1) // geo["stride"][0] + 1) * (
            (w + geo["pads"][1] + geo["pads"][3] - geo["dilation"][1]
             * (geo["kernel_size"][1] - 1) - 1) // geo["stride"][1] + 1)
        guess = _heuristic(configs, P, wp.shape[1], self.exe.interpreting, self.exe.sm_count)
        cfg = self.exe.tuner.choose("conv2d", problem, configs, guess,
                                    lambda cf: launcher(cf)())
        self.exe.report["kernels"][name] = (self.exe.report["kernels"].get(name, "")
                                            + f" tile {cfg[0]}x{cfg[1]}x{cfg[2]} w{cfg[3]} s{cfg[4]}")
        return launcher(cfg)


def _heuristic(configs, P, M, interpreting, sms):
    """Without timings: under the interpreter the biggest tile (each program instance costs the
    same ~45 ms); on a GPU the biggest tile that still gives every SM a program."""
    by_area = sorted(configs, key=lambda c: -c[0] * c[1])
    if interpreting:
        return by_area[0]
    for c in by_area:
        if -(-P // c[0]) * -(-M // c[1]) >= sms:
            return c
    return by_area[-1]


class GpuExecutable(Executable):
    def __init__(self, graph: Graph, precision: str = "fp16", matmul_precision: str = "ieee",
                 streams: int = 4, cuda_graph: bool = True, autotune: str | None = None):
        import torch

        t0 = time.perf_counter()
        self.graph = graph
        self.device = runtime.device()
        self.interpreting = runtime.interpreting()
        self.dtype = runtime.torch_dtype(precision)
        if precision == "bf16" and self.interpreting:
            raise BackendError(f"{graph.source}: precision='bf16' cannot run under "
                               "TRITON_INTERPRET=1 (Triton's interpreter has no bf16 and would "
                               "return wrong numbers); use fp16 or fp32 there")
        if precision == "bf16" and not self.interpreting and not torch.cuda.is_bf16_supported():
            raise BackendError(f"{graph.source}: this GPU ({torch.cuda.get_device_name()}) has "
                               "no bf16; use precision='fp16'")
        self.itemsize = torch.empty((), dtype=self.dtype).element_size()
        if matmul_precision not in ("ieee", "tf32"):
            raise BackendError(f"matmul_precision must be 'ieee' or 'tf32', not {matmul_precision!r}")
        self.matmul_precision = matmul_precision if precision == "fp32" else "ieee"
        self.kernels = _Kernels()
        on_gpu = self.device.type == "cuda"
        self.sm_count = (torch.cuda.get_device_properties(self.device).multi_processor_count
                         if on_gpu else 1)
        self.tuner = Tuner(runtime.device_name(),
                           autotune or ("on" if on_gpu else "off"))
        self._lock = threading.Lock()

        low = Lowering(graph, self.kernels).run()
        self.steps = low.steps
        sched = schedule(self.steps, self.itemsize, max_streams=streams if on_gpu else 1)
        self.schedule = sched
        self._inputs = [torch.empty(tuple(v.shape), dtype=torch.float32, device=self.device)
                        for v in graph.inputs]
        self._outputs = [torch.empty(tuple(v.shape), dtype=torch.float32, device=self.device)
                         for v in graph.outputs if not v.is_const]
        self._arena = torch.empty(max(sched.arena_bytes, 1), dtype=torch.uint8, device=self.device)
        self.report = {
            "backend": "triton", "device": runtime.device_name(), "precision": precision,
            "matmul_precision": self.matmul_precision if precision == "fp32" else "fp32 accumulate",
            "arena_bytes": sched.arena_bytes, "naive_bytes": sched.naive_bytes,
            "streams": sched.streams, "steps": len(self.steps),
            "kernels": {s.name: s.kernel for s in self.steps},
            "placement": {s.name: s.origin for s in self.steps if s.origin},
        }
        ctx = _BindContext(self, self._arena, sched.offsets)
        self._launches = [s.bind(ctx) for s in self.steps]
        self._streams = ([torch.cuda.current_stream()] + [torch.cuda.Stream()
                                                           for _ in range(sched.streams - 1)]
                         if on_gpu else None)
        self._graph = None
        if on_gpu:
            self._launch_all()   # compiles every kernel (and finishes any autotuning)
            torch.cuda.synchronize()
            if cuda_graph:
                self._graph = torch.cuda.CUDAGraph()
                with torch.cuda.graph(self._graph):
                    self._launch_all()
                torch.cuda.synchronize()
        self.tuner.save()
        self.report.update(cuda_graph=self._graph is not None,
                           compile_s=time.perf_counter() - t0,
                           autotune={"mode": self.tuner.mode, "hits": self.tuner.hits,
                                     "misses": self.tuner.misses,
                                     "seconds": round(self.tuner.seconds, 3)})

    # --- running -------------------------------------------------------------------------
    def _launch_all(self) -> None:
        if self._streams is None or len(self._streams) == 1:
            for launch in self._launches:
                launch()
            return
        import torch
        main = torch.cuda.current_stream()
        streams = [main] + self._streams[1:]
        events: dict[int, object] = {}
        last = {}
        for i, launch in enumerate(self._launches):
            s = streams[self.schedule.stream[i]]
            if s is not main and self.schedule.stream[i] not in last:
                s.wait_stream(main)  # fork: a branch stream starts after what main has queued
            for d in self.schedule.waits[i]:
                s.wait_event(events[d])
            with torch.cuda.stream(s):
                launch()
                if self.schedule.needs_event[i]:
                    events[i] = torch.cuda.Event()
                    events[i].record(s)
            last[self.schedule.stream[i]] = s
        for t, s in last.items():  # join: main waits for every branch stream
            if s is not main:
                main.wait_stream(s)

    def run_torch(self, inputs: list) -> list:
        """Runs on device tensors (logical NCHW shapes); returns the output tensors, which the
        next run overwrites (clone to keep). Asynchronous on a GPU: no synchronisation."""
        if len(inputs) != len(self._inputs):
            raise InputError(f"{self.graph.source}: expected {len(self._inputs)} inputs, "
                             f"got {len(inputs)}")
        with self._lock:
            for st, x, v in zip(self._inputs, inputs, self.graph.inputs):
                if tuple(x.shape) != tuple(st.shape):
                    raise InputError(f"{self.graph.source}: input {v.name!r} has shape "
                                     f"{tuple(x.shape)}; compiled for {tuple(st.shape)}")
                st.copy_(x)
            if self._graph is not None:
                self._graph.replay()
            else:
                self._launch_all()
            return list(self._outputs)

    def run_tensors(self, inputs: list) -> list:
        """DLPack tensors in (torch, cupy, ...: read through torch.from_dlpack, no host round
        trip), torch tensors on this device out, the caller's to keep."""
        import torch
        outs = iter(self.run_torch([torch.from_dlpack(x) for x in inputs]))
        return [torch.as_tensor(np.asarray(v.const), device=self.device) if v.is_const
                else next(outs).clone() for v in self.graph.outputs]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        import torch
        outs = iter(self.run_torch([torch.from_numpy(np.ascontiguousarray(a, np.float32))
                                    for a in inputs]))
        result = []
        for v in self.graph.outputs:
            result.append(np.array(v.const) if v.is_const else next(outs).cpu().numpy().copy())
        return result
