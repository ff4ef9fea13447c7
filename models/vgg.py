"""VGG-16 and VGG-19 (configurations D and E; torchvision layout, no batch norm) as ONNX.

Random weights only. features: 3x3 pad-1 convs with bias + ReLU in five stages, each closed by
a max pool 2/2; classifier 25088-4096-4096-1000 with ReLU (dropouts are no-ops at inference).
torchvision's adaptive average pool to 7x7 is the identity at 224 and is left out; at another
`size` the first FC takes whatever the last pool gives. Params 138,357,544 / 143,667,240,
MACs 15.47 G / 19.63 G at 224.
"""
from __future__ import annotations

from .alexnet import _classifier
from .onnx_builder import Arch, GraphBuilder
from .preprocess_meta import imagenet

PREPROCESS = imagenet()
# convs per stage; stage widths are the same for every VGG
WIDTHS = (64, 128, 256, 512, 512)
DEPTHS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}


def _graph(name: str, weights, size: int) -> GraphBuilder:
    g = GraphBuilder(name, weights)
    x = g.input("input", ["N", 3, size, size])
    cin, idx, n = 3, 0, size  # idx: position in torchvision's features Sequential
    for width, depth in zip(WIDTHS, DEPTHS[name]):
        for _ in range(depth):
            x = g.relu(g.conv(x, f"features.{idx}", cin, width, 3, 1, 1, bias=True))
            cin, idx = width, idx + 2  # conv, relu
        x, idx, n = g.max_pool(x, 2, 2), idx + 1, n // 2
    g.output(_classifier(g, x, 512 * n * n), "logits", ["N", 1000])
    return g


def vgg16_graph(weights, size: int = 224) -> GraphBuilder:
    return _graph("vgg16", weights, size)


def vgg19_graph(weights, size: int = 224) -> GraphBuilder:
    return _graph("vgg19", weights, size)


VGG16 = Arch("vgg16", vgg16_graph, PREPROCESS)
VGG19 = Arch("vgg19", vgg19_graph, PREPROCESS)
