"""Sigmoid vs onnxruntime on random shapes (ranks 1-4, batch > 1)."""

import numpy as np
import pytest

from oracle import BACKENDS, check_model, single_op


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("opset", [6, 13, 14])
def test_sigmoid(opset, seed, backend):
    rng = np.random.default_rng(seed)
    shape = tuple(int(d) for d in rng.integers(1, 6, int(rng.integers(1, 5))))
    model, feeds = single_op("Sigmoid", [shape], rng=rng, opset=opset)
    feeds["x0"] *= 4  # reach the saturated regions too
    check_model(model, feeds, backend)
