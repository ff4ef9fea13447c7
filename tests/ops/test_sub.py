"""Sub vs onnxruntime (the cases are in binary_op_cases.py)."""

import numpy as np

from binary_op_cases import binary_op_tests

test_sub_broadcast, test_sub_constant_operand, test_sub_legacy_broadcast_axis = binary_op_tests("Sub", np.subtract)
