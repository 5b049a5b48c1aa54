// The precision a network computes in, as part of its type (Net::with_precision<agd::bf16>,
// network/precision.hpp), and the bfloat16 number format that mixed-precision training uses.
//
// bfloat16 keeps float's 8-bit exponent and rounds its mantissa to 8 bits (7 stored): the upper
// half of a float's bits. Hardware multiplies bf16 pairs into float sums (AVX512-BF16's
// VDPBF16PS, AMX's TDPBF16PS, tensor cores), 2-16x the float rate of the same chip. In agd's
// mixed precision the GEMM and convolution inputs are rounded to bf16 and everything else stays
// float: the sums, the layer outputs, the master weights, the gradients, their norms, G, eta and
// the updates. AGD suits it unusually well: an update divides each gradient by its own norm and
// takes its size from G (Algorithm 1), so rounding the inputs of the products changes the
// direction of a step by at most about 2^-8 relative, and nothing scales with it.
//
// Written once for both backends (AGD_HOST_DEVICE): the conversions below are the CPU's rounding
// where oneDNN has no kernel to convert, and the CUDA kernels' and the tests' reference.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "agd/core/host_device.hpp"

namespace agd {

/// A bfloat16 number: the upper 16 bits of a float (sign, 8-bit exponent, 7-bit mantissa). A
/// storage type only: arithmetic happens in float after to_float().
struct bf16 {
  std::uint16_t bits = 0;
};
static_assert(sizeof(bf16) == 2 && std::is_trivially_copyable_v<bf16>);

/// The bits of a float, host and device alike (memcpy compiles to a register move).
AGD_HOST_DEVICE inline std::uint32_t float_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

/// x rounded to the nearest bfloat16, ties to even (as VCVTNEPS2BF16 and CUDA's
/// __float2bfloat16 round); a NaN stays a (quiet) NaN, infinities stay infinite. Branch-free,
/// so that a loop of it vectorises.
AGD_HOST_DEVICE inline bf16 to_bf16(float x) {
  const std::uint32_t u = float_bits(x);
  const std::uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  const bool nan = (u & 0x7FFFFFFFu) > 0x7F800000u;
  return {std::uint16_t(nan ? ((u >> 16) | 0x40u) : rounded)};
}
AGD_HOST_DEVICE inline float to_float(bf16 x) {
  const std::uint32_t u = std::uint32_t(x.bits) << 16;
  float value;
  std::memcpy(&value, &u, sizeof value);
  return value;
}
/// x rounded to bfloat16 and back: what a bf16 GEMM multiplies in place of x.
AGD_HOST_DEVICE inline float round_to_bf16(float x) {
  return to_float(to_bf16(x));
}

/// Converts n floats to bfloat16 (a loop the compiler vectorises).
inline void convert_to_bf16(const float* from, std::size_t n, bf16* to) {
#pragma GCC ivdep
  for (std::size_t i = 0; i < n; ++i) to[i] = to_bf16(from[i]);
}

/// What the GEMMs and convolutions of a network multiply in. fp32: the network's scalar type
/// itself (float or double, as agd::Sequential has always run). bf16: inputs rounded to
/// bfloat16, products summed in float (everything else float).
enum class compute_precision : std::uint8_t { native, bf16 };

inline std::string precision_name(compute_precision p) {
  return p == compute_precision::bf16 ? "bf16" : "native";
}

/// The compute precision that Net::with_precision<P> names: agd::bf16, or the network's own
/// scalar type (native).
template <class P>
inline constexpr compute_precision precision_of =
    std::is_same_v<P, bf16> ? compute_precision::bf16 : compute_precision::native;
template <class P, class Scalar>
concept precision_for = std::is_same_v<P, Scalar> ||
    (std::is_same_v<P, bf16>&& std::is_same_v<Scalar, float>);

}  // namespace agd
