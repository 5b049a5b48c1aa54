#!/usr/bin/env bash
# Compile time and binary size of each example, test and benchmark program, one target at a time
# in a fresh build tree (objects of other targets are not reused), then the whole test suite
# with -j2. One line per target: `target=NAME seconds=S bytes=B stripped_bytes=B2` (or
# `target=NAME failed=1`), then `target=all_tests_j2 seconds=S`. With GNU time (/usr/bin/time)
# each line also gives the CPU seconds of the build (user, sys: every compiler process, which
# the wall time hides on a busy machine) and the largest compiler's peak memory (max_rss_mb).
#   bench/compile_times.sh [BUILD_DIR]     (default: build-compile-times, removed afterwards)
#   AGD_COMPILE_TIME_TARGETS="fashion_mnist deep_fcn" bench/compile_times.sh   (only these, and
#                                          not the whole test suite)
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
gnu_time=$([ -x /usr/bin/time ] && echo /usr/bin/time || true)
usage="$dir/usage.txt"
for target in ${AGD_COMPILE_TIME_TARGETS:-$(targets)}; do
  start=$(date +%s.%N)
  if ! ${gnu_time:+$gnu_time -f "user=%U sys=%S max_rss_mb=%M" -o "$usage"} \
       cmake --build "$dir" --target "$target" -j2 >/dev/null 2>&1; then
    echo "target=$target failed=1"
    continue
  fi
  s=$(echo "$(date +%s.%N) - $start" | bc)
  cpu=""
  if [ -n "$gnu_time" ]; then  # %M is in KiB
    cpu=" $(tail -1 "$usage" | awk '{ split($3, m, "="); $3 = "max_rss_mb=" int(m[2] / 1024); print }')"
  fi
  binary=$(find "$dir" -type f -name "$target" -perm -u+x | head -1)
  stripped="$dir/$target.stripped"
  strip -o "$stripped" "$binary"
  printf 'target=%s seconds=%.1f%s bytes=%d stripped_bytes=%d\n' "$target" "$s" "$cpu" \
         "$(stat -c %s "$binary")" "$(stat -c %s "$stripped")"
done
[ -n "${AGD_COMPILE_TIME_TARGETS:-}" ] && { rm -rf "$dir"; exit 0; }
rm -rf "$dir"
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DAGD_BUILD_EXAMPLES=OFF -DAGD_BUILD_BENCH=OFF >/dev/null
printf 'target=%s seconds=%.1f\n' "all_tests_j2" "$(seconds cmake --build "$dir" -j2)"
rm -rf "$dir"
