#!/usr/bin/env bash
# The GPU machine's check of cnnrt's CUDA backend, in under 8 minutes:
#   bash benchmarks/gpu_check.sh
# 1. install cnnrt from this checkout against the preinstalled packages (no network);
# 2. the Triton kernel tests on the GPU (tests/triton), time-boxed, a failure does not stop us;
# 3. benchmarks/gpu_bench.py: cnnrt fp16 vs PyTorch eager and torch.compile; its JSON goes to
#    $OUT (the device machine's result folder) or benchmarks/results;
# 4. a warm start (second process: Triton's and cnnrt's caches on disk), then the tables again.
# Time limits (seconds) can be overridden: TEST_TIMEOUT (150), BENCH_TIMEOUT (300, cut to what
# is left of 8 minutes); BENCH_ARGS adds
# gpu_bench.py flags (e.g. BENCH_ARGS="--models resnet152,googlenet").
# `python` must be the interpreter that has torch and triton (on this workplace's GPU image:
# PATH=/opt/torch/.venv/bin:$PATH; its /usr/bin/python3 has no torch).
set -euo pipefail
cd "$(dirname "$0")/.."
START=$SECONDS
RESULTS="${OUT:-benchmarks/results}"
mkdir -p "$RESULTS"

python -c "import torch, triton; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'triton', triton.__version__, torch.cuda.get_device_name())"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true

# --no-build-isolation: build with the preinstalled scikit-build-core/pybind11 (no network);
# --no-deps: keep the preinstalled torch/triton/onnx untouched
CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" python -m pip install --no-build-isolation --no-deps -q . 2>&1 | tail -n 20
echo "installed in $((SECONDS - START)) s"

# every failure listed (-rfE); with pytest-xdist, 8 workers share the Triton JIT compiles;
# timeout keeps time for the benchmark; the full log goes to $RESULTS/triton_tests.log
XDIST=$(python -c "import xdist" 2>/dev/null && echo "-n 8" || true)
timeout -k 10 "${TEST_TIMEOUT:-150}" python -m pytest -q -p no:cacheprovider -rfE $XDIST tests/triton \
  > "$RESULTS/triton_tests.log" 2>&1 \
  || echo "FAILED: tests/triton (exit $?; 124 = timed out), continuing to the benchmark"
grep -E "^(FAILED|ERROR)|passed|failed" "$RESULTS/triton_tests.log" | tail -n 30 || true
echo "tests done at $((SECONDS - START)) s"

# whatever is left of 8 minutes (less 80 s for the warm start and margin), at most BENCH_TIMEOUT;
# the budget stops
# new work ~40 s before the timeout, and on the timeout's SIGTERM the tables still print
LEFT=$((400 - (SECONDS - START)))
BT="${BENCH_TIMEOUT:-300}"
if [ "$BT" -gt "$LEFT" ]; then BT=$LEFT; fi
timeout -k 15 "$BT" python benchmarks/gpu_bench.py --budget-s "$((BT - 40))" \
  --json "$RESULTS/gpu_bench.json" ${BENCH_ARGS:-} \
  || echo "FAILED: gpu_bench.py (exit $?)"
# warm start: a second process finds Triton's kernel cache and cnnrt's autotune cache on disk
timeout 90 python -c "
import time, cnnrt, cnnrt.models as zoo
p = zoo.build('resnet152', weights='random')
t = time.perf_counter(); m = cnnrt.load(p, device='cuda')
r = m.compiled().report
print(f'resnet152 fp16 warm start: load+compile {time.perf_counter() - t:.2f} s, compile_s '
      f'{r[\"compile_s\"]:.2f}, autotune {r[\"autotune\"]}')" || echo "FAILED: warm start"
echo "total $((SECONDS - START)) s"
# the ratio table, last
[ -f "$RESULTS/gpu_bench.json" ] && python benchmarks/gpu_bench.py --show "$RESULTS/gpu_bench.json"
