#!/usr/bin/env bash
# Stages what tools/gpu_check.sh needs on a GPU machine that has only nvcc, CMake and PyTorch:
# the header-only dependencies from this machine's Debian packages (Eigen, Boost.Hana and the
# Boost headers it includes, Catch2, zlib's header) and zlib's static library, into
# tools/gpu_deps/ (git-ignored), within the 64 MiB that a device run carries.
#
#   tools/stage_gpu.sh          then, on the GPU machine:  tools/gpu_check.sh
#
# Which headers: every one the GPU check's sources include from /usr/include, as g++ lists them
# (-M, with Thrust's host system standing in for CUDA), plus the whole of Eigen and of
# boost/config and boost/hana, whose CUDA-only branches g++ does not see.
set -euo pipefail
cd "$(dirname "$0")/.."
deps=tools/gpu_deps
cuda=${AGD_CUDA_ROOT:-/usr/local/cuda}
rm -rf "$deps"
mkdir -p "$deps/include" "$deps/lib"

for needed in /usr/include/eigen3/Eigen /usr/include/boost/hana.hpp /usr/include/catch2/catch.hpp \
              /usr/include/zlib.h /usr/lib/x86_64-linux-gnu/libz.a "$cuda/include/cccl/thrust"; do
  if [ ! -e "$needed" ]; then
    echo "stage_gpu: $needed is missing: run this on a machine with the project's Debian packages" \
         "(README.md, command (1)) and the CUDA toolkit" >&2
    exit 1
  fi
done

sources=(tests/cuda/device_layers.cu tests/cuda/device_resnet.cu tests/cuda/device_training.cu
         bench/cuda_step.cu tests/catch_main.cpp)
headers=$(for source in "${sources[@]}"; do
  g++ -std=c++20 -x c++ -M -MT x -DTHRUST_DEVICE_SYSTEM=THRUST_DEVICE_SYSTEM_CPP \
      -Iinclude -Iexamples -Itests -I/usr/include/eigen3 \
      -isystem "$cuda/include/cccl" -isystem "$cuda/include" "$source"
done | tr ' \\' '\n\n' | grep -E '^/usr/include/(boost|catch2|zlib\.h|zconf\.h)' | sort -u)
for header in $headers; do
  mkdir -p "$deps/include/$(dirname "${header#/usr/include/}")"
  cp "$header" "$deps/include/${header#/usr/include/}"
done
cp -r /usr/include/eigen3 "$deps/include/eigen3"
mkdir -p "$deps/include/boost"
cp -r /usr/include/boost/config /usr/include/boost/hana "$deps/include/boost/"
cp /usr/include/boost/config.hpp /usr/include/boost/hana.hpp "$deps/include/boost/"
cp /usr/lib/x86_64-linux-gnu/libz.a "$deps/lib/"

size=$(du -sm "$deps" | cut -f1)
echo "stage_gpu: staged $(find "$deps" -type f | wc -l) files, ${size} MiB, in $deps"
if [ "$size" -gt 48 ]; then
  echo "stage_gpu: more than 48 MiB: too close to the 64 MiB a device run carries" >&2
  exit 1
fi
