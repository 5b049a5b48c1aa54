// A layer whose only kernel is the CPU's must be refused on the CUDA backend at compile time,
// with the layer, its position and the backend in the error.
#define THRUST_DEVICE_SYSTEM THRUST_DEVICE_SYSTEM_CPP
#include <agd/cuda.hpp>

namespace my {
struct SoftSign {
  static constexpr std::size_t input_size = agd::any_size;
  static constexpr std::size_t output_size(std::size_t n) { return n; }
  static constexpr bool has_weights = false;
  static std::string name() { return "SoftSign"; }
};
}  // namespace my

template <>
struct agd::layer_kernel<my::SoftSign, agd::eigen::cpu> : agd::kernel_defaults {
  template <class S>
  static void forward(agd::eigen::cpu::context&, agd::matrix_view<const S>, agd::matrix_view<S>,
                      std::byte*) {}
  template <class S>
  static void backward(agd::eigen::cpu::context&, agd::matrix_view<const S>,
                       agd::matrix_view<const S>, agd::matrix_view<const S>, agd::matrix_view<S>,
                       std::byte*) {}
};

using Net = agd::Sequential<agd::Dense<4, 8>, my::SoftSign, agd::Dense<8, 2>>;
Net cpu_net(4);                         // fine: SoftSign has a CPU kernel
Net::on<agd::cuda::device> gpu_net(4);  // refused: it has none for CUDA
