"""benchmarks/torch_peer.py (the PyTorch eager baseline of the GPU benchmark) on the CPU, float32:
zoo models against onnxruntime, and the ops whose torch mapping is not one-to-one (asymmetric
and ceil-mode pools, even-size LRN, opset<13 softmax, pad modes, negative-step slice) against
cnnrt's reference backend, which is the spec."""

import functools
import os
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")

import cnnrt  # noqa: E402
import cnnrt.models as zoo  # noqa: E402
from cnnrt.frontend.onnx import import_onnx  # noqa: E402
from cnnrt.passes.pipeline import prepare  # noqa: E402
from oracle import single_op  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
from torch_peer import to_torch  # noqa: E402


def _peer(proto, batch):
    g = import_onnx(proto)
    inp = g.inputs[0]
    shape = (batch, *inp.shape[1:])
    return to_torch(prepare(g, {inp.name: shape}, optimize=False)).eval(), inp.name, shape


@functools.lru_cache(maxsize=None)
def _build(name, **opts):  # building the random weights is most of this file's time
    return zoo.build(name, weights="random", seed=0, **opts)


def _rel(a, b):
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


# every builder but lenet5 takes size=; reduced resolutions keep this fast
ZOO = [("lenet5", {}), ("alexnet", {"size": 64}), ("googlenet", {"size": 64}),
       ("resnet18", {"size": 32}), ("efficientnet_b0", {"size": 32}), ("vgg19", {"size": 32})]


@pytest.mark.parametrize("name,opts", ZOO, ids=[z[0] for z in ZOO])
def test_zoo_model_matches_onnxruntime(name, opts):
    proto = _build(name, **opts)
    peer, inp, shape = _peer(proto, 2)
    sess = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(7)
    outs = []
    for _ in range(2):  # two fresh inputs: the outputs must depend on them
        x = rng.standard_normal(shape).astype(np.float32)
        ref = sess.run(None, {inp: x})[0]
        with torch.inference_mode():
            y = peer(torch.from_numpy(x)).numpy()
        assert y.shape == ref.shape
        assert _rel(y, ref) < 1e-4, f"{name}: rel err {_rel(y, ref):.2e}"
        outs.append(y)
    assert _rel(outs[0], outs[1]) > 1e-2, f"{name}: output barely depends on the input"


def test_module_conversions():
    """Buffers follow .to(dtype) and channels_last; one output comes back as one tensor."""
    proto = _build("resnet18", size=32)
    peer, _, shape = _peer(proto, 1)
    x = torch.randn(shape)
    with torch.inference_mode():
        ref = peer(x)
        peer = peer.to(torch.float64).to(memory_format=torch.channels_last)
        y = peer(x.double().contiguous(memory_format=torch.channels_last))
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float64
    assert _rel(y.float().numpy(), ref.numpy()) < 1e-4


CASES = [  # (op, input shapes, attrs, opset)
    ("MaxPool", [(1, 3, 9, 8)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [0, 1, 2, 0],
                                 "ceil_mode": 1}, 17),
    ("MaxPool", [(1, 2, 10, 10)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
                                   "dilations": [2, 2]}, 17),
    ("MaxPool", [(1, 2, 7, 7)], {"kernel_shape": [2, 2], "auto_pad": "SAME_UPPER"}, 17),
    ("AveragePool", [(2, 3, 9, 9)], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1],
                                     "ceil_mode": 1, "count_include_pad": 1}, 17),
    ("AveragePool", [(1, 3, 8, 7)], {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [0, 1, 2, 0],
                                     "count_include_pad": 0}, 17),
    ("AveragePool", [(1, 3, 8, 7)], {"kernel_shape": [3, 3], "strides": [2, 1], "pads": [2, 1, 1, 0],
                                     "count_include_pad": 1, "ceil_mode": 1}, 17),
    ("LRN", [(2, 7, 3, 4)], {"size": 4, "alpha": 0.01, "beta": 0.75, "bias": 1.5}, 17),
    ("LRN", [(2, 7, 3, 4)], {"size": 5, "alpha": 0.02, "beta": 0.6, "bias": 1.0}, 17),
    ("Softmax", [(2, 3, 4)], {"axis": 1}, 11),
    ("Softmax", [(2, 3, 4)], {"axis": 1}, 17),
    ("Conv", [(1, 4, 9, 9), (6, 2, 3, 3)], {"group": 2, "strides": [2, 1], "pads": [0, 1, 2, 1],
                                            "dilations": [1, 2]}, 17),
    ("Gemm", [(3, 5), (4, 5), (4,)], {"transB": 1, "alpha": 0.5, "beta": 2.0}, 17),
    ("Gemm", [(5, 3), (5, 4)], {"transA": 1}, 17),
    ("HardSigmoid", [(2, 5)], {"alpha": 0.3, "beta": 0.4}, 17),
    ("LeakyRelu", [(2, 5)], {"alpha": 0.2}, 17),
    ("Transpose", [(2, 3, 4)], {"perm": [2, 0, 1]}, 17),
]


def _check_against_reference(model, feeds):
    # only x0 is a runtime input for the peer: the others are bound as constants
    ref = cnnrt.load(model, backend="reference", optimize=False).run(feeds)
    ref = ref[next(iter(ref))] if isinstance(ref, dict) else ref[0]
    g = import_onnx(model)
    for v in g.inputs[1:]:  # fold the other inputs into constants
        v.const = feeds[v.name]
    g.inputs = g.inputs[:1]
    peer = to_torch(prepare(g, {g.inputs[0].name: feeds["x0"].shape}, optimize=False))
    with torch.inference_mode():
        y = peer(torch.from_numpy(feeds["x0"])).numpy()
    assert y.shape == ref.shape
    assert _rel(y, ref) < 1e-5, f"rel err {_rel(y, ref):.2e}"


@pytest.mark.parametrize("op,shapes,attrs,opset", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_op_matches_reference(op, shapes, attrs, opset):
    model, feeds = single_op(op, shapes, attrs, rng=np.random.default_rng(3), opset=opset)
    _check_against_reference(model, feeds)


@pytest.mark.parametrize("mode,pads", [("constant", [0, 0, 1, -1, 0, 0, 2, 1]),
                                       ("reflect", [0, 0, 1, 2, 0, 0, 2, 1]),
                                       ("edge", [0, 0, 0, 1, 0, 0, 2, 0])])
def test_pad(mode, pads):
    model, feeds = single_op("Pad", [(1, 2, 4, 5)], {"mode": mode}, rng=np.random.default_rng(4),
                             initializers={"p": np.array(pads, np.int64)}, extra_inputs=["p"])
    _check_against_reference(model, feeds)


def test_slice_negative_step():
    init = {"s": np.array([-1, 4], np.int64), "e": np.array([-100, 0], np.int64),
            "a": np.array([2, 3], np.int64), "st": np.array([-2, -1], np.int64)}
    model, feeds = single_op("Slice", [(1, 2, 7, 6)], rng=np.random.default_rng(5),
                             initializers=init, extra_inputs=["s", "e", "a", "st"])
    _check_against_reference(model, feeds)


def test_unsupported_op_names_node():
    from cnnrt.ir import Graph, Node, Value
    x, y = Value("x", shape=(1, 2)), Value("y", shape=(1, 2))
    g = Graph("g", [x], [y], [Node("made_up", "weird_node", [x], [y])])
    with pytest.raises(NotImplementedError, match="made_up.*weird_node"):
        to_torch(g)
