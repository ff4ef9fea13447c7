#!/usr/bin/env bash
# GPU check of kernels/triton/conv2d.py (issue 4, first step). Run on the GPU machine from anywhere:
#   bash kernels/triton/gpu_check.sh
# 1. the Triton tests on the GPU (tests/triton: the conv tests run the JIT-compiled kernel on CUDA
#    tensors instead of the interpreter; the sm_90 AOT report is printed with -s);
# 2. the conv kernel against torch's cuDNN conv (channels_last) on ResNet-like 3x3 layers, fp16
#    and fp32 (tf32 and ieee), every shipped configuration, printing a table last:
#    error vs an fp32 ieee reference, best time, cuDNN time, ratio (cuDNN / ours: > 1 is faster).
# Needs torch with CUDA and triton (3.6 on the GPU machine); no network, no install.
set -euo pipefail
cd "$(dirname "$0")/../.."
python -c "import torch, triton; print('torch', torch.__version__, 'triton', triton.__version__, torch.cuda.get_device_name())"
timeout 300 python -m pytest -q -s -p no:cacheprovider tests/triton 2>&1 | tail -n 70 || echo "TESTS FAILED (continuing to the timing)"
timeout 300 python - <<'PY'
import importlib.util
import torch
import triton
from triton.testing import do_bench

spec = importlib.util.spec_from_file_location("cnnrt_triton_conv2d", "kernels/triton/conv2d.py")
conv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(conv)
F = torch.nn.functional
torch.manual_seed(0)

# (name, N, C, H, W, M, stride)
LAYERS = [("res2 3x3 64", 32, 64, 56, 56, 64, 1), ("res3 3x3 128", 32, 128, 28, 28, 128, 1),
          ("res4 3x3 256 b1", 1, 256, 14, 14, 256, 1), ("res3 3x3/2 128", 32, 128, 56, 56, 128, 2)]
MODES = [("fp16", torch.float16, "ieee", ("float16", "ieee")),
         ("fp32-tf32", torch.float32, "tf32", ("float32", "tf32")),
         ("fp32-ieee", torch.float32, "ieee", ("float32", "ieee"))]
rows = []
for name, n, c, h, w, m, s in LAYERS:
    x = torch.randn(n, c, h, w, device="cuda")
    wt = torch.randn(m, c, 3, 3, device="cuda") / (9 * c) ** 0.5
    b = torch.randn(m, device="cuda")
    torch.backends.cudnn.allow_tf32 = False
    ref = F.relu(F.conv2d(x, wt, b, stride=s, padding=1)).permute(0, 2, 3, 1)  # fp32 ieee
    flops = 2 * ref.numel() * c * 9
    for mode, dt, prec, key in MODES:
        torch.backends.cudnn.allow_tf32 = prec == "tf32"
        xc = x.to(dt).contiguous(memory_format=torch.channels_last)
        wc, bc = wt.to(dt).contiguous(memory_format=torch.channels_last), b.to(dt)
        t_cudnn = do_bench(lambda: F.relu(F.conv2d(xc, wc, bc, stride=s, padding=1)))
        xn = x.to(dt).permute(0, 2, 3, 1).contiguous()
        wp = conv.pack_conv_weight(wt.to(dt))
        best = None
        for cfg in conv.CONFIGS[key]:
            bm, bn, bk, nw, ns = cfg
            for flat in (True, False):
                run = lambda: conv.conv2d(xn, wp, bc, kernel_size=(3, 3), stride=(s, s),
                                          pads=(1, 1, 1, 1), act="relu", precision=prec,
                                          block_m=bm, block_n=bn, block_k=bk, num_warps=nw,
                                          num_stages=ns, flat_k=flat)
                y = run()
                err = ((y.float() - ref).abs().max() / ref.abs().max()).item()
                t = do_bench(run)
                if best is None or t < best[0]:
                    best = (t, cfg, flat, err)
        t, cfg, flat, err = best
        rows.append((name, mode, err, t, t_cudnn, cfg, flat, flops / t / 1e9))
print()
print(f"{'layer':18s} {'mode':10s} {'rel err':>9s} {'ours ms':>8s} {'cuDNN ms':>9s} "
      f"{'cuDNN/ours':>10s} {'TFLOP/s':>8s}  best config (bm,bn,bk,warps,stages) K loop")
for name, mode, err, t, tc, cfg, flat, tf in rows:
    print(f"{name:18s} {mode:10s} {err:9.2e} {t:8.3f} {tc:9.3f} {tc / t:10.2f} {tf:8.1f}  "
          f"{cfg} {'flat' if flat else 'tap'}")
PY
