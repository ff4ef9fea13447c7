"""Each pass: an input graph vs the expected graph, plus the same numbers before and after."""

import numpy as np
import pytest

from cnnrt.passes.dce import eliminate_dead_code
from cnnrt.passes.eliminate_concat import eliminate_concat
from cnnrt.passes.fold_batch_norm import fold_batch_norm
from cnnrt.passes.fuse_activation import fuse_activation
from cnnrt.passes.fuse_residual import fuse_residual
from cnnrt.passes.infer_shapes import infer_shapes
from cnnrt.passes.pipeline import prepare
from cnnrt.passes.remove_identity import remove_identity
from pass_graphs import G, describe, run_reference


def conv(g, x, cin, cout, k=3, name=None, bias=True, **attrs):
    w = g.const(f"w{g.count}", (cout, cin, k, k), scale=(2 / (cin * k * k)) ** 0.5)
    b = g.const(f"b{g.count}", (cout,), scale=0.1) if bias else None
    return g.node("conv", [x, w, b], name=name, pads=[k // 2] * 4, **attrs)


def bn(g, x, c):
    return g.node("batch_norm", [x, g.const("s", (c,), positive=True), g.const("b", (c,)),
                                 g.const("m", (c,)), g.const("v", (c,), positive=True)], epsilon=1e-3)


def check_same_numbers(before, after, seed=1):
    rng = np.random.default_rng(seed)
    feeds = [rng.standard_normal(v.shape).astype(np.float32) for v in before.inputs]
    ref = run_reference(before, feeds)
    got = run_reference(after, feeds)
    for r, a in zip(ref, got):
        assert np.abs(r).max() > 1e-3
        np.testing.assert_allclose(a, r, rtol=1e-4, atol=1e-4 * np.abs(r).max())


def shaped(graph):
    return infer_shapes(graph)


def test_fold_batch_norm_into_conv():
    g = G()
    x = g.input("x", (2, 3, 8, 8))
    y = g.node("activation", [bn(g, conv(g, x, 3, 4), 4)], act="relu")
    before = shaped(g.graph(y))
    after = fold_batch_norm(before.clone())
    assert describe(after) == ["conv(x, const, const)", "activation{'act': 'relu'}(x)"]
    check_same_numbers(before, after)


def test_fold_batch_norm_conv_without_bias_and_keeps_weights():
    g = G()
    x = g.input("x", (1, 3, 6, 6))
    c = conv(g, x, 3, 5, bias=False)
    before = shaped(g.graph(bn(g, c, 5)))
    w_before = before.nodes[0].inputs[1].const.copy()
    after = fold_batch_norm(before.clone())
    assert describe(after) == ["conv(x, const, const)"]
    np.testing.assert_array_equal(before.nodes[0].inputs[1].const, w_before)  # user's weights untouched
    check_same_numbers(before, after)


def test_batch_norm_not_folded_when_conv_output_is_shared():
    g = G()
    x = g.input("x", (1, 3, 6, 6))
    c = conv(g, x, 3, 4)
    before = shaped(g.graph(bn(g, c, 4), c))
    after = fold_batch_norm(before.clone())
    assert [n.op for n in after.nodes] == ["conv", "batch_norm"]


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
def test_conv_activation_fusion(act):
    g = G()
    x = g.input("x", (1, 3, 7, 7))
    before = shaped(g.graph(g.node("activation", [conv(g, x, 3, 6)], act=act)))
    after = fuse_activation(before.clone())
    assert describe(after) == [f"conv{{'act': '{act}'}}(x, const, const)"]
    check_same_numbers(before, after)


def test_clip_relu6_fuses_with_bounds():
    g = G()
    x = g.input("x", (1, 3, 7, 7))
    before = shaped(g.graph(g.node("activation", [conv(g, x, 3, 6)], act="clip", alpha=0.0, beta=6.0)))
    after = fuse_activation(before.clone())
    assert describe(after) == ["conv{'act': 'clip', 'beta': 6.0}(x, const, const)"]
    check_same_numbers(before, after)


def test_silu_written_as_mul_sigmoid_is_recognized_and_fused():
    g = G()
    x = g.input("x", (1, 3, 7, 7))
    c = conv(g, x, 3, 6)
    y = g.node("binary", [c, g.node("activation", [c], act="sigmoid")], kind="mul")
    before = shaped(g.graph(y))
    after = fuse_activation(before.clone())
    assert describe(after) == ["conv{'act': 'silu'}(x, const, const)"]
    check_same_numbers(before, after)


def test_hard_swish_written_as_mul_hard_sigmoid():
    g = G()
    x = g.input("x", (1, 4, 5, 5))
    hs = g.node("activation", [x], act="hard_sigmoid", alpha=1 / 6, beta=0.5)
    before = shaped(g.graph(g.node("binary", [hs, x], kind="mul")))
    after = fuse_activation(before.clone())
    assert describe(after) == ["activation{'act': 'hard_swish'}(x)"]
    check_same_numbers(before, after)


def test_activation_not_fused_when_conv_output_also_read_elsewhere():
    g = G()
    x = g.input("x", (1, 3, 5, 5))
    c = conv(g, x, 3, 3)
    before = shaped(g.graph(g.node("activation", [c], act="relu"), c))
    after = fuse_activation(before.clone())
    assert [n.op for n in after.nodes] == ["conv", "activation"]


def test_residual_add_and_relu_fused_into_conv():
    g = G()
    x = g.input("x", (2, 4, 6, 6))
    h = conv(g, x, 4, 4, act="relu")
    y = conv(g, h, 4, 4)
    out = g.node("activation", [g.node("binary", [y, x], kind="add")], act="relu")
    before = shaped(g.graph(out))
    after = fuse_residual(before.clone())
    assert describe(after) == ["conv{'act': 'relu'}(x, const, const)",
                               "conv{'post_act': 'relu'}(x, const, const, x)"]
    check_same_numbers(before, after)


def test_residual_with_projection_picks_the_later_conv():
    g = G()
    x = g.input("x", (1, 4, 6, 6))
    main = conv(g, conv(g, x, 4, 8, act="relu"), 8, 8)
    proj = conv(g, x, 4, 8, k=1)  # computed last: it takes the main branch as residual
    before = shaped(g.graph(g.node("binary", [main, proj], kind="add")))
    after = fuse_residual(before.clone())
    assert [n.op for n in after.nodes] == ["conv", "conv", "conv"]
    assert after.nodes[-1].inputs[3] is not None and after.nodes[-1].inputs[1].shape == (8, 4, 1, 1)
    check_same_numbers(before, after)


def test_broadcast_add_is_not_a_residual():
    g = G()
    x = g.input("x", (1, 4, 6, 6))
    before = shaped(g.graph(g.node("binary", [conv(g, x, 4, 4), g.const("c", (4, 1, 1))], kind="add")))
    after = fuse_residual(before.clone())
    assert [n.op for n in after.nodes] == ["conv", "binary"]


@pytest.mark.parametrize("batch,expect", [(1, 1), (2, 1)])
def test_concat_of_conv_branches_is_marked_inplace(batch, expect):
    g = G()
    x = g.input("x", (batch, 4, 6, 6))
    a, b = conv(g, x, 4, 3, k=1), conv(g, x, 4, 5)
    before = shaped(g.graph(g.node("concat", [a, b], axis=1)))
    after = eliminate_concat(before.clone())
    assert after.nodes[-1].attrs["inplace"] == expect


def test_concat_with_pool_branch_inplace_only_for_batch_one():
    for batch, expect in ((1, 1), (2, 0)):
        g = G()
        x = g.input("x", (batch, 4, 6, 6))
        p = g.node("max_pool", [x], kernel=[3, 3], pads=[1, 1, 1, 1])
        before = shaped(g.graph(g.node("concat", [conv(g, x, 4, 3), p], axis=1)))
        after = eliminate_concat(before.clone())
        assert after.nodes[-1].attrs.get("inplace", 0) == expect


def test_concat_not_inplace_when_branch_is_read_twice():
    g = G()
    x = g.input("x", (1, 4, 6, 6))
    a = conv(g, x, 4, 3)
    before = shaped(g.graph(g.node("concat", [a, conv(g, x, 4, 2)], axis=1), a))
    assert eliminate_concat(before.clone()).nodes[-1].attrs.get("inplace", 0) == 0


def test_remove_identity_and_dropout_keeps_output_names():
    g = G()
    x = g.input("x", (1, 3, 4, 4))
    a = g.node("identity", [g.node("activation", [x], act="relu")])
    out = g.node("dropout", [a], name="final")
    before = shaped(g.graph(out))
    after = remove_identity(before.clone())
    assert describe(after) == ["activation{'act': 'relu'}(x)"]
    assert after.outputs[0].name == "final_out"
    check_same_numbers(before, after)


def test_dce_drops_unread_nodes():
    g = G()
    x = g.input("x", (1, 3, 4, 4))
    g.node("activation", [x], act="sigmoid")  # read by nobody
    before = shaped(g.graph(g.node("activation", [x], act="relu")))
    assert describe(eliminate_dead_code(before.clone())) == ["activation{'act': 'relu'}(x)"]


def test_shape_chain_folds_to_constant_reshape():
    """PyTorch's flatten: Shape -> Gather -> Unsqueeze -> Concat -> Reshape becomes one reshape."""
    g = G()
    x = g.input("x", ("N", 4, 3, 3))
    s = g.node("shape", [x])
    n0 = g.node("gather", [s, g.const("i0", array=np.array(0, np.int64))], axis=0)
    u = g.node("unsqueeze", [n0, g.const("ax", array=np.array([0], np.int64))])
    target = g.node("concat", [u, g.const("m1", array=np.array([-1], np.int64))], axis=0)
    before = g.graph(g.node("reshape", [x, target]))
    after = prepare(before, {"x": (3, 4, 3, 3)})
    assert describe(after) == ["reshape(x, const)"]
    assert after.outputs[0].shape == (3, 36)
    assert before.inputs[0].shape == ("N", 4, 3, 3)  # prepare() never modifies its input


def test_pipeline_end_to_end_resnet_block():
    g = G()
    x = g.input("x", ("N", 8, 6, 6))
    h = g.node("activation", [bn(g, conv(g, x, 8, 8, bias=False), 8)], act="relu")
    y = bn(g, conv(g, h, 8, 8, bias=False), 8)
    out = g.node("activation", [g.node("binary", [y, x], kind="add")], act="relu")
    graph = g.graph(out)
    after = prepare(graph, {"x": (2, 8, 6, 6)})
    assert describe(after) == ["conv{'act': 'relu'}(x, const, const)",
                               "conv{'post_act': 'relu'}(x, const, const, x)"]
    check_same_numbers(prepare(graph, {"x": (2, 8, 6, 6)}, optimize=False), after)


def test_activation_after_plain_add_runs_in_the_add_step():
    from cnnrt.passes.fuse_activation import fuse_activation_into_binary

    g = G()
    x = g.input("x", (1, 4, 5, 5))
    y = g.node("activation", [g.node("binary", [x, g.const("c", (4, 1, 1))], kind="add")], act="relu")
    before = shaped(g.graph(y))
    after = fuse_activation_into_binary(before.clone())
    assert describe(after) == ["binary{'act': 'relu', 'kind': 'add'}(x, const)"]
    check_same_numbers(before, after)
