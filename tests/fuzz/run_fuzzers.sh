#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-14 and runs each for a bounded time on its seed corpus,
# then reports executions and crashes per target.
#   tests/fuzz/run_fuzzers.sh [SECONDS_PER_TARGET (default 600)] [TARGET ...]
# Targets run one after another; crash inputs land in build-fuzz/artifacts/<target>/. To run
# targets side by side, build once, then start one script per target with AGD_FUZZ_NO_BUILD=1.
# Needs: apt-get install clang-14 libclang-rt-14-dev
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-600}"
shift || true
build=build-fuzz
command -v clang++-14 >/dev/null || { echo "run_fuzzers.sh: clang++-14 missing: apt-get install clang-14 libclang-rt-14-dev" >&2; exit 2; }
[ "${AGD_FUZZ_NO_BUILD:-0}" = 1 ] || CXX=clang++-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAGD_FUZZ=ON -DAGD_BUILD_TESTS=OFF \
  -DAGD_BUILD_EXAMPLES=OFF -DAGD_BUILD_BENCH=OFF >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(sed -n 's/^agd_add_fuzzer(\(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
fi
[ "${AGD_FUZZ_NO_BUILD:-0}" = 1 ] || cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
status=0
for target in "${targets[@]}"; do
  corpus_seed="tests/fuzz/corpus/${target#fuzz_}"
  work="$build/corpus/$target"
  artifacts="$build/artifacts/$target"
  mkdir -p "$work" "$artifacts"
  log="$build/$target.log"
  set +e
  "$build/tests/fuzz/$target" "$work" "$corpus_seed" -max_total_time="$seconds" -max_len=65536 \
    -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  set -e
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(find "$artifacts" -type f | wc -l)
  printf '%-12s %s s  %s executions  %s crash files  exit %s  (log: %s)\n' "$target" "$seconds" \
    "${runs:-?}" "$crashes" "$rc" "$log"
  [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] || status=1
done
exit $status
