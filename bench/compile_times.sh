#!/usr/bin/env bash
# Compile time of each example and test program, one target at a time, in a fresh build tree
# (objects of other targets are not reused), plus the whole test suite with -j2.
#   bench/compile_times.sh [BUILD_DIR]     (default: build-compile-times, removed afterwards)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build-compile-times}"
rm -rf "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" --target agd_catch_main -j2 >/dev/null  # Catch2's main, shared by the tests
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
for target in fashion_mnist deep_fcn test_gradients test_optimizers test_network test_training \
              test_idx test_data test_allocations; do
  printf '%-20s %6.1f s\n' "$target" "$(seconds cmake --build "$dir" --target "$target" -j2)"
done
rm -rf "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DAGD_BUILD_EXAMPLES=OFF -DAGD_BUILD_BENCH=OFF >/dev/null
printf '%-20s %6.1f s\n' "all tests, -j2" "$(seconds cmake --build "$dir" -j2)"
rm -rf "$dir"
