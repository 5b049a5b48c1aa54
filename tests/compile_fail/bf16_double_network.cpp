// Must not compile: mixed precision is bf16 inputs with float sums and float weights; a double
// network has none.
#include <agd/agd.hpp>

using Net = agd::basic_sequential<double, agd::Dense<4, 3>, agd::Relu, agd::Dense<3, 2>>;

int main() {
  Net::with_precision<agd::bf16> net(8);
  return net.batch_capacity() == 8 ? 0 : 1;
}
