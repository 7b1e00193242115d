#!/usr/bin/env bash
# One GPU session in one device call: build, test on the real GPU, benchmark; logs and JSON
# into $OUT. Run from the repository root on the device machine (see benchmarks/GPU_SESSION.md):
#
#     bash benchmarks/gpu_session.sh [all|tests|bench]      (default: all)
#
# The device tool allows 10 minutes per call and brings back at most 8 files from $OUT, so
# every phase runs under `timeout` against one deadline (BUDGET_S seconds from the start,
# default 560) and writes into these 7 files:
#   setup.log        nvidia-smi, versions, the in-place build, the pip install check, tc info
#   cuda-tests.log   the CUDA, CUDA-graph and Numba tests on the GPU
#   suite.log        the rest of the test suite
#   benchmarks.log   output of `python -m tensorcore bench` and benchmarks/cuda_kernels.py
#   h200-bench.json  python -m tensorcore bench --device cuda --json (when that command exists)
#   cuda_kernels.json  benchmarks/cuda_kernels.py
#   summary.txt      one line per phase (also printed last, so the reply's output tail has it)
set -u
PHASES=${1:-all}
OUT=${OUT:-$PWD/gpu-session-out}
BUDGET_S=${BUDGET_S:-560}
PY=${PYTHON:-python3}
START=$(date +%s)
DEADLINE=$((START + BUDGET_S))
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
export PYTHONUNBUFFERED=1 PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export CUPY_CACHE_DIR=${CUPY_CACHE_DIR:-/tmp/cupy-kernel-cache}
export NPY_NUM_BUILD_JOBS=${NPY_NUM_BUILD_JOBS:-$(nproc)}

# seconds the test phases leave for the benchmarks that follow them
BENCH_RESERVE=$([ "$PHASES" = all ] && echo 200 || echo 0)

note() { echo "$*" | tee -a "$SUMMARY"; }

# seconds for the next phase: at most $1, never past the deadline less $2 kept for what follows
budget() {
    local left=$((DEADLINE - $(date +%s) - ${2:-0}))
    ((left > $1)) && left=$1
    echo $((left > 0 ? left : 0))
}

# run NAME LIMIT LOG CMD...: CMD under `timeout LIMIT`, output appended to LOG; notes the result
run() {
    local name=$1 limit=$2 log=$3
    shift 3
    if ((limit < 10)); then
        note "$name: SKIPPED (out of time budget)"
        return 1
    fi
    local t0=$(date +%s)
    echo "=== $name (limit ${limit}s): $*" >>"$log"
    timeout --kill-after=10 "$limit" "$@" >>"$log" 2>&1
    local rc=$? took=$(($(date +%s) - t0))
    local status="ok"
    ((rc == 124 || rc == 137)) && status="TIMED OUT"
    ((rc != 0 && rc != 124 && rc != 137)) && status="FAILED rc=$rc"
    # the last pytest line ("3 failed, 200 passed, 4 skipped in 31.2s") when there is one
    local result=$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -n 1)
    note "$name: $status in ${took}s${result:+ -- $result}"
    return $rc
}

have_pytest_plugin() { "$PY" -c "import $1" >/dev/null 2>&1; }

PYTEST=("$PY" -m pytest -q -p no:cacheprovider -rs)
have_pytest_plugin pytest_timeout && PYTEST+=(--timeout=120)

setup() {
    local log="$OUT/setup.log"
    {
        echo "=== date: $(date -u +%FT%TZ)  commit: $(git rev-parse --short HEAD 2>/dev/null)"
        nvidia-smi
        nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem \
            --format=csv
        nvcc --version | tail -n 2
        "$PY" -c "import sys, numpy, cupy; print('python', sys.version.split()[0]); \
print('numpy', numpy.__version__); print('cupy', cupy.__version__, 'CUDA runtime', \
cupy.cuda.runtime.runtimeGetVersion())"
        "$PY" -c "import numba, numba.cuda; print('numba', numba.__version__, \
'cuda available', numba.cuda.is_available())"
        "$PY" -c "import torch; print('torch', torch.__version__, torch.version.cuda, \
torch.cuda.get_device_name(0))"
        "$PY" -c "import pybind11; print('pybind11', pybind11.__version__)"
    } >>"$log" 2>&1
    # the tests import the package from this tree, so build the extension in place for this
    # Python (the .so of the session machine is for another Python and is not carried)
    run "build in place" "$(budget 150 0)" "$log" "$PY" setup.py build_ext --inplace
    run "tensorcore info" "$(budget 60 0)" "$log" "$PY" -m tensorcore info
    # that the package installs: pip into a scratch folder, then import it from elsewhere;
    # in the background, while the GPU tests run
    local install_limit=$(budget 200 300)
    if ((install_limit < 60)); then
        note "pip install check: SKIPPED (out of time budget)"
        return
    fi
    (timeout "$install_limit" "$PY" -m pip install -q --no-build-isolation --no-deps --no-cache-dir \
        --target /tmp/tc-install . >/tmp/tc-install.log 2>&1 &&
        cd /tmp && PYTHONPATH=/tmp/tc-install "$PY" -c "import tensorcore as tc; \
print('installed package imports:', tc.__file__, 'cuda', tc.cuda_available())" \
        >>/tmp/tc-install.log 2>&1; echo "pip install check rc=$?" >>/tmp/tc-install.log) &
    INSTALL_PID=$!
}

