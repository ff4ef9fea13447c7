"""The ONNX backend node tests (onnx.backend.test) for the ops cnnrt supports, run through
cnnrt's whole pipeline (cnnrt.load: import, shape inference + folding, optimization, backend).

The backend is $CNNRT_CONFORMANCE_BACKEND, by default "cpu" where it is built, else "reference".
Tests are included per supported op; the exclusions below each say why.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import onnx.backend.base
import onnx.backend.test

import cnnrt


def _default_backend() -> str:
    if "cpu" in cnnrt.backends() and cnnrt.get_backend("cpu").available():
        return "cpu"
    return "reference"


BACKEND = os.environ.get("CNNRT_CONFORMANCE_BACKEND") or _default_backend()


# Inputs that cnnrt needs as constants (shape arguments, Clip bounds, indices): in the node tests
# they are graph inputs; the adapter binds them as initializers with the values of each run,
# as an exporter would have written them. (ONNX op -> input positions)
STATIC_INPUTS = {"Clip": (1, 2), "Reshape": (1,), "Slice": (1, 2, 3, 4), "Pad": (1, 2, 3),
                 "ReduceMean": (1,), "Squeeze": (1,), "Unsqueeze": (1,), "Gather": (1,),
                 "Split": (1,), "ConstantOfShape": (0,), "Dropout": (1, 2),
                 # weights: initializers in every real model, and the cpu backend packs them at compile
                 "Conv": (1, 2)}


class CnnrtRep(onnx.backend.base.BackendRep):
    def __init__(self, model: onnx.ModelProto):
        self.proto = model
        self.inputs = [i.name for i in model.graph.input]
        self.static = {n.input[i] for n in model.graph.node for i in STATIC_INPUTS.get(n.op_type, ())
                       if i < len(n.input) and n.input[i]} & set(self.inputs)
        self.model = None if self.static else cnnrt.load(model, backend=BACKEND)

    def run(self, inputs, **kwargs):
        feeds = {n: np.asarray(a) for n, a in zip(self.inputs, inputs)}
        model = self.model
        if model is None:
            frozen = onnx.ModelProto()
            frozen.CopyFrom(self.proto)
            kept = [i for i in frozen.graph.input if i.name not in self.static]
            del frozen.graph.input[:]
            frozen.graph.input.extend(kept)
            frozen.graph.initializer.extend(onnx.numpy_helper.from_array(feeds.pop(n), n) for n in self.static)
            model = cnnrt.load(frozen, backend=BACKEND)
        out = model.run(feeds)
        return [out[n] for n in model.outputs]


class CnnrtBackend(onnx.backend.base.Backend):
    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device == "CPU"

    @classmethod
    def prepare(cls, model, device="CPU", **kwargs):
        super().prepare(model, device, **kwargs)
        return CnnrtRep(model)


# ONNX test-name stems of the supported ops (node tests are named test_<op>[_variant]_cpu).
SUPPORTED = [
    "add", "sub", "mul", "div", "pow", "max", "min", "sum", "relu", "leakyrelu", "sigmoid", "tanh",
    "hardsigmoid", "hardswish", "clip", "basic_conv", "conv_with", "batchnorm", "maxpool",
    "averagepool", "globalaveragepool", "globalmaxpool", "lrn", "gemm", "matmul", "flatten",
    "reshape", "transpose", "concat", "split", "softmax", "dropout", "identity", "constant_pad",
    "edge_pad", "reflect_pad", "reduce_mean", "squeeze", "unsqueeze", "constant",
    "constantofshape", "shape", "gather", "cast", "slice",
]

EXCLUDED = [
    # cnnrt models take float32 inputs (Model.run converts to float32): graph inputs of other
    # dtypes (int32/int64 data, float16/float64 data) cannot be fed
    r"_int(32|64)(_|$)", r"_float(16|64)(_|$)", r"^test_cast_(DOUBLE|FLOAT16)_to_",
    r"^test_(edge|reflect)_pad_cpu",  # int32 data
    # function-expanded variants use ops outside cnnrt's op set (Less, Where, CastLike, ReduceMax)
    r"_expanded",
    # dtypes outside cnnrt's scope (float CNN inference): 8/16-bit and unsigned integer
    # arithmetic, float8/float4/int4/int2/bfloat16 casts
    r"_u?int(8|16)(_|$)", r"_uint(32|64)(_|$)", r"^test_cast_.*(FLOAT8|FLOAT4|INT4|INT2|UINT4|UINT2|BFLOAT16|E8M0|e8m0)",
    r"^test_maxpool_2d_uint8", r"^test_pow_types_.*uint",
    # 1-D and 3-D windows: cnnrt's conv and pools are 2-D only (UnsupportedOpError by design)
    r"_1d_default", r"_3d_",
    # training-time behaviour: batch statistics, random dropout and its mask
    r"_training_mode", r"^test_dropout_default_mask", r"^test_dropout_random",
    # MaxPool's argmax Indices output, dilated AveragePool (opset 19): not in cnnrt's op set
    r"^test_maxpool_with_argmax", r"^test_averagepool_2d_dilations",
    # different ops that share a name prefix: GatherElements, SplitToSequence, Identity of
    # sequences/optionals, ConstantOfShape/Split with zero-size tensors (no zero-size buffers)
    r"^test_gather_elements", r"^test_split_to_sequence", r"^test_identity_(opt|sequence)",
    r"^test_constantofshape_int_shape_zero", r"^test_split_zero_size_splits",
]

if BACKEND == "cpu":
    # the cpu engine computes in float32 only; other output dtypes are refused with
    # UnsupportedOpError (tests/ops/test_cast.py checks that)
    EXCLUDED += [r"^test_cast_FLOAT_to_(DOUBLE|FLOAT16|STRING)"]

backend_test = onnx.backend.test.BackendTest(CnnrtBackend, __name__)
backend_test.include(rf"^test_({'|'.join(SUPPORTED)})(_.*)?_cpu$")
for pattern in EXCLUDED:
    backend_test.exclude(pattern)
# only the node tests: the model zoo / pytorch-converted ones need downloads or other ops
backend_test.exclude(r"^test_(operator|Conv|BatchNorm|MaxPool|AvgPool|Softmax|Linear|PReLU|ReLU)")

globals().update(backend_test.test_cases)
