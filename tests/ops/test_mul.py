"""Mul vs onnxruntime (the cases are in binary_op_cases.py)."""

import numpy as np

from binary_op_cases import binary_op_tests

test_mul_broadcast, test_mul_constant_operand, test_mul_legacy_broadcast_axis = binary_op_tests("Mul", np.multiply)
