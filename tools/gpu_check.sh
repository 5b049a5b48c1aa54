#!/usr/bin/env bash
# The GPU check, for a borrowed H100/H200 that has nvcc, CMake and PyTorch but none of the
# project's Debian packages (stage them first here with tools/stage_gpu.sh): builds
# test_cuda_device (the CUDA backend's parity tests on the device system) and bench_cuda_step
# with nvcc alone, runs them and PyTorch's counterpart (bench/pytorch_cuda_agd.py), and writes
# one table, $OUT/gpu_check.md (docs/backends.md says how to read it). Under 8 minutes on an
# H200 with 16 cores.
#
#   tools/gpu_check.sh             build and run (OUT defaults to build-gpu/out)
#   tools/gpu_check.sh --dry-run   build only: what a machine without a GPU can check
set -euo pipefail
cd "$(dirname "$0")/.."
dry_run=0
[ "${1:-}" = "--dry-run" ] && dry_run=1
deps=tools/gpu_deps
build=build-gpu
out=${OUT:-$build/out}
mkdir -p "$build" "$out"
if [ ! -d "$deps/include/eigen3" ]; then
  echo "gpu_check: $deps is missing: run tools/stage_gpu.sh on a machine with the Debian" \
       "packages, and carry $deps with the working tree" >&2
  exit 2
fi
nvcc=${NVCC:-$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)}
arch=90
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi >/dev/null 2>&1; then
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '. ')
fi
flags=(-std=c++20 -O3 --expt-relaxed-constexpr -diag-suppress 20011,20012,20014,20015
       "-arch=sm_$arch" -Iinclude -Iexamples -Itests -isystem "$deps/include"
       -isystem "$deps/include/eigen3")
log="$out/build.log"
: > "$log"
start=$(date +%s)
pids=()
for unit in layers resnet training predict; do
  "$nvcc" "${flags[@]}" -c "tests/cuda/device_$unit.cu" -o "$build/device_$unit.o" >>"$log" 2>&1 &
  pids+=($!)
done
"$nvcc" "${flags[@]}" -c tests/catch_main.cpp -o "$build/catch_main.o" >>"$log" 2>&1 &
pids+=($!)
"$nvcc" "${flags[@]}" bench/cuda_step.cu -o "$build/bench_cuda_step" -lcublas -L"$deps/lib" -lz \
  >>"$log" 2>&1 &
pids+=($!)
failed=0
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
if [ "$failed" = 1 ]; then
  echo "gpu_check: the build failed; $log:" >&2
  grep -E "error" "$log" | head -40 >&2
  exit 1
fi
"$nvcc" "-arch=sm_$arch" "$build"/device_*.o "$build/catch_main.o" -o "$build/test_cuda_device" \
  -lcublas -L"$deps/lib" -lz >>"$log" 2>&1
echo "gpu_check: built in $(( $(date +%s) - start )) s (sm_$arch)"
if [ "$dry_run" = 1 ]; then
  echo "gpu_check: dry run: built test_cuda_device and bench_cuda_step; nothing run"
  exit 0
fi

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/device.txt"
status=0
timeout 300 "$build/test_cuda_device" > "$out/test_cuda_device.txt" 2>&1 || status=1
tail -3 "$out/test_cuda_device.txt"
timeout 240 "$build/bench_cuda_step" > "$out/bench_cuda_step.jsonl" 2> "$out/bench_cuda_step.err" \
  || status=1
timeout 240 python3 bench/pytorch_cuda_agd.py > "$out/pytorch_cuda_agd.jsonl" \
  2> "$out/pytorch_cuda_agd.err" || status=1
python3 tools/gpu_table.py "$out" > "$out/gpu_check.md"
cat "$out/gpu_check.md"
echo "gpu_check: done in $(( $(date +%s) - start )) s; results in $out"
exit "$status"
