# Sourced by the PyTorch comparisons: gives PyTorch's OpenBLAS its best kernels for this CPU.
# Debian's OpenBLAS 0.3.21 picks its kernels by CPU model and falls back to SSE3 "Prescott" ones
# on models it does not know (the Sapphire Rapids Xeons of these machines among them), which
# makes PyTorch's fully-connected layers 3-5x slower than the CPU allows and a comparison with
# agd worthless. If OpenBLAS's own choice is Prescott, OPENBLAS_CORETYPE is set to the widest
# kernels the CPU has (SkylakeX for AVX-512, Haswell for AVX2); a choice the caller made is kept.
# Sets OPENBLAS_CORE (the kernels PyTorch will run) for the scripts to print.
openblas_corename() {
  "${python:-python3}" - <<'PY' 2>/dev/null || echo unknown
import ctypes
for name in ("libopenblas.so.0", "libblas.so.3"):
    try:
        f = ctypes.CDLL(name).openblas_get_corename
        f.restype = ctypes.c_char_p
        print(f().decode())
        break
    except Exception:
        pass
else:
    print("unknown")
PY
}
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ "$(openblas_corename)" = "Prescott" ]; then
  if grep -qw avx512f /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then
    export OPENBLAS_CORETYPE=Haswell
  fi
fi
OPENBLAS_CORE="$(openblas_corename)"
export OPENBLAS_CORE
