#!/usr/bin/env bash
# All the benchmarks in one command: builds what they need in build-bench (Release), then runs
# bench/benchmarks.py: the step-time sweep over width, depth and batch against the paper's AGD in
# PyTorch (ratio per shape), the GEMM roof, optimiser-state memory, peak RSS of a training run
# against PyTorch's, and (full mode) compile time and binary size of each program; tables on
# stdout, CSV files, and the plot docs/figures/bench_step_time.png.
#
#   bench/run_benchmarks.sh            full: 14 shapes x 3 rounds, compile times (~25 min, 2 cores)
#   bench/run_benchmarks.sh --quick    4 shapes, 1 round, no compile times (a few minutes; for CI)
#   --no-build: use the programs already in build-bench (AGD_BENCH_BUILD overrides the directory)
#   more flags (--threads N, --rounds R, --max-seconds S, --only sweep|memory|rss|compile):
#   /usr/bin/python3 bench/benchmarks.py --help
#
# Writes docs/benchmarks/*.csv and docs/figures/bench_step_time.png (full mode), or
# build-bench/benchmarks-quick/ (quick mode; the committed figures are left alone).
# Needs: README command (1)'s packages, python3-torch python3-numpy libopenblas0 (the PyTorch
# reference), python3-matplotlib (the plot; skipped without it), bc (compile times).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${AGD_BENCH_BUILD:-build-bench}"
quick=0 build_first=1 args=()
for a in "$@"; do
  case "$a" in
    --quick) quick=1; args+=("$a") ;;
    --no-build) build_first=0 ;;  # use what is in $build already
    *) args+=("$a") ;;
  esac
done
/usr/bin/python3 -c "import torch, numpy" 2>/dev/null || {
  echo "run_benchmarks.sh: /usr/bin/python3 cannot import torch and numpy:" \
       "apt-get install -y python3-torch python3-numpy libopenblas0" >&2; exit 2; }

if [ "$build_first" = 1 ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DAGD_BUILD_BENCH=ON >/dev/null
  cmake --build "$build" --target bench_sweep bench_memory fashion_mnist -j"$(nproc)"
fi

machine="$(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)"
if [ "$quick" = 1 ]; then
  exec /usr/bin/python3 bench/benchmarks.py --build "$build" --out "$build/benchmarks-quick" \
    --figure "$build/benchmarks-quick/bench_step_time.png" --machine "$machine" ${args[@]+"${args[@]}"}
fi
mkdir -p docs/benchmarks docs/figures
exec /usr/bin/python3 bench/benchmarks.py --build "$build" --out docs/benchmarks \
  --figure docs/figures/bench_step_time.png --machine "$machine" --compile-times ${args[@]+"${args[@]}"}
