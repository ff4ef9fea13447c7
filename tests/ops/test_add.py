"""Add vs onnxruntime (the cases are in binary_op_cases.py)."""

import numpy as np

from binary_op_cases import binary_op_tests

test_add_broadcast, test_add_constant_operand, test_add_legacy_broadcast_axis = binary_op_tests("Add", np.add)
