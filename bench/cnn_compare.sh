#!/usr/bin/env bash
# Times the AGD training step of the convolutional networks of examples/cnn_models.hpp in agd
# (build/bench/bench_cnn) and of the same networks with the paper's AGD step in PyTorch
# (bench/pytorch_cnn_agd.py, OMP_WAIT_POLICY=PASSIVE: its best setting here), with the same
# thread count, then the GEMM roof (bench_cnn --roof), all in one command, and prints per run the
# ratio PyTorch / agd and agd's fraction of the roof.
#
#   bench/cnn_compare.sh [THREADS] [RUNS] [BUILD_DIR]
#     THREADS  default: all cores
#     RUNS     MODEL:BATCH,...   default: fashion_cnn:128
#              (models: fashion_cnn, vgg16, resnet18; CIFAR shapes for the last two)
#   Timing, from the environment: WARMUP (default 5), MIN_STEPS (10), MAX_STEPS (200),
#   MAX_SECONDS (2): each side stops after MAX_STEPS timed steps, or after MAX_SECONDS once it
#   has MIN_STEPS.
#   PRECISION (default fp32): fp32 or bf16; bf16 passes --precision bf16 to both sides (agd's
#   bf16 network; PyTorch's forward and loss under torch.autocast bfloat16, AGD step in fp32).
#   TORCH_WAIT_POLICIES (default "passive"; "passive unset" for bf16): PyTorch runs once with
#   each OMP_WAIT_POLICY, and the ratio takes its fastest median.
# Needs: bench_cnn built (cmake -S . -B build -DAGD_BUILD_BENCH=ON && cmake --build build --target bench_cnn), python3-torch, python3-numpy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
threads="${1:-$(nproc)}"
runs="${2:-fashion_cnn:128}"
build="${3:-$here/../build}"
bench="$build/bench/bench_cnn"
[ -x "$bench" ] || { echo "cnn_compare.sh: $bench not found: cmake -S . -B build -DAGD_BUILD_BENCH=ON && cmake --build build --target bench_cnn" >&2; exit 2; }
python=python3
/usr/bin/python3 -c "import torch" 2>/dev/null && python=/usr/bin/python3
"$python" -c "import torch, numpy" 2>/dev/null || {
  echo "cnn_compare.sh: PyTorch is missing: apt-get install python3-torch python3-numpy" >&2; exit 2; }
# OMP_WAIT_POLICY settings to run PyTorch with (passive, active, unset); the fastest counts.
# PASSIVE is PyTorch's best for fp32 here; for bf16 (oneDNN on torch's OpenMP threads) it may not
# be, so PRECISION=bf16 tries passive and unset unless TORCH_WAIT_POLICIES says otherwise.
default_policies=passive
[ "${PRECISION:-fp32}" = bf16 ] && default_policies="passive unset"
torch_policies="${TORCH_WAIT_POLICIES:-$default_policies}"
warmup="${WARMUP:-5}" min_steps="${MIN_STEPS:-10}" max_steps="${MAX_STEPS:-200}"
max_seconds="${MAX_SECONDS:-2}"
timing=(--warmup "$warmup" --min-steps "$min_steps" --max-steps "$max_steps" --max-seconds "$max_seconds")
precision="${PRECISION:-fp32}"
case "$precision" in
  fp32) ;;
  bf16) timing+=(--precision "$precision") ;;  # fp32 passes no flag: exactly the old commands
  *) echo "cnn_compare.sh: PRECISION must be fp32 or bf16, not '$precision'" >&2; exit 2 ;;
esac

# shellcheck source=openblas_env.sh
. "$here/openblas_env.sh"
echo "PyTorch's OpenBLAS kernels: $OPENBLAS_CORE${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)}"

value() { sed -n "s/.*[ ^]$1=\([0-9.]*\).*/\1/p" | head -1; }

summary=()
IFS=',' read -ra entries <<< "$runs"
for entry in "${entries[@]}"; do
  model="${entry%%:*}" batch="${entry##*:}"
  agd_out=$("$bench" --threads "$threads" --runs "$entry" "${timing[@]}")
  echo "$agd_out"
  agd_line=$(echo "$agd_out" | grep '^agd_cnn')
  # PyTorch with each wait policy asked for; the ratio takes its fastest median.
  torch_ms=""
  for policy in $torch_policies; do
    torch_out=$("$python" "$here/pytorch_cnn_agd.py" --model "$model" --batch "$batch" \
                  --threads "$threads" --omp-wait-policy "$policy" "${timing[@]}")
    echo "$torch_out" | sed "s/^pytorch_cnn /pytorch_cnn omp_wait_policy=$policy /"
    ms=$(echo "$torch_out" | grep '^pytorch_cnn' | value median_ms)
    if [ -z "$torch_ms" ] || awk -v a="$ms" -v b="$torch_ms" 'BEGIN {exit !(a < b)}'; then torch_ms=$ms; fi
  done
  summary+=("$model $batch $(echo "$agd_line" | value median_ms) $(echo "$agd_line" | value gflops) $torch_ms")
done
roof_line=$("$bench" --threads "$threads" --roof | grep '^gemm_roof')
echo "$roof_line"
roof=$(echo "$roof_line" | value gflops)
echo
printf '%-12s %6s %12s %14s %10s %14s %10s\n' model batch agd_ms torch_ms ratio agd_GFLOP/s of_roof
for line in "${summary[@]}"; do
  read -r model batch agd_ms gflops torch_ms <<< "$line"
  awk -v m="$model" -v b="$batch" -v a="$agd_ms" -v t="$torch_ms" -v g="$gflops" -v r="$roof" 'BEGIN {
    printf "%-12s %6d %12.2f %14.2f %9.2fx %14.1f %9.0f%%\n", m, b, a, t, t / a, g, 100 * g / r }'
done
echo "threads=$threads precision=$precision gemm_roof=${roof} GFLOP/s (ratio: PyTorch median / agd median), load average $(cut -d' ' -f1-3 /proc/loadavg)"
