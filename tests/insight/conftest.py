import onnx
import pytest

from oracle import require_backend
from small_cnn import small_cnn


@pytest.fixture(autouse=True, scope="module")
def _own_cache(tmp_path_factory):
    """A cache folder of this module's own (the roofline is measured once in it), so tests
    neither read nor race on the user's ~/.cache/cnnrt."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CNNRT_CACHE", str(tmp_path_factory.mktemp("cnnrt-cache")))
    yield
    mp.undo()


@pytest.fixture(scope="module")
def small_path(tmp_path_factory):
    """tests/insight/small_cnn.py's model saved once per module."""
    require_backend("cpu")
    path = tmp_path_factory.mktemp("m") / "small_cnn.onnx"
    onnx.save(small_cnn(), path)
    return str(path)
