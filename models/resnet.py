"""ResNet-18/34/50/101/152 (torchvision layout, v1.5 bottlenecks) as ONNX, random weights only.

From torchvision.models.resnet: conv 7x7/2 64 + BN + ReLU, max pool 3/2 pad 1, four stages
of basic blocks (two 3x3 convs; 18/34) or bottlenecks (1x1, 3x3, 1x1 x4; 50/101/152; the
stride sits on the 3x3, "v1.5"), a 1x1 conv + BN projection shortcut where the shape changes,
ReLU after the residual add, global average pool, FC -> 1000. Convs have no bias; every BN
(eps 1e-5) stays a BatchNormalization node. Params 11,689,512 / 21,797,672 / 25,557,032 /
44,549,160 / 60,192,808; GMACs 1.82 / 3.67 / 4.11 / 7.83 / 11.56 at 224.

Random weights are made data-dependent so that activations stay of order 1 through all 155
layers of ResNet-152 (see DESIGN.md, Testing): the last BN of each residual branch gets a
small gamma (the sum then grows by ~gamma^2 per block instead of doubling its variance every
few blocks), and every BN's running mean/variance are set to the statistics of its input on
a random batch pushed through the network (each BN then really normalizes, whatever the
conv weights did to the scale).
"""
from __future__ import annotations

from functools import partial

import numpy as np
import onnx
from onnx import helper, numpy_helper

from .onnx_builder import Arch, GraphBuilder
from .preprocess_meta import imagenet
from .weights import RandomWeights

PREPROCESS = imagenet()
BN_EPS = 1e-5
RESIDUAL_GAMMA = 0.2  # scale of the random gamma of each branch's last BN
CALIBRATION_PIXELS = 2 ** 15  # images x pixels of the calibration batch (4..16 images): small
# inputs leave few positions per channel in the last stage, so they get more images
WIDTHS = (64, 128, 256, 512)
# depth: (block kind, blocks per stage)
LAYOUTS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
           50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
           152: ("bottleneck", (3, 8, 36, 3))}
EXPANSION = {"basic": 1, "bottleneck": 4}


