#!/bin/sh
# Regenerates the paper's figures on Fashion-MNIST: CSV from build/examples/experiments, PNG from
# bench/plot_figures.py (Debian python3-matplotlib). docs/results.md shows and discusses them.
#
#   bench/reproduce.sh figure1|figure5|figure6|phases|figure7|eta|all [--quick] [--out DIR]
#                      [--figures DIR] [--bin PATH] [--threads N]
#
# One command per figure; `phases` is Figure 6's two phases (four of its networks trained until
# their train accuracy stops rising). Full runs write CSV to docs/figures/data/ and PNG to
# docs/figures/ (docs/results.md states how long each took). --quick trains a few steps per
# epoch on a subset (under a minute) to check that everything works; its CSV and PNG go to --out
# (default build/experiments-quick), never into docs/. --bin uses an experiments program already
# built; otherwise it is built in $BUILD_DIR (default build, configured if needed). The plots
# need /usr/bin/python3 with matplotlib, or $PYTHON. --threads N: GEMM threads (0: all cores).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
usage() {
  echo "usage: $0 figure1|figure5|figure6|phases|figure7|eta|all [--quick] [--out DIR] [--figures DIR] [--bin PATH] [--threads N]" >&2
  exit 2
}

[ $# -ge 1 ] || usage
figure=$1
shift
case $figure in
  figure1 | figure5 | figure6 | phases | figure7 | eta | all) ;;
  *) usage ;;
esac

quick=0
out=
figures=
bin=
threads=0
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift ;;
    --figures) [ $# -ge 2 ] || usage; figures=$2; shift ;;
    --bin) [ $# -ge 2 ] || usage; bin=$2; shift ;;
    --threads) [ $# -ge 2 ] || usage; threads=$2; shift ;;
    *) usage ;;
  esac
  shift
done

build_dir=${BUILD_DIR:-$root/build}
python=${PYTHON:-/usr/bin/python3}
if [ $quick = 1 ]; then
  out=${out:-$build_dir/experiments-quick}
  figures=${figures:-$out}
else
  out=${out:-$root/docs/figures/data}
  figures=${figures:-$root/docs/figures}
fi

# Fail before hours of training, not after, when the plots cannot be drawn.
if ! "$python" -c 'import matplotlib, numpy' 2>/dev/null; then
  echo "$0: $python cannot import matplotlib and numpy, which draw the figures:" >&2
  echo "  apt-get install -y python3-matplotlib   (or set PYTHON to a Python that has them)" >&2
  exit 1
fi

if [ -z "$bin" ]; then
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release
  fi
  cmake --build "$build_dir" -j"$(nproc)" --target experiments
  bin=$build_dir/examples/experiments
fi

mkdir -p "$out" "$figures"
if [ $quick = 1 ]; then mode=--quick; else mode=; fi
if [ "$figure" = all ]; then
  set --
else
  set -- --only "$figure"
fi

start=$(date +%s)
# shellcheck disable=SC2086  # $mode is empty or one word on purpose
"$bin" "$figure" $mode --out "$out" --threads "$threads"
"$python" "$root/bench/plot_figures.py" --data "$out" --out "$figures" "$@"
echo "$0: $figure done in $(($(date +%s) - start)) s; CSV in $out, PNG in $figures"
