"""AlexNet (torchvision layout) and ZFNet (Zeiler & Fergus 2013) as ONNX, random weights only.

AlexNet, from torchvision.models.alexnet: convs 64-192-384-256-256 (11x11/4 pad 2, 5x5 pad 2,
then 3x3 pad 1), ReLU after each, max pool 3/2 after conv 1, 2 and 5, classifier
9216-4096-4096-1000 with ReLU (its dropouts are no-ops at inference). torchvision's adaptive
average pool to 6x6 is the identity at 224 and is left out; at another `size` the first FC
takes whatever the last pool gives. 61,100,840 params, 0.714 GMACs at 224.

ZFNet, from the paper's Figure 3: conv 7x7/2 96, ReLU, max pool 3/2, contrast normalization;
conv 5x5/2 256, ReLU, max pool 3/2, contrast normalization; convs 3x3 384-384-256, ReLU,
max pool 3/2; FC 9216-4096-4096-1000. The paper's map sizes 224-110-55-26-13-13-13-6 pin the
padding down: conv1 pads 1, conv2 none, and the pools round up (Caffe's ceil mode). The paper
gives no normalization constants; AlexNet's (LRN size 5, alpha 1e-4, beta 0.75, k 2) are used.
The count comes out at 62,357,608 params, the issue's "~62.4M" rounded: the FC layers equal
torchvision AlexNet's, and the convs 96-256-384-384-256 (those of the original, ungrouped
AlexNet) hold 1,256,768 more than torchvision's 64-192-384-256-256 (conv1 -9,088 for 7x7
against 11x11, conv2 +307,264, conv3 +221,184, conv4 +442,496, conv5 +294,912); the LRNs hold
no weights. MACs: 1.168 G at 224 (a hand count of the same layout; the paper gives none).
"""
from __future__ import annotations

from .onnx_builder import Arch, GraphBuilder
from .preprocess_meta import imagenet

PREPROCESS = imagenet()


def _out(n: int, k: int, s: int, p: int = 0, ceil: bool = False) -> int:
    """Output size of a conv/pool window along one axis."""
    span = n + 2 * p - k
    return (-(-span // s) if ceil else span // s) + 1


def _classifier(g: GraphBuilder, x: str, cin: int) -> str:
    """Flatten, FC 4096 + ReLU, FC 4096 + ReLU, FC 1000 (torchvision's classifier.1/4/6)."""
    x = g.flatten(x)
    x = g.relu(g.gemm(x, "classifier.1", cin, 4096))
    x = g.relu(g.gemm(x, "classifier.4", 4096, 4096))
    return g.gemm(x, "classifier.6", 4096, 1000)


def alexnet_graph(weights, size: int = 224) -> GraphBuilder:
    g = GraphBuilder("alexnet", weights)
    x = g.input("input", ["N", 3, size, size])
    # (features index, cin, cout, kernel, stride, pad, max pool after)
    convs = [(0, 3, 64, 11, 4, 2, True), (3, 64, 192, 5, 1, 2, True),
             (6, 192, 384, 3, 1, 1, False), (8, 384, 256, 3, 1, 1, False),
             (10, 256, 256, 3, 1, 1, True)]
    n = size
    for i, cin, cout, k, s, p, pool in convs:
        x = g.relu(g.conv(x, f"features.{i}", cin, cout, k, s, p, bias=True))
        n = _out(n, k, s, p)
        if pool:
            x, n = g.max_pool(x, 3, 2), _out(n, 3, 2)
    g.output(_classifier(g, x, 256 * n * n), "logits", ["N", 1000])
    return g


def zfnet_graph(weights, size: int = 224) -> GraphBuilder:
    g = GraphBuilder("zfnet", weights)
    x = g.input("input", ["N", 3, size, size])
    # (features name, cin, cout, kernel, stride, pad, pool + normalization after)
    convs = [("conv1", 3, 96, 7, 2, 1, "pool+norm"), ("conv2", 96, 256, 5, 2, 0, "pool+norm"),
             ("conv3", 256, 384, 3, 1, 1, ""), ("conv4", 384, 384, 3, 1, 1, ""),
             ("conv5", 384, 256, 3, 1, 1, "pool")]
    n = size
    for name, cin, cout, k, s, p, after in convs:
        x = g.relu(g.conv(x, f"features.{name}", cin, cout, k, s, p, bias=True))
        n = _out(n, k, s, p)
        if "pool" in after:
            x, n = g.max_pool(x, 3, 2, ceil=True), _out(n, 3, 2, ceil=True)
        if "norm" in after:
            x = g.lrn(x, 5, alpha=1e-4, beta=0.75, bias=2.0)
    g.output(_classifier(g, x, 256 * n * n), "logits", ["N", 1000])
    return g


ALEXNET = Arch("alexnet", alexnet_graph, PREPROCESS)
ZFNET = Arch("zfnet", zfnet_graph, PREPROCESS)
