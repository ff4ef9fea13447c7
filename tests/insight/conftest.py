import pytest


@pytest.fixture(autouse=True, scope="module")
def _own_cache(tmp_path_factory):
    """A cache folder of this module's own (the roofline is measured once in it), so tests
    neither read nor race on the user's ~/.cache/cnnrt."""
    mp = pytest.MonkeyPatch()
    mp.setenv("CNNRT_CACHE", str(tmp_path_factory.mktemp("cnnrt-cache")))
    yield
    mp.undo()