finish_install_check() {
    [ -n "${INSTALL_PID:-}" ] || return 0
    wait "$INSTALL_PID"
    cat /tmp/tc-install.log >>"$OUT/setup.log"
    note "pip install check: $(tail -n 1 /tmp/tc-install.log)"
}

tests() {
    local cuda_tests=() t
    for t in tests/test_cuda_sources.py tests/test_cuda_device.py tests/test_cuda_graphs.py \
        tests/test_numba_kernels.py; do
        if [ -f "$t" ]; then cuda_tests+=("$t"); else note "missing (not run): $t"; fi
    done
    run "CUDA tests" "$(budget 200 $((60 + BENCH_RESERVE)))" "$OUT/cuda-tests.log" "${PYTEST[@]}" "${cuda_tests[@]}"
    grep -q "SKIPPED.*no CUDA" "$OUT/cuda-tests.log" 2>/dev/null &&
        note "WARNING: CUDA tests skipped for want of a device: read cuda-tests.log"
    local ignores=() xdist=()
    for t in "${cuda_tests[@]}"; do ignores+=(--ignore "$t"); done
    have_pytest_plugin xdist && xdist=(-n 8)
    run "rest of the suite" "$(budget 200 "$BENCH_RESERVE")" "$OUT/suite.log" \
        "${PYTEST[@]}" "${xdist[@]}" tests "${ignores[@]}"
}

bench() {
    local log="$OUT/benchmarks.log"
    if "$PY" -m tensorcore bench --help >/dev/null 2>&1; then
        run "tensorcore bench" "$(budget 150 150)" "$log" \
            "$PY" -m tensorcore bench --device cuda --json "$OUT/h200-bench.json"
    else
        note "tensorcore bench: not on this branch (python -m tensorcore bench --help failed)"
    fi
    run "graph replay vs eager" "$(budget 60 150)" "$log" "$PY" -c "$GRAPH_BENCH"
    grep -h "^graph replay" "$log" | tail -n 1 >>"$SUMMARY"
    local quick=()
    (($(budget 1000 0) < 240)) && quick=(--quick)
    run "cuda_kernels.py${quick:+ --quick}" "$(budget 300 15)" "$log" \
        "$PY" benchmarks/cuda_kernels.py "$OUT/cuda_kernels.json" "${quick[@]}"
}

# an MLP training step (3 Linear layers, batch 64, SGD with momentum), eager against graph
# replay: median wall time per step over 200 steps, each timed to the device's completion
GRAPH_BENCH='
import time, numpy as np, tensorcore as tc, tensorcore.nn.functional as F
def timed(step, x, y, n=200):
    for _ in range(20): step(x, y)
    tc.cuda.synchronize(); times = []
    for _ in range(n):
        t = time.perf_counter(); step(x, y); tc.cuda.synchronize(); times.append(time.perf_counter() - t)
    return float(np.median(times)) * 1e6
model = tc.nn.Sequential(tc.nn.Linear(256, 512), tc.nn.ReLU(), tc.nn.Linear(512, 512), tc.nn.ReLU(), tc.nn.Linear(512, 10)).cuda()
opt = tc.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
def step(x, y):
    opt.zero_grad(); loss = F.mse_loss(model(x), y); loss.backward(); opt.step(); return loss
x, y = tc.randn(64, 256, device="cuda"), tc.randn(64, 10, device="cuda")
eager = timed(step, x, y)
graphed = timed(tc.cuda.make_graphed_step(step, x, y), x, y)
print(f"graph replay: MLP training step {eager:.0f} us eager, {graphed:.0f} us replayed ({eager / graphed:.1f}x)")
'

case "$PHASES" in
    all) setup; tests; finish_install_check; bench ;;
    tests) setup; tests; finish_install_check ;;
    bench) setup; bench; finish_install_check ;;
    *) echo "usage: bash benchmarks/gpu_session.sh [all|tests|bench]" >&2; exit 2 ;;
esac
note "total: $(($(date +%s) - START))s of a ${BUDGET_S}s budget; files in $OUT: $(ls "$OUT" | tr '\n' ' ')"
echo "===== summary ====="
cat "$SUMMARY"
