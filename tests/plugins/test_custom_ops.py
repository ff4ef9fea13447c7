"""Custom ops (cnnrt.register_op): numpy kernels on the reference and cpu backends, attributes
reaching the kernels, several outputs, accounting, fusion passes leaving them alone, concurrent
runs through the engine's Python callback, and the errors a plugin author meets."""

import threading

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

import cnnrt
from cnnrt.plugins import custom_ops
from oracle import assert_close, random_input

BACKENDS = ("reference", "cpu")


def scaled_tanh(x, alpha, beta):  # float64 oracle, apart from the kernels under test
    return (alpha * np.tanh(beta * x.astype(np.float64))).astype(np.float32)


def register_scaled_tanh(**kw):
    """test.ops ScaledTanh(alpha, beta): y = alpha * tanh(beta * x); 6 FLOPs per element."""
    op = cnnrt.register_op("test.ops", "ScaledTanh", attrs={"alpha": 1.0, "beta": 1.0},
                           cost=lambda ins, outs, a: {"flops": 6 * int(np.prod(outs[0]))}, **kw)
    return op


def model_with(nodes, inputs, outputs, inits=(), domain="test.ops"):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
                          [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
                          list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(domain, 1)])
    m.ir_version = 8
    return m


def conv_tanh_relu_model(rng, alpha=1.5, beta=0.7):
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32) / 3
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
             helper.make_node("ScaledTanh", ["c"], ["t"], domain="test.ops", alpha=alpha, beta=beta,
                              name="tanh"),
             helper.make_node("Relu", ["t"], ["y"], name="relu")]
    return model_with(nodes, [("x", ["N", 3, 6, 6])], ["y"], [numpy_helper.from_array(w, "w")]), w


def conv_ref(x, w):
    x, w = x.astype(np.float64), w.astype(np.float64)
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    h, wd = x.shape[2:]
    out = np.zeros((x.shape[0], w.shape[0], h, wd))
    for i in range(3):
        for j in range(3):
            out += np.einsum("nchw,mc->nmhw", xp[:, :, i:i + h, j:j + wd], w[:, :, i, j])
    return out


