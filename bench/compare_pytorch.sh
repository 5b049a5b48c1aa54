#!/usr/bin/env bash
# Times the AGD training step of the depth-4 width-512 batch-128 network in agd and in PyTorch
# (the paper's Appendix B code, bench/pytorch_agd.py) with the same thread count, and prints the
# ratio. PyTorch runs twice: as installed (libgomp's default spin-waiting, which fights OpenBLAS's
# threads for the cores) and with OMP_WAIT_POLICY=PASSIVE (its best configuration here).
#
#   bench/compare_pytorch.sh [THREADS] [BUILD_DIR]      (defaults: all cores, build)
#   PRECISION (environment, default fp32): fp32 or bf16; bf16 passes --precision bf16 to both
#   sides (agd's bf16 network; PyTorch's forward and loss under torch.autocast bfloat16, the
#   AGD step in fp32).
# Needs: the build (README command 1), python3-torch, python3-numpy, libopenblas0.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
threads="${1:-$(nproc)}"
build="${2:-$here/../build}"
bench="$build/bench/bench_step_time"
precision="${PRECISION:-fp32}"
prec=()  # fp32 passes no flag: exactly the old commands
case "$precision" in
  fp32) ;;
  bf16) prec=(--precision "$precision") ;;
  *) echo "compare_pytorch.sh: PRECISION must be fp32 or bf16, not '$precision'" >&2; exit 2 ;;
esac
[ -x "$bench" ] || { echo "compare_pytorch.sh: $bench not found: cmake -S . -B build -DAGD_BUILD_BENCH=ON && cmake --build build --target bench_step_time" >&2; exit 2; }
python=python3
/usr/bin/python3 -c "import torch" 2>/dev/null && python=/usr/bin/python3
"$python" -c "import torch, numpy" 2>/dev/null || {
  echo "compare_pytorch.sh: PyTorch is missing: apt-get install python3-torch python3-numpy libopenblas0" >&2; exit 2; }

# shellcheck source=openblas_env.sh
. "$here/openblas_env.sh"
echo "PyTorch's OpenBLAS kernels: $OPENBLAS_CORE${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)}"

value() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" | head -1; }

echo "== agd ($threads threads, $precision)"
# (Printed from a variable, not with `tee /dev/stderr`, which truncates a log file that stderr
# is redirected to.)
agd_out=$("$bench" --threads "$threads" --steps 500 ${prec[@]+"${prec[@]}"})
echo "$agd_out"
agd_line=$(echo "$agd_out" | grep '^agd_step_ms')
agd_ms=$(echo "$agd_line" | value median)

for policy in unset passive; do
  echo "== PyTorch, OMP_WAIT_POLICY $policy ($threads threads, $precision)"
  torch_out=$("$python" "$here/pytorch_agd.py" --mode time --threads "$threads" --steps 500 \
                --omp-wait-policy "$policy" ${prec[@]+"${prec[@]}"} 2>/dev/null)
  echo "$torch_out"
  torch_line=$(echo "$torch_out" | grep '^pytorch_step_ms')
  torch_ms=$(echo "$torch_line" | value median)
  torch_mean=$(echo "$torch_line" | value mean)
  awk -v a="$agd_ms" -v t="$torch_ms" -v m="$torch_mean" -v p="$policy" -v n="$threads" -v q="$precision" 'BEGIN {
    printf "ratio (PyTorch %s / agd), %d threads, %s: median %.2fx (%.3f / %.3f ms); PyTorch mean %.3f ms = %.2fx\n",
           p, n, q, t / a, t, a, m, m / a }'
done
