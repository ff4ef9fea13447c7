"""A Model read from a .cnnrt file: no ONNX import, no passes; the C++ reader hands back the
plan compiled for this machine's ISA. It runs the input shapes it was compiled for, only."""

from __future__ import annotations

from pathlib import Path

from .backends.cpu import CpuExecutable
from .errors import BackendError, CnnrtError, InputError, ModelLoadError
from .ir import Graph, Value
from .model import Model
from .preprocess import Preprocess


def load_compiled(path, *, num_threads: int = 0, isa: str = "auto", preprocess=None,
                  labels=None) -> "CompiledModel":
    from .backends.cpu import _engine

    path = str(path)
    try:
        info = _engine().load_model_file(path, num_threads, isa)
    except ValueError as e:  # the reader's messages name the file; a bad isa/threads does not
        msg = str(e)
        raise (ModelLoadError(msg) if msg.startswith(path) else BackendError(f"{path}: {msg}")) from None
    return CompiledModel(path, info, num_threads=num_threads, isa=isa, preprocess=preprocess,
                         labels=labels)


class CompiledModel(Model):
    def __init__(self, path: str, info: dict, *, num_threads: int, isa: str, preprocess, labels):
        inputs = [Value(name, dtype, tuple(shape)) for name, dtype, shape in info["inputs"]]
        outputs = [inputs[passed] if passed >= 0 else Value(name, "float32", tuple(shape), const)
                   for name, shape, _, passed, const in info["outputs"]]
        graph = Graph(Path(path).stem, inputs, outputs, [], dict(info["metadata"]), source=path)
        if preprocess is None and info["preprocess"] is not None:
            preprocess = Preprocess.from_dict(info["preprocess"], source=f"model file {Path(path).name}")
        super().__init__(graph, "cpu", num_threads=num_threads, isa=isa, preprocess=preprocess,
                         labels=labels if labels is not None else (info["labels"] or None))
        self._probabilities = bool(info["outputs"][0][2])
        self._shapes = {v.name: tuple(v.shape) for v in inputs}
        plan = info["plan"]
        report = {"backend": "cpu", "isa": plan.isa, "num_threads": plan.num_threads,
                  "arena_bytes": plan.arena_bytes, "naive_bytes": plan.naive_bytes,
                  "kernels": dict(zip(info["step_names"], plan.step_kernels())),
                  "model_file": {"path": path, "format_version": info["version"],
                                 "producer": info["producer"], "source": info["source"],
                                 "compiled_isa": info["isa"], "compiled_arena_bytes": info["arena_bytes"],
                                 "compiled_kernels": dict(zip(info["step_names"], info["kernels"]))}}
        if plan.isa != info["isa"]:
            report["recompiled"] = (f"{Path(path).name} was compiled for {info['isa']}; "
                                    f"recompiled for this machine's {plan.isa}")
        self._exe = CpuExecutable(graph, plan, {}, report)

    @property
    def batch(self) -> int:
        first = next(iter(self._shapes.values()), ())
        return int(first[0]) if first else 1

    def compiled(self, shapes: dict[str, tuple] | None = None):
        want = {**self._shapes, **{k: tuple(v) for k, v in (shapes or {}).items()}}
        if want != self._shapes:
            got = ", ".join(f"{k} {tuple(v)}" for k, v in want.items() if v != self._shapes.get(k))
            fixed = ", ".join(f"{k} {v}" for k, v in self._shapes.items())
            raise InputError(f"{self.graph.source}: this .cnnrt file is compiled for input shape "
                             f"{fixed} only, got {got}; compile the ONNX model for that shape "
                             "(cnnrt compile MODEL.onnx -o FILE.cnnrt --batch N), or load the .onnx")
        return self._exe

    def _ends_in_softmax(self) -> bool:
        return self._probabilities

    def summary(self, batch: int = 1):
        raise CnnrtError(f"{self.graph.source}: summary() needs the layers of the ONNX model, which a "
                         ".cnnrt file does not keep; load the .onnx for it (compiled().report "
                         "has the kernels, ISA and arena)")

    def profile(self, *args, **kwargs):
        raise CnnrtError(f"{self.graph.source}: profile() maps steps to the ONNX model's layers, which "
                         "a .cnnrt file does not keep; profile the .onnx it was compiled from")
