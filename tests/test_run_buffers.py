"""run() with the caller's tensors: DLPack inputs read in place, outputs written into the
caller's buffers (numpy arrays or torch tensors), and the errors for buffers that cannot be."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

import cnnrt
from oracle import make_model, random_input, run_ort


def _model(rng):
    """conv+relu -> global pool -> gemm (logits), plus the conv output and the input itself
    (through an Identity) as outputs: engine outputs and one the engine never sees."""
    nodes = [helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("Gemm", ["f", "fw", "fb"], ["logits"], transB=1),
             helper.make_node("Identity", ["x"], ["echo"])]
    inits = {"w": rng.standard_normal((8, 3, 3, 3)).astype(np.float32) * 0.3,
             "b": rng.standard_normal(8).astype(np.float32),
             "fw": rng.standard_normal((5, 8)).astype(np.float32),
             "fb": rng.standard_normal(5).astype(np.float32)}
    return make_model(nodes, [("x", [2, 3, 9, 9])],
                      [("logits", [2, 5]), ("r", [2, 8, 9, 9]), ("echo", [2, 3, 9, 9])], inits)


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng()
    proto = _model(rng)
    return proto, cnnrt.load(proto)


@pytest.mark.parametrize("backend", ["cpu", "reference"])
@pytest.mark.parametrize("form", ["dict", "list"])
def test_out_buffers_are_filled_in_place(case, backend, form):
    proto, cpu = case
    m = cpu if backend == "cpu" else cnnrt.load(proto, backend="reference")
    x = random_input((2, 3, 9, 9), np.random.default_rng())
    ref = run_ort(proto, {"x": x})
    bufs = [np.full((2, 5), np.nan, np.float32), np.full((2, 8, 9, 9), np.nan, np.float32),
            np.full((2, 3, 9, 9), np.nan, np.float32)]
    out = dict(zip(m.outputs, bufs)) if form == "dict" else list(bufs)
    got = m.run(x, out=out)
    for name, buf, r in zip(m.outputs, bufs, ref):
        assert got[name] is buf  # the caller's own array, filled
        np.testing.assert_allclose(buf, r, rtol=1e-4, atol=1e-5 * np.abs(r).max())
    np.testing.assert_array_equal(bufs[2], x)  # the input passed through (not via the engine)


def test_torch_tensors_in_and_out_without_copies(case):
    torch = pytest.importorskip("torch")
    proto, m = case
    x = torch.randn(2, 3, 9, 9)
    from cnnrt.tensors import as_array
    assert np.shares_memory(as_array(x, "x"), x.numpy())  # read in place through DLPack
    ref = run_ort(proto, {"x": x.numpy()})
    outs = [torch.empty(2, 5), torch.empty(2, 8, 9, 9), torch.empty(2, 3, 9, 9)]
    m.run(x, out=outs)
    for t, r in zip(outs, ref):
        np.testing.assert_allclose(t.numpy(), r, rtol=1e-4, atol=1e-5 * np.abs(r).max())
    # results returned as numpy export DLPack: torch shares their memory
    logits = m.run(x)["logits"]
    t = torch.from_dlpack(logits)
    t[0, 0] = 123.0
    assert logits[0, 0] == 123.0


def test_strided_inputs_are_still_right(case):
    """A non-contiguous view (a DLPack tensor may be one) is copied once, not misread."""
    proto, m = case
    big = random_input((2, 3, 9, 18), np.random.default_rng())
    x = big[..., ::2]
    ref = run_ort(proto, {"x": np.ascontiguousarray(x)})
    np.testing.assert_allclose(m.run(x)["logits"], ref[0], rtol=1e-4, atol=1e-5)


class _DeviceTensor:
    """Stands for a GPU tensor (cupy, torch cuda): DLPack device type 2 (kDLCUDA)."""

    def __dlpack_device__(self):
        return (2, 1)

    def __dlpack__(self, stream=None):
        raise AssertionError("must not be read")


def _good_outs():
    return [np.empty((2, 5), np.float32), np.empty((2, 8, 9, 9), np.float32),
            np.empty((2, 3, 9, 9), np.float32)]


@pytest.mark.parametrize("spoil, words", [
    (lambda o: o.__setitem__(0, np.empty((2, 6), np.float32)), ["'logits'", "shape (2, 6)", "(2, 5)"]),
    (lambda o: o.__setitem__(0, np.empty((2, 5), np.float64)), ["'logits'", "float64"]),
    (lambda o: o.__setitem__(1, np.empty((2, 8, 9, 18), np.float32)[..., ::2]), ["'r'", "C-contiguous"]),
    (lambda o: o[0].setflags(write=False), ["'logits'", "read-only"]),
    (lambda o: o.__setitem__(2, o[1].reshape(-1)[:486].reshape(2, 3, 9, 9)), ["'r' overlaps 'echo'"]),
    (lambda o: o.pop(), ["every output", "missing ['echo']"]),
    (lambda o: o.__setitem__(0, _DeviceTensor()), ["'logits'", "cuda:1"]),
])
def test_bad_out_buffers_are_refused_by_name(case, spoil, words):
    _, m = case
    outs = _good_outs()
    spoil(outs)
    with pytest.raises(cnnrt.InputError) as e:  # a dict short of an output, else the list
        m.run(random_input((2, 3, 9, 9), np.random.default_rng()),
              out=outs if len(outs) == 3 else dict(zip(m.outputs, outs)))
    for w in words:
        assert w in str(e.value)


def test_output_overlapping_an_input_is_refused(case):
    _, m = case
    x = random_input((2, 3, 9, 9), np.random.default_rng())
    outs = _good_outs()
    outs[2] = x  # the Identity output written over the input it reads
    with pytest.raises(cnnrt.InputError, match="overlaps 'x'"):
        m.run(x, out=outs)


def test_device_input_is_refused_not_copied(case):
    _, m = case
    with pytest.raises(cnnrt.InputError, match=r"input 'x' lives on device cuda:1"):
        m.run(_DeviceTensor())


def test_an_executable_without_its_graph_says_out_cannot_be_checked():
    from cnnrt.backends.base import Executable

    class PluginExecutable(Executable):  # a third-party backend's, keeping no graph
        pass

    with pytest.raises(cnnrt.BackendError, match=r"PluginExecutable .* run\(\) without out="):
        PluginExecutable().output_shapes()
