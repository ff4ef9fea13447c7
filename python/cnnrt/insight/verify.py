"""`cnnrt.verify(model)`: cnnrt against onnxruntime on the same inputs and, on a mismatch, the
first layer where they part.

Stages:
  1. cases: fresh random inputs (one per seed) and, for an image classifier, the real photo(s)
     preprocessed as the model's metadata says;
  2. per case and output: max abs error, norm-wise relative error ||a - b|| / ||b||, top-1
     agreement for (N, classes) outputs; PASS when every relative error <= tol;
  3. on a FAIL, bisection over the values both graphs have: a cnnrt value keeps the name of the
     ONNX value it holds (the frontend names outputs after ONNX's; a fused step writes its last
     ONNX node's output), so the optimized graph's named values that feed the failing output,
     in execution order, are compared by binary search, each probe exposing one of them as an
     extra graph output on both sides (onnxruntime: a graph output added to the ONNX model;
     cnnrt: the optimized graph compiled with that value kept as an output). The first value
     that differs names the step that made it, its op and the ONNX nodes it stands for. It
     assumes an error, once there, stays (a later layer does not undo it).
onnxruntime runs with its graph optimizations off: the oracle executes the model as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from ..errors import InputError
from .bisect import Divergence, first_divergence
from .oracle import OrtOracle, onnx_proto, rel_error


@dataclass
class OutputCheck:
    name: str
    max_abs: float
    rel: float                   # ||cnnrt - ort|| / ||ort||
    top1: float | None           # fraction of rows with the same argmax; None: not a classifier
    passed: bool
    note: str = ""


@dataclass
class Case:
    name: str                    # "random (seed 0)", "image cat.jpg"
    outputs: list[OutputCheck]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outputs)


@dataclass
class VerifyReport:
    source: str
    tol: float
    cases: list[Case]
    divergence: Divergence | None = None

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)

    def __str__(self) -> str:
        lines = [f"{Path(self.source).name}: cnnrt vs onnxruntime, tolerance {self.tol:g} "
                 f"(relative, norm-wise)"]
        for c in self.cases:
            for o in c.outputs:
                top1 = f"  top-1 agree {100 * o.top1:.0f}%" if o.top1 is not None else ""
                lines.append(f"  {'PASS' if o.passed else 'FAIL'}  {c.name:<18} {o.name:<16} "
                             f"max abs {o.max_abs:.3g}  rel {o.rel:.3g}{top1}"
                             + (f"  ({o.note})" if o.note else ""))
        lines.append("PASS" if self.passed else "FAIL")
        d = self.divergence
        if d is not None:
            onnx_nodes = ", ".join(f"{n} ({op})" for n, op in d.origin)
            lines.append(f"first divergence: step {d.step!r} ({d.op}) writing {d.value!r}, "
                         f"rel error {d.rel:.3g}; it stands for ONNX nodes {onnx_nodes}")
            lines.append(f"  last value that agreed: {d.last_agreeing!r}" if d.last_agreeing
                         else "  (its inputs are the model's inputs)")
            if d.also_suspect:
                lines.append(f"  steps between the two: {', '.join(d.also_suspect)}")
            lines.append(f"  ({d.probes} probes)")
        return "\n".join(lines)

    __repr__ = __str__


def verify(model, *, seeds=(0, 1, 2), tol: float = 1e-4, images="auto", bisect: bool = True,
           backend: str = "cpu", num_threads: int = 0, onnx_model=None) -> VerifyReport:
    """Runs cnnrt and onnxruntime on the same inputs and compares.

    model: an ONNX file path, ModelProto or bytes (loaded with `backend`, `num_threads`), or a
    cnnrt.Model (then the ONNX model is `onnx_model`, default the file it was loaded from).
    seeds: one random-input case per seed (an int n: seeds 0..n-1). images: "auto" (the
    bundled cat photo, for an image classifier), a list of image paths, or None. bisect: find
    the first diverging layer on a FAIL."""
    import cnnrt

    seeds = range(seeds) if isinstance(seeds, int) else seeds
    if isinstance(model, cnnrt.Model):
        m = model
        proto = onnx_proto(onnx_model if onnx_model is not None else m.graph.source)
    else:
        proto = onnx_proto(onnx_model if onnx_model is not None else model)
        m = cnnrt.load(model, backend=backend, num_threads=num_threads)
    ort = OrtOracle(proto, m.graph.source, num_threads)

    report = VerifyReport(m.graph.source, tol, [])
    failing = None

    def check(name, feeds):
        nonlocal failing
        ours = m.run(feeds)
        ref = dict(zip(ort.output_names, ort.run(feeds)))
        checks = [_compare(out, ours[out], ref[out], tol) for out in m.outputs]
        report.cases.append(Case(name, checks))
        if failing is None and not all(c.passed for c in checks):
            failing = (feeds, next(c.name for c in checks if not c.passed))
        return ours

    first = None
    for s in seeds:
        outs = check(f"random (seed {s})", _random_feeds(m, s))
        first = first if first is not None else outs[m.outputs[0]]
    for img in _images(m, images, first):
        check(f"image {Path(img).name}", {m.graph.inputs[0].name:
                                          m.preprocess.image_to_tensor(img)[None]})
    if failing is not None and bisect:
        report.divergence = first_divergence(m, ort, *failing, tol)
    return report


def _random_feeds(m, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    feeds = {}
    for v in m.graph.inputs:
        if v.shape is None or not v.dtype.startswith("float"):
            raise InputError(f"{m.graph.source}: input {v.name!r} ({v.dtype}, shape {v.shape}): "
                             "verify draws float inputs of a known rank")
        feeds[v.name] = rng.standard_normal(v.bound_shape()).astype(v.dtype)
    return feeds


def _images(m, images, first_output) -> list[str]:
    if not images:
        return []
    if images != "auto":
        if not _is_classifier(m, first_output):
            raise InputError(f"{m.graph.source}: images given, but the model is not an image "
                             f"classifier whose input fits its preprocessing ({m.preprocess.describe()})")
        return [str(p) for p in images]
    return [str(resources.files("cnnrt").joinpath("data/cat.jpg"))] if _is_classifier(m, first_output) else []


def _is_classifier(m, first_output) -> bool:
    """One image input the preprocessing (metadata) fits, and a (N, classes) first output."""
    if len(m.graph.inputs) != 1 or m.graph.inputs[0].shape is None or first_output is None:
        return False
    shape, p = m.graph.inputs[0].shape, m.preprocess
    channels = 1 if p.channel_order == "L" else 3
    want = (channels, *p.size) if p.layout == "NCHW" else (*p.size, channels)
    fits = len(shape) == 4 and all(not isinstance(d, int) or d == w for d, w in zip(shape[1:], want))
    return fits and np.ndim(first_output) == 2 and np.shape(first_output)[1] > 1


def _compare(name: str, ours: np.ndarray, ref: np.ndarray, tol: float) -> OutputCheck:
    ours, ref = np.asarray(ours), np.asarray(ref)
    if ours.shape != ref.shape:
        return OutputCheck(name, float("inf"), float("inf"), None, False,
                           f"shape {ours.shape} vs onnxruntime's {ref.shape}")
    a, b = ours.astype(np.float64), ref.astype(np.float64)
    if not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
        return OutputCheck(name, float("inf"), float("inf"), None, False, "NaN or inf")
    diff = np.abs(a - b)
    max_abs = float(diff.max()) if diff.size else 0.0
    rel = rel_error(a, b)
    top1 = None
    if a.ndim == 2 and a.shape[1] > 1:
        top1 = float(np.mean(a.argmax(axis=1) == b.argmax(axis=1)))
    return OutputCheck(name, max_abs, rel, top1, rel <= tol)
