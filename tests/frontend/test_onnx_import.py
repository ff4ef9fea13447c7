"""The ONNX frontend: opset-versioned converters, constants, IR versions, PyTorch shape chains,
external data, and every load/convert error naming what is at fault."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import cnnrt
from cnnrt.errors import ModelLoadError, ModelNotFoundError, UnsupportedOpError
from cnnrt.frontend.onnx import import_onnx, register_converter
from cnnrt.frontend.onnx_registry import CONVERTERS, OnnxOpConverter
from oracle import assert_close, make_model, random_input, run_cnnrt, run_ort


def _ops(graph):
    return [n.op for n in graph.nodes]


def _relu_model(opset=13, **kw):
    return make_model([helper.make_node("Relu", ["x"], ["y"], name="r")], [("x", [2, 3])], [("y", [2, 3])],
                      opset=opset, **kw)


# --- opset selection -------------------------------------------------------------------------

def test_highest_impl_not_above_opset_is_picked():
    class Fake(OnnxOpConverter):
        @classmethod
        def _impl_v1(cls, ctx, node): return 1

        @classmethod
        def _impl_v11(cls, ctx, node): return 11

        @classmethod
        def _impl_v13(cls, ctx, node): return 13

    assert Fake.versions() == [1, 11, 13]
    assert [Fake.get_converter(o)(None, None) for o in (1, 10, 11, 12, 13, 21)] == [1, 1, 11, 11, 13, 13]


def test_softmax_11_vs_13():
    for opset, coerce in ((11, 1), (13, 0)):
        m = make_model([helper.make_node("Softmax", ["x"], ["y"])], [("x", [2, 3, 4])], [("y", [2, 3, 4])], opset=opset)
        (n,) = import_onnx(m).nodes
        assert n.op == "softmax" and n.attrs.get("coerce_2d", 0) == coerce
        assert n.attrs["axis"] == (1 if opset == 11 else -1)
        x = random_input((2, 3, 4), np.random.default_rng(opset))
        assert_close(run_cnnrt(m, {"x": x})[0], run_ort(m, {"x": x})[0])


def test_clip_6_vs_11():
    m6 = make_model([helper.make_node("Clip", ["x"], ["y"], min=-0.5, max=0.25)], [("x", [4])], [("y", [4])], opset=6)
    m11 = make_model([helper.make_node("Clip", ["x", "lo", "hi"], ["y"])], [("x", [4])], [("y", [4])],
                     {"lo": np.array(-0.5, np.float32), "hi": np.array(0.25, np.float32)}, opset=11)
    for m in (m6, m11):
        (n,) = import_onnx(m).nodes
        assert (n.op, n.attrs["act"], n.attrs["alpha"], n.attrs["beta"]) == ("activation", "clip", -0.5, 0.25)
        assert len(n.inputs) == 1


def test_clip_runtime_bound_is_refused():
    m = make_model([helper.make_node("Clip", ["x", "lo"], ["y"], name="c")], [("x", [4]), ("lo", [])], [("y", [4])], opset=13)
    with pytest.raises(UnsupportedOpError, match=r"'c'.*Clip.*min"):
        import_onnx(m)


def test_split_11_vs_13():
    m11 = make_model([helper.make_node("Split", ["x"], ["a", "b"], axis=1, split=[1, 3])], [("x", [2, 4])],
                     [("a", [2, 1]), ("b", [2, 3])], opset=11)
    m13 = make_model([helper.make_node("Split", ["x", "s"], ["a", "b"], axis=1)], [("x", [2, 4])],
                     [("a", [2, 1]), ("b", [2, 3])], {"s": np.array([1, 3], np.int64)}, opset=13)
    for m in (m11, m13):
        (n,) = import_onnx(m).nodes
        assert n.op == "split" and n.inputs[1].const.tolist() == [1, 3] and len(n.outputs) == 2
        x = random_input((2, 4), np.random.default_rng(1))
        for o, r in zip(run_cnnrt(m, {"x": x}), run_ort(m, {"x": x})):
            assert_close(o, r)


def test_op_newer_than_the_model_opset_is_unsupported():
    m = make_model([helper.make_node("HardSwish", ["x"], ["y"])], [("x", [4])], [("y", [4])], opset=14)
    m.opset_import[0].version = 13  # HardSwish appeared in opset 14
    with pytest.raises(UnsupportedOpError, match=r"HardSwish \(opset 13\)"):
        import_onnx(m)


# --- constants, inputs, names --------------------------------------------------------------

def test_initializers_listed_as_inputs_are_constants_ir3():
    rng = np.random.default_rng(0)
    w = random_input((4, 3, 3, 3), rng)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1])], [("x", ["N", 3, 5, 5])],
                   [("y", None)], {"w": w}, opset=7, ir_version=3)
    assert {i.name for i in m.graph.input} == {"x", "w"}
    g = import_onnx(m)
    assert [v.name for v in g.inputs] == ["x"]
    assert g.inputs[0].shape == ("N", 3, 5, 5) and g.inputs[0].dtype == "float32"
    wv = g.nodes[0].inputs[1]
    assert wv.is_const and not wv.const.flags.writeable and np.array_equal(wv.const, w)
    x = random_input((2, 3, 5, 5), rng)
    assert_close(run_cnnrt(m, {"x": x})[0], run_ort(m, {"x": x})[0])


def test_ir_version_10():
    m = _relu_model(opset=21, ir_version=10)
    x = random_input((2, 3), np.random.default_rng(2))
    assert_close(run_cnnrt(m, {"x": x})[0], np.maximum(x, 0))
    assert_close(run_ort(m, {"x": x})[0], np.maximum(x, 0))


def test_constant_nodes_become_constant_values():
    c = helper.make_node("Constant", [], ["c"], value=numpy_helper.from_array(np.arange(1, 4, dtype=np.float32), "v"))
    f = helper.make_node("Constant", [], ["f"], value_float=2.5)
    add = helper.make_node("Add", ["x", "c"], ["t"])
    mul = helper.make_node("Mul", ["t", "f"], ["y"])
    g = import_onnx(make_model([c, f, add, mul], [("x", [2, 3])], [("y", [2, 3])]))
    assert _ops(g) == ["binary", "binary"]
    assert g.nodes[0].inputs[1].const.tolist() == [1, 2, 3] and g.nodes[0].inputs[1].name == "c"
    assert g.nodes[1].inputs[1].const.dtype == np.float32 and float(g.nodes[1].inputs[1].const) == 2.5


def test_input_types_metadata_source_and_names(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["batch", 3, None])
    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, [5])
    nodes = [helper.make_node("Cast", ["x"], [""], to=TensorProto.FLOAT),  # an empty output name
             helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Relu", ["r"], ["y"])]
    m = make_model(nodes, [x, ids], [("y", None)], check=False)
    helper.set_model_props(m, {"cnnrt.arch": "toy", "author": "me"})
    path = tmp_path / "toy.onnx"
    onnx.save(m, path)
    g = import_onnx(path)
    assert g.source == str(path) and g.metadata == {"cnnrt.arch": "toy", "author": "me"}
    assert g.inputs[0].dtype == "float16" and g.inputs[1].dtype == "int64" and g.inputs[1].shape == (5,)
    assert g.inputs[0].shape[:2] == ("batch", 3) and isinstance(g.inputs[0].shape[2], str)
    names = [v.name for v in g.values()]
    assert len(names) == len(set(names)) and "" not in names
    node_names = [n.name for n in g.nodes]
    assert node_names == ["Cast_0", "Relu_1", "Relu_2"] and [n.origin for n in g.nodes] == [[s] for s in node_names]
    assert import_onnx(m).source == "<memory>"


def test_gemm_constant_b_is_transposed_and_scaled_without_touching_the_initializer():
    rng = np.random.default_rng(4)
    b, c = random_input((5, 4), rng), random_input((4,), rng)
    m = make_model([helper.make_node("Gemm", ["a", "B", "C"], ["y"], alpha=2.0, beta=0.5)], [("a", [3, 5])],
                   [("y", [3, 4])], {"B": b, "C": c}, opset=13)
    g = import_onnx(m)
    (n,) = g.nodes
    assert n.op == "gemm"
    np.testing.assert_allclose(n.inputs[1].const, 2.0 * b.T)
    np.testing.assert_allclose(n.inputs[2].const, 0.5 * c)
    assert np.array_equal(numpy_helper.to_array(m.graph.initializer[0]), b)


def test_pytorch_flatten_chain():
    """x.view(x.size(0), -1) as exported by torch.onnx: Shape -> Gather -> Unsqueeze -> Concat -> Reshape."""
    rng = np.random.default_rng(5)
    nodes = [helper.make_node("Shape", ["x"], ["s"]),
             helper.make_node("Constant", [], ["i0"], value=numpy_helper.from_array(np.array(0, np.int64), "v")),
             helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             helper.make_node("Constant", [], ["ax"], value=numpy_helper.from_array(np.array([0], np.int64), "v")),
             helper.make_node("Unsqueeze", ["n", "ax"], ["n1"]),
             helper.make_node("Constant", [], ["m1"], value=numpy_helper.from_array(np.array([-1], np.int64), "v")),
             helper.make_node("Concat", ["n1", "m1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["x", "shape"], ["flat"]),
             helper.make_node("Gemm", ["flat", "W", "B"], ["y"], transB=1)]
    inits = {"W": random_input((10, 48), rng), "B": random_input((10,), rng)}
    m = make_model(nodes, [("x", ["N", 3, 4, 4])], [("y", ["N", 10])], inits, opset=13)
    assert _ops(import_onnx(m)) == ["shape", "gather", "unsqueeze", "concat", "reshape", "gemm"]
    x = random_input((2, 3, 4, 4), rng)
    assert_close(run_cnnrt(m, {"x": x})[0], run_ort(m, {"x": x})[0])


def test_external_data(tmp_path):
    rng = np.random.default_rng(6)
    w = random_input((8, 3, 3, 3), rng)
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"])], [("x", [1, 3, 6, 6])], [("y", None)], {"w": w})
    x = random_input((1, 3, 6, 6), rng)
    ref = run_ort(m, {"x": x})[0]
    path = tmp_path / "big.onnx"
    onnx.save(m, path, save_as_external_data=True, all_tensors_to_one_file=True, location="big.weights",
              size_threshold=0)
    assert (tmp_path / "big.weights").exists()
    assert onnx.load(path, load_external_data=False).graph.initializer[0].data_location == TensorProto.EXTERNAL
    g = import_onnx(path)
    wv = g.nodes[0].inputs[1]
    assert np.array_equal(wv.const, w) and not wv.const.flags.writeable
    assert_close(run_cnnrt(str(path), {"x": x})[0], ref)
    (tmp_path / "big.weights").unlink()
    with pytest.raises(ModelLoadError, match="big.weights"):
        import_onnx(path)


# --- errors --------------------------------------------------------------------------------

def test_missing_file(tmp_path):
    with pytest.raises(ModelNotFoundError, match="absent.onnx"):
        import_onnx(tmp_path / "absent.onnx")


@pytest.mark.parametrize("content", ["random", "text", "truncated", "empty"])
def test_not_onnx(tmp_path, content):
    rng = np.random.default_rng(7)
    if content == "random":
        data = rng.bytes(2000)
    elif content == "text":
        data = b"name,value\nresnet,152\nthis is not a model\n"
    elif content == "empty":
        data = b""
    else:
        m = make_model([helper.make_node("Conv", ["x", "w"], ["y"])], [("x", [1, 3, 6, 6])], [("y", None)],
                       {"w": random_input((8, 3, 3, 3), rng)})
        full = m.SerializeToString()
        data = full[: len(full) // 2]
    p = tmp_path / f"{content}.onnx"
    p.write_bytes(data)
    with pytest.raises(ModelLoadError, match=f"{content}.onnx"):
        import_onnx(p)


def test_no_default_domain_opset():
    m = _relu_model()
    m.opset_import[0].domain = "com.example"
    with pytest.raises(ModelLoadError, match="no opset for the default ONNX domain"):
        import_onnx(m)


def test_unsupported_op_message_names_op_node_opset_file(tmp_path):
    m = make_model([helper.make_node("Resize", ["x", "", "sc"], ["y"], name="Resize_12")], [("x", [1, 1, 2, 2])],
                   [("y", None)], {"sc": np.array([1, 1, 2, 2], np.float32)}, opset=13)
    p = tmp_path / "model.onnx"
    onnx.save(m, p)
    with pytest.raises(UnsupportedOpError) as e:
        cnnrt.load(str(p)) if hasattr(cnnrt, "load") else import_onnx(p)
    assert str(e.value) == f"{p}: node 'Resize_12' uses op Resize (opset 13), which cnnrt does not support"


@pytest.mark.parametrize("dims", [1, 3])
def test_non_2d_conv_is_unsupported(dims):
    x_shape, w_shape = [1, 2] + [5] * dims, [3, 2] + [3] * dims
    m = make_model([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], [("x", x_shape)], [("y", None)],
                   {"w": random_input(w_shape, np.random.default_rng(dims))})
    with pytest.raises(UnsupportedOpError, match=rf"'c'.*Conv.*{dims}-D"):
        import_onnx(m)


@pytest.mark.parametrize("case", ["dropout_mask", "bn_training", "maxpool_indices", "pool_1d", "pad_wrap"])
def test_unsupported_features(case):
    x = [("x", [1, 2, 4, 4])]
    c = lambda a: np.asarray(a, np.float32)
    if case == "dropout_mask":
        m = make_model([helper.make_node("Dropout", ["x"], ["y", "mask"])], x, [("y", None), ("mask", None, TensorProto.BOOL)])
    elif case == "bn_training":
        m = make_model([helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], training_mode=1)], x,
                       [("y", [1, 2, 4, 4])], {k: c([1, 1]) for k in "sbmv"}, opset=15, check=False)
    elif case == "maxpool_indices":
        m = make_model([helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[2, 2])], x,
                       [("y", None), ("i", None, TensorProto.INT64)])
    elif case == "pool_1d":
        m = make_model([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2])], [("x", [1, 2, 4])], [("y", None)])
    else:
        m = make_model([helper.make_node("Pad", ["x", "p"], ["y"], mode="wrap")], x, [("y", None)],
                       {"p": np.zeros(8, np.int64)}, opset=19)
    with pytest.raises(UnsupportedOpError):
        import_onnx(m)


def test_custom_domain_and_register_converter():
    m = make_model([helper.make_node("Swish", ["x"], ["y"], domain="com.acme", name="sw")], [("x", [3])], [("y", [3])],
                   check=False)
    m.opset_import.append(helper.make_opsetid("com.acme", 1))
    with pytest.raises(UnsupportedOpError, match=r"'sw' uses op com.acme Swish \(opset 1\)"):
        import_onnx(m)

    def swish(ctx, node):
        return [ctx.emit1("activation", [node.input(0)], {"act": "silu"})]

    register_converter("Swish", swish, domain="com.acme")
    try:
        g = import_onnx(m)
        assert [(n.op, n.attrs["act"], n.origin) for n in g.nodes] == [("activation", "silu", ["sw"])]
        x = random_input((3,), np.random.default_rng(8))
        assert_close(run_cnnrt(m, {"x": x})[0], x / (1 + np.exp(-x)))
    finally:
        CONVERTERS.pop(("com.acme", "Swish"))
