"""onnxruntime as the oracle: the ONNX model run as written (graph optimizations off), and any
value in it on demand (added as a graph output)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from ..errors import CnnrtError, ModelLoadError


def onnx_proto(model) -> onnx.ModelProto:
    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, (bytes, bytearray)):
        return onnx.load_from_string(bytes(model))
    from ..model_file import is_model_file
    path = str(model)
    if is_model_file(path):
        raise ModelLoadError(f"{path}: a compiled .cnnrt file holds no ONNX model for onnxruntime; "
                             "pass the ONNX model it was compiled from as onnx_model=")
    if not Path(path).is_file():
        raise ModelLoadError(f"{path}: verify needs the ONNX model for onnxruntime; pass "
                             f"onnx_model= (a path, ModelProto or bytes)")
    return onnx.load(path)


class OrtOracle:
    """onnxruntime on the ONNX model, optionally with some intermediate values as outputs."""

    def __init__(self, proto: onnx.ModelProto, source: str, num_threads: int):
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            raise CnnrtError("verify needs onnxruntime: pip install onnxruntime") from None
        self.proto, self.source, self.num_threads = proto, source, num_threads
        self.sess = self._session(proto)
        self.output_names = [o.name for o in self.sess.get_outputs()]
        self.values = {o for n in proto.graph.node for o in n.output if o}

    def _session(self, proto):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        if self.num_threads:
            so.intra_op_num_threads = self.num_threads
        try:
            return ort.InferenceSession(proto.SerializeToString(), so,
                                        providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime's own error types
            raise CnnrtError(f"{self.source}: onnxruntime cannot load the model: {e}") from None

    def run(self, feeds: dict) -> list[np.ndarray]:
        return self.sess.run(None, feeds)

    def value(self, name: str, feeds: dict) -> np.ndarray:
        probe = onnx.ModelProto()
        probe.CopyFrom(self.proto)
        probe.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
        return self._session(probe).run([name], feeds)[0]


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / ||b|| (norm-wise over all elements); 0 when both are zero."""
    num, den = float(np.linalg.norm((a - b).ravel())), float(np.linalg.norm(b.ravel()))
    if den == 0:
        return 0.0 if num == 0 else float("inf")
    return num / den
