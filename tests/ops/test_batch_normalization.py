"""BatchNormalization (inference) vs onnxruntime across opsets and ranks."""

import numpy as np
import pytest
from onnx import helper

from oracle import BACKENDS, check_model, make_model, random_input


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("opset,shape", [(7, (2, 3, 4, 5)), (9, (3, 7)), (15, (1, 13, 3, 2)), (14, (2, 5, 6))])
def test_batch_normalization(opset, shape, backend):
    rng = np.random.default_rng(opset)
    c = shape[1]
    inits = {"s": random_input((c,), rng), "b": random_input((c,), rng), "m": random_input((c,), rng),
             "v": (rng.random(c) + 0.1).astype(np.float32)}
    node = helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=float(rng.uniform(1e-5, 1e-2)))
    model = make_model([node], [("x", list(shape))], [("y", None)], inits, opset)
    check_model(model, {"x": random_input(shape, rng)}, backend)
