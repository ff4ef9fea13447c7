"""The roofline plot of a profile: each layer at (FLOP/byte, achieved GFLOP/s) under the
machine's roof min(peak sgemm, intensity x copy bandwidth); marker area ~ the layer's time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import CnnrtError


def plot_roofline(prof, path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        raise CnnrtError("the roofline plot needs matplotlib: pip install matplotlib "
                         "(or pip install 'cnnrt[test]')") from None
    layers = [layer for layer in prof.layers if layer.flops and layer.time > 0]
    r = prof.roofline
    fig, ax = plt.subplots(figsize=(8, 5.5))
    lo = min([layer.intensity for layer in layers] + [r.ridge / 100]) / 2
    hi = max([layer.intensity for layer in layers] + [r.ridge * 10]) * 2
    x = np.geomspace(lo, hi, 200)
    ax.plot(x, np.minimum(r.gflops, x * r.gbytes), "k-", lw=2,
            label=f"roof: sgemm {r.gflops:.0f} GFLOP/s, copy {r.gbytes:.1f} GB/s")
    if layers:
        times = np.array([layer.time for layer in layers])
        ops = sorted({layer.op.split("+")[0] for layer in layers})
        for op in ops:
            sel = [i for i, layer in enumerate(layers) if layer.op.split("+")[0] == op]
            ax.scatter([layers[i].intensity for i in sel], [layers[i].gflops for i in sel],
                       s=20 + 400 * times[sel] / times.max(), alpha=0.6, label=op)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP / byte moved)")
    ax.set_ylabel("achieved GFLOP/s")
    ax.set_title(f"{Path(prof.source).name}: {len(layers)} layers, {r.num_threads} threads, "
                 f"{r.isa} (marker area ~ time)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
