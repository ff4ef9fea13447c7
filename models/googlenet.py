"""GoogLeNet (Inception v1) as in Szegedy et al. 2014 / the BVLC Caffe model, as ONNX.

Random weights only. Stem: conv 7x7/2 64, max pool 3/2, LRN, conv 1x1 64, conv 3x3 192, LRN,
max pool 3/2; inception 3a-3b, max pool, 4a-4e, max pool, 5a-5b (Table 1 of the paper); global
average pool (Caffe's 7x7 pool at 224), FC 1024 -> 1000. Every conv has a bias and a ReLU.
Pools round up (Caffe's ceil mode); LRN size 5, alpha 1e-4, beta 0.75 (bvlc_googlenet).
No batch norm, no auxiliary heads, dropout left out (inference). Parameter names follow the
Caffe layers ("inception_3a/5x5_reduce.weight"). 6,998,552 params, 1.50 GMACs at 224.
"""
from __future__ import annotations

from .onnx_builder import Arch, GraphBuilder
from .preprocess_meta import imagenet

PREPROCESS = imagenet()
# name: (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), Table 1 of the paper;
# None marks the max pool 3/2 between stages.
BLOCKS = [("3a", (64, 96, 128, 16, 32, 32)), ("3b", (128, 128, 192, 32, 96, 64)), None,
          ("4a", (192, 96, 208, 16, 48, 64)), ("4b", (160, 112, 224, 24, 64, 64)),
          ("4c", (128, 128, 256, 24, 64, 64)), ("4d", (112, 144, 288, 32, 64, 64)),
          ("4e", (256, 160, 320, 32, 128, 128)), None,
          ("5a", (256, 160, 320, 32, 128, 128)), ("5b", (384, 192, 384, 48, 128, 128))]


def _conv_relu(g: GraphBuilder, x: str, name: str, cin: int, cout: int, k: int = 1,
               stride: int = 1) -> str:
    return g.relu(g.conv(x, name, cin, cout, k, stride, pads=(k - 1) // 2, bias=True))


def _inception(g: GraphBuilder, x: str, p: str, cin: int, spec) -> tuple[str, int]:
    """Four branches concatenated on channels; the three 1x1 convs reading x are siblings."""
    c1, r3, c3, r5, c5, pp = spec
    b1 = _conv_relu(g, x, f"{p}/1x1", cin, c1)
    b3 = _conv_relu(g, _conv_relu(g, x, f"{p}/3x3_reduce", cin, r3), f"{p}/3x3", r3, c3, 3)
    b5 = _conv_relu(g, _conv_relu(g, x, f"{p}/5x5_reduce", cin, r5), f"{p}/5x5", r5, c5, 5)
    bp = _conv_relu(g, g.max_pool(x, 3, 1, pads=1), f"{p}/pool_proj", cin, pp)
    return g.concat([b1, b3, b5, bp]), c1 + c3 + c5 + pp


def graph(weights, size: int = 224) -> GraphBuilder:
    g = GraphBuilder("googlenet", weights)
    x = g.input("input", ["N", 3, size, size])
    x = g.max_pool(_conv_relu(g, x, "conv1/7x7_s2", 3, 64, 7, 2), 3, 2, ceil=True)
    x = g.lrn(x, 5)
    x = _conv_relu(g, x, "conv2/3x3_reduce", 64, 64)
    x = g.lrn(_conv_relu(g, x, "conv2/3x3", 64, 192, 3), 5)
    x, cin = g.max_pool(x, 3, 2, ceil=True), 192
    for block in BLOCKS:
        if block is None:
            x = g.max_pool(x, 3, 2, ceil=True)
        else:
            x, cin = _inception(g, x, f"inception_{block[0]}", cin, block[1])
    x = g.flatten(g.global_avg_pool(x))
    g.output(g.gemm(x, "loss3/classifier", cin, 1000), "logits", ["N", 1000])
    return g


GOOGLENET = Arch("googlenet", graph, PREPROCESS)
