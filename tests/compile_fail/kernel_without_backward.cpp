// A kernel that lacks a function must be refused with one short error that names the layer, its
// position, the backend and the missing function, and nothing after it (the network calls no
// kernel that failed the check).
#include <agd/agd.hpp>

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
};

int main() {
  agd::Sequential<agd::Dense<4, 8>, my::SoftSign, agd::Dense<8, 2>> net(4);
  net.forward(Eigen::MatrixXf::Zero(4, 4));
  net.backward(Eigen::MatrixXf::Zero(2, 4));
}
