#!/usr/bin/env bash
# Compile time and binary size of each example, test and benchmark program, one target at a time
# in a fresh build tree (objects of other targets are not reused), then the whole test suite
# with -j2. One line per target: `target=NAME seconds=S bytes=B stripped_bytes=B2` (or
# `target=NAME failed=1`), then `target=all_tests_j2 seconds=S`.
#   bench/compile_times.sh [BUILD_DIR]     (default: build-compile-times, removed afterwards)
# Needs bc. bench/run_benchmarks.sh runs it in full mode.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build-compile-times}"
rm -rf "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$dir" --target agd_catch_main -j2 >/dev/null  # Catch2's main, shared by the tests
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null; end=$(date +%s.%N); echo "$end - $start" | bc; }
# Every example and test program the tree defines (their CMakeFiles/<target>.dir) whose source
# <dir>/<target>.cpp is committed (work in progress in a shared tree is left out), and the
# benchmarks that run_benchmarks.sh uses.
targets() {
  for d in examples tests; do
    for t in "$dir/$d"/CMakeFiles/*.dir; do
      t=$(basename "$t" .dir)
      case "$t" in agd_catch_main|agd_interop) continue ;; esac
      git ls-files --error-unmatch "$d/$t.cpp" >/dev/null 2>&1 && echo "$t"
    done
  done
  echo bench_step_time bench_sweep bench_memory
}
for target in $(targets); do
  start=$(date +%s.%N)
  if ! cmake --build "$dir" --target "$target" -j2 >/dev/null 2>&1; then
    echo "target=$target failed=1"
    continue
  fi
  s=$(echo "$(date +%s.%N) - $start" | bc)
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
