#!/usr/bin/env bash
# fp32 against bf16 (Net::with_precision<agd::bf16>) on Fashion-MNIST, seeds 0, 1 and 2, with the
# examples as a user runs them: the main example's depth-4 FCN (3 epochs), FashionCNN (3 epochs)
# and Figure 1 (left)'s 32-layer width-256 FCN trained by AGD (10 epochs). Prints one line per
# run and, per network and precision, the final test accuracy's mean [min, max].
#
#   bench/precision_experiments.sh [THREADS] [BUILD_DIR]
#     THREADS    default: all cores
#   What to run, from the environment: NETWORKS (default "fcn4 cnn fcn32"), SEEDS ("0 1 2").
# Needs: the examples built (command (1) of README.md), Fashion-MNIST, and a CPU with AVX512-BF16
# or AMX (the bf16 runs say so and stop elsewhere).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
threads="${1:-$(nproc)}"
build="${2:-$here/../build}"
networks="${NETWORKS:-fcn4 cnn fcn32}"
seeds="${SEEDS:-0 1 2}"
for program in fashion_mnist fashion_cnn deep_fcn; do
  [ -x "$build/examples/$program" ] || {
    echo "precision_experiments.sh: $build/examples/$program not found: build the examples (README.md, command (1))" >&2
    exit 2
  }
done

results="$(mktemp)"
trap 'rm -f "$results"' EXIT
echo "# $(lscpu | sed -n 's/^Model name: *//p'), $threads threads, $(date -u +%Y-%m-%dT%H:%MZ)"
for network in $networks; do
  case "$network" in
    fcn4) command=("$build/examples/fashion_mnist" --epochs 3) ;;
    cnn) command=("$build/examples/fashion_cnn" --epochs 3) ;;
    fcn32) command=("$build/examples/deep_fcn" --epochs 10) ;;
    *) echo "precision_experiments.sh: no network '$network' (fcn4, cnn, fcn32)" >&2; exit 2 ;;
  esac
  for seed in $seeds; do
    for precision in fp32 bf16; do
      start=$(date +%s.%N)
      output="$("${command[@]}" --threads "$threads" --seed "$seed" --precision "$precision" 2>&1)" || {
        echo "$output" | tail -3 >&2
        exit 1
      }
      seconds=$(echo "$(date +%s.%N) - $start" | bc)
      accuracy="$(echo "$output" | sed -n 's/^final test accuracy: \([0-9.]*\)%.*/\1/p')"
      last="$(echo "$output" | grep -E "^epoch [0-9]+: " | tail -1)"
      loss="$(echo "$last" | sed -n 's/.*train loss \([0-9.]*\).*/\1/p')"
      step="$(echo "$last" | sed -n 's/.*step \([0-9.]*\) ms.*/\1/p')"
      printf "run network=%s precision=%s seed=%s test_accuracy=%s train_loss=%s step_ms=%s seconds=%.0f\n" \
        "$network" "$precision" "$seed" "$accuracy" "$loss" "$step" "$seconds" | tee -a "$results"
    done
  done
done
echo
echo "# final test accuracy (%), mean [min, max] over seeds: fp32 | bf16 | bf16 - fp32"
for network in $networks; do
  line="$network:"
  for precision in fp32 bf16; do
    line+=" $(grep "network=$network precision=$precision " "$results" |
      sed -n 's/.*test_accuracy=\([0-9.]*\).*/\1/p' |
      awk '{s+=$1; if(NR==1||$1<lo)lo=$1; if(NR==1||$1>hi)hi=$1} END {printf "%.2f [%.2f, %.2f]", s/NR, lo, hi}') |"
  done
  difference=$(paste <(grep "network=$network precision=bf16 " "$results" | sed -n 's/.*test_accuracy=\([0-9.]*\).*/\1/p') \
    <(grep "network=$network precision=fp32 " "$results" | sed -n 's/.*test_accuracy=\([0-9.]*\).*/\1/p') |
    awk '{d+=$1-$2} END {printf "%+.2f", d/NR}')
  echo "$line $difference"
done
