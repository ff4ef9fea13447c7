"""HardSigmoid vs onnxruntime: default and random alpha/beta, inputs reaching both clamps."""

import numpy as np
import pytest

from oracle import BACKENDS, check_model, single_op


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(3))
def test_hard_sigmoid(seed, backend):
    rng = np.random.default_rng(seed)
    attrs = {} if seed == 0 else {"alpha": float(rng.uniform(0.1, 0.5)), "beta": float(rng.uniform(0.2, 0.8))}
    model, feeds = single_op("HardSigmoid", [(3, 7, 4)], attrs, rng=rng, opset=[6, 6, 22][seed])
    feeds["x0"] *= 5
    check_model(model, feeds, backend)
