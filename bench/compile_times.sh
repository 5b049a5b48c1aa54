#!/usr/bin/env bash
# Compile time and binary size of each example, benchmark and test program, one target at a time
# in a fresh build tree (objects of other targets are not reused), then the whole test suite
# with -j2. One line per target: `target=NAME seconds=S bytes=B stripped_bytes=B2`.
#   bench/compile_times.sh [BUILD_DIR]     (default: build-compile-times, removed afterwards)
# Needs bc. bench/run_benchmarks.sh runs it in full mode.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build-compile-times}"
rm -rf "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" --target agd_catch_main -j2 >/dev/null  # Catch2's main, shared by the tests
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
for target in fashion_mnist deep_fcn bench_step_time bench_sweep bench_memory test_gradients \
              test_optimizers test_network test_training test_idx test_data test_allocations \
              test_custom_layer; do
  s=$(seconds cmake --build "$dir" --target "$target" -j2)
  binary=$(find "$dir" -type f -name "$target" -perm -u+x | head -1)
  stripped="$dir/$target.stripped"
  strip -o "$stripped" "$binary"
  printf 'target=%s seconds=%.1f bytes=%d stripped_bytes=%d\n' "$target" "$s" \
         "$(stat -c %s "$binary")" "$(stat -c %s "$stripped")"
done
rm -rf "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DAGD_BUILD_EXAMPLES=OFF -DAGD_BUILD_BENCH=OFF >/dev/null
printf 'target=%s seconds=%.1f\n' "all_tests_j2" "$(seconds cmake --build "$dir" -j2)"
rm -rf "$dir"
