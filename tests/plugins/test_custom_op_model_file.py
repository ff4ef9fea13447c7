"""A custom op's step (`plugin`: its kernel lives in a library or a Python function) cannot go
into a .cnnrt file: Model.save refuses it by name, and the reader refuses a file holding one."""

import numpy as np
import pytest

import cnnrt
from cnnrt import model_file
from test_custom_ops import conv_tanh_relu_model, register_scaled_tanh


def test_a_custom_op_step_is_refused_by_name(tmp_path, monkeypatch):
    register_scaled_tanh()(lambda x, alpha, beta: alpha * np.tanh(beta * x))
    model, _ = conv_tanh_relu_model(np.random.default_rng())
    m = cnnrt.load(model)  # on cpu the custom op runs as a plugin step
    with pytest.raises(cnnrt.UnsupportedOpError, match=r"step 'tanh' \(op 'plugin'\)"):
        m.save(tmp_path / "m.cnnrt")
    assert list(tmp_path.iterdir()) == []
    # a writer without that check: the reader refuses the file, naming it and the step
    monkeypatch.setattr(model_file, "FILE_OPS", model_file.FILE_OPS | {"plugin"})
    m.save(tmp_path / "m.cnnrt")
    with pytest.raises(cnnrt.ModelLoadError, match=r"m\.cnnrt: invalid model file: step 'tanh' is a plugin step"):
        cnnrt.load(str(tmp_path / "m.cnnrt"))