@pytest.mark.parametrize("backend", BACKENDS)
def test_numpy_kernel_with_attributes_matches_float64_reference(backend):
    seen = []

    @register_scaled_tanh()
    def kernel(x, alpha, beta):
        seen.append((alpha, beta))
        return alpha * np.tanh(beta * x)

    rng = np.random.default_rng(1)
    model, w = conv_tanh_relu_model(rng)
    x = random_input((2, 3, 6, 6), rng)
    y = cnnrt.load(model, backend=backend).run(x)["y"]
    ref = np.maximum(1.5 * np.tanh(0.7 * conv_ref(x, w)), 0)
    assert_close(y, ref, 1e-5)
    assert seen[-1] == pytest.approx((1.5, 0.7))  # the node's attributes reach the kernel
    other, _ = conv_tanh_relu_model(rng, alpha=-2.0)
    assert not np.allclose(cnnrt.load(other, backend=backend).run(x)["y"], y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_several_outputs_and_inputs(backend):
    def halves(inputs, attrs):
        n, c, h, w = inputs[0]
        return [(n, c // 2, h, w), (n, c - c // 2, h, w)]

    @cnnrt.register_op("test.ops", "SplitMix", shape=halves)
    def split_mix(x, y):
        c = x.shape[1] // 2
        return x[:, :c] * y[:, :c], x[:, c:] - y[:, c:]

    nodes = [helper.make_node("Sigmoid", ["a"], ["s"], name="sig"),
             helper.make_node("SplitMix", ["s", "b"], ["p", "q"], domain="test.ops", name="mix"),
             helper.make_node("Relu", ["q"], ["r"], name="relu")]
    model = model_with(nodes, [("a", [2, 5, 3, 3]), ("b", [2, 5, 3, 3])], ["p", "r"])
    rng = np.random.default_rng(2)
    a, b = random_input((2, 5, 3, 3), rng), random_input((2, 5, 3, 3), rng)
    out = cnnrt.load(model, backend=backend).run({"a": a, "b": b})
    s = 1 / (1 + np.exp(-a.astype(np.float64)))
    assert_close(out["p"], s[:, :2] * b[:, :2], 1e-5, what="p")
    assert_close(out["r"], np.maximum(s[:, 2:] - b[:, 2:], 0), 1e-5, what="r")


def test_cost_is_counted_and_fusion_stops_at_the_custom_op():
    register_scaled_tanh(numpy=lambda x, alpha, beta: alpha * np.tanh(beta * x))
    model, _ = conv_tanh_relu_model(np.random.default_rng(3))
    s = cnnrt.load(model).summary(batch=2)
    row = next(r for r in s.rows if r.name == "tanh")
    assert row.op == "test.ops::ScaledTanh" and row.cost.flops == 6 * 2 * 5 * 36
    assert s.total.flops == sum(r.cost.flops for r in s.rows)
    # relu is not fused into the conv across the custom op; it stays a step of its own
    assert [r.op for r in s.optimized_rows] == ["conv3x3", "test.ops::ScaledTanh", "relu"]
    assert s.optimized_rows[1].origin == ["tanh"]


def test_constant_inputs_are_folded_with_the_numpy_kernel():
    register_scaled_tanh(numpy=lambda x, alpha, beta: alpha * np.tanh(beta * x))
    k = np.random.default_rng(4).standard_normal((1, 3, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("ScaledTanh", ["k"], ["kt"], domain="test.ops", alpha=2.0, name="tanh"),
             helper.make_node("Mul", ["x", "kt"], ["y"], name="mul")]
    model = model_with(nodes, [("x", [1, 3, 4, 4])], ["y"], [numpy_helper.from_array(k, "k")])
    m = cnnrt.load(model)
    assert list(m.compiled().report["kernels"]) == ["mul"]  # the custom op was folded away
    x = random_input((1, 3, 4, 4), np.random.default_rng(5))
    assert_close(m.run(x)["y"], x * 2 * np.tanh(k.astype(np.float64)), 1e-5)


def test_concurrent_runs_through_the_python_callback():
    """The engine releases the GIL in run() and the numpy kernel takes it back: runs from
    several threads at once (each engine run itself multi-threaded) all finish and agree."""
    register_scaled_tanh(numpy=lambda x, alpha, beta: alpha * np.tanh(beta * x))
    rng = np.random.default_rng(6)
    model, w = conv_tanh_relu_model(rng)
    m = cnnrt.load(model, backend="cpu", num_threads=2)
    xs = [random_input((1, 3, 6, 6), rng) for _ in range(4)]
    results, errors = {}, []

    def work(i):
        try:
            for _ in range(10):
                results[i] = m.run(xs[i])["y"]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads), "a run did not finish: deadlock"
    assert not errors, errors
    for i, x in enumerate(xs):
        assert_close(results[i], np.maximum(1.5 * np.tanh(0.7 * conv_ref(x, w)), 0), 1e-5, what=f"thread {i}")


# --- errors ---------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", BACKENDS)
def test_kernel_exception_names_node_op_and_file(backend):
    @register_scaled_tanh()
    def kernel(x, alpha, beta):
        raise FloatingPointError("beta out of range")

    model, _ = conv_tanh_relu_model(np.random.default_rng(7))
    m = cnnrt.load(model, backend=backend) if backend == "cpu" else None
    with pytest.raises(cnnrt.PluginError) as e:
        (m or cnnrt.load(model, backend=backend)).run(random_input((1, 3, 6, 6), np.random.default_rng(8)))
    msg = str(e.value)
    assert "'tanh'" in msg and "ScaledTanh" in msg and "FloatingPointError: beta out of range" in msg, msg
    assert __file__ in msg and msg.startswith("<memory>: ") and "At:" not in msg, msg


@pytest.mark.parametrize("backend", BACKENDS)
def test_kernel_returning_the_wrong_shape_is_refused(backend):
    register_scaled_tanh(numpy=lambda x, alpha, beta: x[:, :1])
    model, _ = conv_tanh_relu_model(np.random.default_rng(9))
    with pytest.raises(cnnrt.PluginError, match=r"returned float32\[1, 1, 6, 6\] for output 0; "
                                                 r"the shape function promised float32\[1, 5, 6, 6\]"):
        cnnrt.load(model, backend=backend).run(random_input((1, 3, 6, 6), np.random.default_rng(10)))


def test_shape_function_errors_name_the_node():
    def bad_shape(ins, attrs):
        raise ValueError("needs 4 channels")

    register_scaled_tanh(shape=bad_shape, numpy=lambda x, alpha, beta: x)
    model, _ = conv_tanh_relu_model(np.random.default_rng(11))
    with pytest.raises(cnnrt.ShapeError, match=r"<memory>: node 'tanh' \(test.ops ScaledTanh\) with input "
                                                r"shapes \[\(1, 5, 6, 6\)\]: its shape function .*bad_shape.* "
                                                r"raised ValueError: needs 4 channels"):
        cnnrt.load(model)


def test_registering_twice_is_an_error_unless_replaced():
    register_scaled_tanh()
    with pytest.raises(cnnrt.PluginError, match=r"test.ops ScaledTanh is already registered \(at .*"
                                                 r"test_custom_ops.py:\d+\)"):
        register_scaled_tanh()
    register_scaled_tanh(replace=True)
    with pytest.raises(cnnrt.PluginError, match="custom domain"):
        cnnrt.register_op("", "Relu")


def test_unregistered_custom_op_names_domain_op_node_and_file(tmp_path):
    import onnx
    model, _ = conv_tanh_relu_model(np.random.default_rng(12))
    path = tmp_path / "custom.onnx"
    onnx.save(model, path)
    with pytest.raises(cnnrt.UnsupportedOpError) as e:
        cnnrt.load(path)
    msg = str(e.value)
    assert all(s in msg for s in (str(path), "'tanh'", "test.ops ScaledTanh", "cnnrt.register_op")), msg


def test_unknown_attribute_is_refused():
    register_scaled_tanh(numpy=lambda x, alpha, beta: x)
    model, _ = conv_tanh_relu_model(np.random.default_rng(13))
    model.graph.node[1].attribute.append(helper.make_attribute("gamma", 2.0))
    with pytest.raises(cnnrt.UnsupportedOpError, match=r"'tanh'.*unknown attribute\(s\) \['gamma'\]"):
        cnnrt.load(model)


def test_op_without_any_kernel_fails_naming_op_node_and_file():
    register_scaled_tanh()
    model, _ = conv_tanh_relu_model(np.random.default_rng(14))
    with pytest.raises(cnnrt.UnsupportedOpError) as e:
        cnnrt.load(model, backend="reference")
    msg = str(e.value)
    assert all(s in msg for s in ("<memory>", "'tanh'", "test.ops::ScaledTanh", "supported by none",
                                  "reference, cpu", "kernels: none", "test_custom_ops.py")), msg


def test_cnnrt_ops_entry_point_registers_on_first_need(monkeypatch):
    from importlib import metadata
    ep = metadata.EntryPoint("scaled_tanh", f"{__name__}:_entry_point", "cnnrt.ops")
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points",
                        lambda **kw: [ep] if kw.get("group") == "cnnrt.ops" else real(**kw))
    custom_ops._entry_points_loaded = False
    rng = np.random.default_rng(15)
    model, w = conv_tanh_relu_model(rng)
    x = random_input((1, 3, 6, 6), rng)
    assert_close(cnnrt.load(model).run(x)["y"], np.maximum(1.5 * np.tanh(0.7 * conv_ref(x, w)), 0), 1e-5)


def _entry_point():
    register_scaled_tanh(numpy=lambda x, alpha, beta: alpha * np.tanh(beta * x))


def test_broken_entry_point_is_reported(monkeypatch):
    from importlib import metadata
    ep = metadata.EntryPoint("broken", "no_such_module_xyz:register", "cnnrt.ops")
    real = metadata.entry_points
    monkeypatch.setattr(metadata, "entry_points",
                        lambda **kw: [ep] if kw.get("group") == "cnnrt.ops" else real(**kw))
    custom_ops._entry_points_loaded = False
    model, _ = conv_tanh_relu_model(np.random.default_rng(16))
    with pytest.raises(cnnrt.PluginError, match=r"cnnrt.ops entry point broken = no_such_module_xyz:register "
                                                r"failed to load: ModuleNotFoundError"):
        cnnrt.load(model)


def test_attributes_the_engine_cannot_carry_fall_back_to_reference():
    seen = []

    @cnnrt.register_op("test.ops", "Tagged")
    def tagged(x, tags):
        seen.append(tags)
        return -x

    nodes = [helper.make_node("Tagged", ["x"], ["y"], domain="test.ops", tags=["a", "b"], name="tag")]
    model = model_with(nodes, [("x", [2, 3])], ["y"])
    m = cnnrt.load(model, backend="cpu")
    assert m.compiled().report["node_backends"] == {"tag": "reference"}
    x = random_input((2, 3), np.random.default_rng(17))
    assert_close(m.run(x)["y"], -x.astype(np.float64), 0)
    assert seen[-1] == ["a", "b"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_weights_count_as_params_and_inputs_are_read_only(backend):
    @cnnrt.register_op("test.ops", "ChannelScale", weights=(1,),
                       cost=lambda ins, outs, a: {"flops": int(np.prod(outs[0]))})
    def channel_scale(x, s):
        x *= 2  # a kernel must not write its inputs: refused, not silently done
        return x

    s = np.random.default_rng(18).standard_normal((1, 4, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("ChannelScale", ["x", "s"], ["y"], domain="test.ops", name="scale")]
    model = model_with(nodes, [("x", [2, 4, 3, 3])], ["y"], [numpy_helper.from_array(s, "s")])
    m = cnnrt.load(model, backend=backend)
    row = next(r for r in m.summary().rows if r.name == "scale")
    assert (row.cost.params, row.cost.flops) == (4, 72)
    x = random_input((2, 4, 3, 3), np.random.default_rng(19))
    x0 = x.copy()
    with pytest.raises(cnnrt.PluginError, match="ValueError: output array is read-only"):
        m.run(x)
    assert np.array_equal(x, x0)
