"""The activation epilogue every Triton kernel shares: the IR's activation names and formulas
(python/cnnrt/backends/reference/activations.py is the float64 oracle), in fp32."""

import triton
import triton.language as tl

# Activation selector (a constexpr). The names are the IR's; the numbers are the kernels' own.
ACTS = {"none": 0, "relu": 1, "clip": 2, "silu": 3, "sigmoid": 4, "leaky_relu": 5,
        "hard_swish": 6, "tanh": 7, "hard_sigmoid": 8}


@triton.jit
def _act(y, ACT: tl.constexpr, alpha, beta):
    # y: fp32 tile. alpha/beta: clip bounds (ReLU6 = clip 0, 6), the LeakyRelu slope (alpha), or
    # hard_sigmoid's max(0, min(1, alpha*y + beta)).
    if ACT == 1:
        y = tl.maximum(y, 0.0)
    elif ACT == 2:
        y = tl.minimum(tl.maximum(y, alpha), beta)
    elif ACT == 3:
        y = y * tl.sigmoid(y)
    elif ACT == 4:
        y = tl.sigmoid(y)
    elif ACT == 5:
        y = tl.where(y >= 0.0, y, y * alpha)
    elif ACT == 6:
        y = y * tl.minimum(tl.maximum(y + 3.0, 0.0), 6.0) * (1.0 / 6.0)
    elif ACT == 7:
        # tanh from sigmoid (tl has no tanh on every backend): tanh(y) = 2*sigmoid(2y) - 1
        y = 2.0 * tl.sigmoid(2.0 * y) - 1.0
    elif ACT == 8:
        y = tl.minimum(tl.maximum(alpha * y + beta, 0.0), 1.0)
    return y


def act_args(act):
    """(selector, alpha, beta) for `act`: a name from ACTS, "relu6", or (name, alpha, beta)."""
    if isinstance(act, tuple):
        name, alpha, beta = (tuple(act) + (0.0, 0.0))[:3]
    else:
        name, alpha, beta = act, 0.0, 0.0
    if name == "relu6":
        name, alpha, beta = "clip", 0.0, 6.0
    if name not in ACTS:
        raise ValueError(f"unknown activation {name!r}; known: {sorted(ACTS)} + relu6")
    return ACTS[name], float(alpha), float(beta)
