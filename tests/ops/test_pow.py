"""Pow vs onnxruntime (the cases are in binary_op_cases.py)."""

import numpy as np

from binary_op_cases import binary_op_tests


def _positive_base(x, operand):
    return np.abs(x) + 0.2 if operand == 0 else x  # real powers of a positive base stay real


test_pow_broadcast, test_pow_constant_operand, test_pow_legacy_broadcast_axis = binary_op_tests(
    "Pow", np.power, _positive_base)
