"""Div vs onnxruntime (the cases are in binary_op_cases.py)."""

import numpy as np

from binary_op_cases import binary_op_tests


def _divisor_away_from_zero(x, operand):
    return np.sign(x) * (np.abs(x) + 0.5) if operand == 1 else x


test_div_broadcast, test_div_constant_operand, test_div_legacy_broadcast_axis = binary_op_tests(
    "Div", np.divide, _divisor_away_from_zero)
