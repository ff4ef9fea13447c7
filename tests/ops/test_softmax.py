"""Softmax vs onnxruntime: opset < 13 (inputs coerced to 2-D at `axis`) and >= 13 (one axis),
negative axes."""

import numpy as np
import pytest

from oracle import BACKENDS, check_model, single_op


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opset", [11, 13])
@pytest.mark.parametrize("axis", [None, 0, 1, 2, -1, -2])
def test_softmax(axis, opset, backend):
    rng = np.random.default_rng(opset)
    attrs = {} if axis is None else {"axis": axis}
    model, feeds = single_op("Softmax", [(2, 3, 4)], attrs, rng=rng, opset=opset)
    feeds["x0"] *= 3
    check_model(model, feeds, backend)