def _conv_bn(g: GraphBuilder, x: str, p: str, i: int, cin: int, cout: int, k: int,
             stride: int = 1, relu: bool = True) -> str:
    """<p>.conv<i> (no bias, pad (k-1)/2) + <p>.bn<i>, then ReLU if `relu`."""
    x = g.conv(x, f"{p}conv{i}", cin, cout, k, stride, pads=(k - 1) // 2)
    x = g.batch_norm(x, f"{p}bn{i}", cout, BN_EPS)
    return g.relu(x) if relu else x


def _basic(g: GraphBuilder, x: str, p: str, cin: int, width: int, stride: int) -> tuple[str, str]:
    """Returns the branch's output and the name of its last BN."""
    y = _conv_bn(g, x, p, 1, cin, width, 3, stride)
    return _conv_bn(g, y, p, 2, width, width, 3, relu=False), f"{p}bn2"


def _bottleneck(g: GraphBuilder, x: str, p: str, cin: int, width: int, stride: int) -> tuple[str, str]:
    y = _conv_bn(g, x, p, 1, cin, width, 1)
    y = _conv_bn(g, y, p, 2, width, width, 3, stride)  # v1.5: the stride on the 3x3
    return _conv_bn(g, y, p, 3, width, width * 4, 1, relu=False), f"{p}bn3"


def _block(g: GraphBuilder, x: str, p: str, kind: str, cin: int, width: int,
           stride: int) -> tuple[str, str]:
    y, last_bn = (_basic if kind == "basic" else _bottleneck)(g, x, p, cin, width, stride)
    cout = width * EXPANSION[kind]
    if stride != 1 or cin != cout:  # projection shortcut: downsample.0 conv, downsample.1 BN
        x = g.conv(x, f"{p}downsample.0", cin, cout, 1, stride)
        x = g.batch_norm(x, f"{p}downsample.1", cout, BN_EPS)
    return g.relu(g.add(x, y)), last_bn


def graph(weights, depth: int, size: int = 224) -> GraphBuilder:
    kind, blocks = LAYOUTS[depth]
    g = GraphBuilder(f"resnet{depth}", weights)
    x = g.input("input", ["N", 3, size, size])
    x = g.max_pool(_conv_bn(g, x, "", 1, 3, 64, 7, 2), 3, 2, pads=1)
    cin, branch_ends = 64, []
    for s, (width, n) in enumerate(zip(WIDTHS, blocks)):
        for b in range(n):
            x, last_bn = _block(g, x, f"layer{s + 1}.{b}.", kind, cin, width,
                                2 if s > 0 and b == 0 else 1)
            cin = width * EXPANSION[kind]
            branch_ends.append(last_bn)
    x = g.flatten(g.global_avg_pool(x))
    g.output(g.gemm(x, "fc", cin, 1000), "logits", ["N", 1000])
    if isinstance(weights, RandomWeights):
        for bn in branch_ends:
            g.inits[f"{bn}.weight"] = numpy_helper.from_array(
                numpy_helper.to_array(g.inits[f"{bn}.weight"]) * np.float32(RESIDUAL_GAMMA),
                f"{bn}.weight")
        n = int(np.clip(CALIBRATION_PIXELS // size ** 2, 4, 16))  # more images when maps are small
        batch = weights.rng.standard_normal((n, 3, size, size)).astype(np.float32)
        calibrate_batch_norm(g, batch)
    return g


def calibrate_batch_norm(g: GraphBuilder, batch: np.ndarray) -> None:
    """Set every BN's running mean/var to the batch statistics of its input on `batch`.

    One run of a rewritten graph in which each BN normalizes with the statistics of its own
    input (as in training) and exposes them as outputs; with those as running statistics the
    inference graph computes exactly what that run computed on `batch`.
    """
    from cnnrt import load  # the package that ships these builders; imported late (cycle)

    nodes, inits, stats = [], dict(g.inits), []
    axes = dict(axes=[0, 2, 3], keepdims=1)
    for n in g.nodes:
        if n.op_type != "BatchNormalization":
            nodes.append(n)
            continue
        x, gamma, beta, mean_name, var_name = n.input
        y, eps = n.output[0], helper.get_attribute_value(n.attribute[0])
        c = inits[gamma].dims[0]
        for name in (gamma, beta):  # [C] -> [C, 1, 1] to broadcast over NCHW
            inits[f"{name}/c11"] = numpy_helper.from_array(
                numpy_helper.to_array(inits[name]).reshape(c, 1, 1), f"{name}/c11")
        inits[f"{y}/eps"] = numpy_helper.from_array(np.float32(eps), f"{y}/eps")
        inits["calib/-0.5"] = numpy_helper.from_array(np.float32(-0.5), "calib/-0.5")
        t = f"{y}/calib"
        nodes += [helper.make_node("ReduceMean", [x], [f"{t}/mean"], **axes),
                  helper.make_node("Sub", [x, f"{t}/mean"], [f"{t}/d"]),
                  helper.make_node("Mul", [f"{t}/d", f"{t}/d"], [f"{t}/d2"]),
                  helper.make_node("ReduceMean", [f"{t}/d2"], [f"{t}/var"], **axes),
                  helper.make_node("Add", [f"{t}/var", f"{y}/eps"], [f"{t}/ve"]),
                  helper.make_node("Pow", [f"{t}/ve", "calib/-0.5"], [f"{t}/inv"]),
                  helper.make_node("Mul", [f"{t}/d", f"{t}/inv"], [f"{t}/z"]),
                  helper.make_node("Mul", [f"{t}/z", f"{gamma}/c11"], [f"{t}/zg"]),
                  helper.make_node("Add", [f"{t}/zg", f"{beta}/c11"], [y])]
        stats.append((t, mean_name, var_name, c))
    outputs = [helper.make_tensor_value_info(f"{t}/{s}", onnx.TensorProto.FLOAT, [1, c, 1, 1])
               for t, _, _, c in stats for s in ("mean", "var")]
    # the batch's concrete shape as the input's, so cnnrt compiles the graph once
    inp = helper.make_tensor_value_info(g.inputs[0].name, onnx.TensorProto.FLOAT, batch.shape)
    calib = helper.make_model(
        helper.make_graph(nodes, "calibration", [inp], outputs, list(inits.values())),
        opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    got = load(calib).run({g.inputs[0].name: batch})
    for t, mean_name, var_name, c in stats:
        g.inits[mean_name] = numpy_helper.from_array(got[f"{t}/mean"].reshape(c), mean_name)
        g.inits[var_name] = numpy_helper.from_array(got[f"{t}/var"].reshape(c), var_name)


RESNET18, RESNET34, RESNET50, RESNET101, RESNET152 = (
    Arch(f"resnet{d}", partial(graph, depth=d), PREPROCESS) for d in (18, 34, 50, 101, 152))
