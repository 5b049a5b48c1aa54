#include <agd/agd.hpp>

#include <cstdio>
#include <vector>

using Net = agd::Sequential<agd::Dense<8, 16>, agd::Sqrt2Relu, agd::Dense<16, 4>>;
static_assert(Net::depth == 2 && Net::parameter_count == 8 * 16 + 16 * 4);

int main() {
  Net net(4);
  agd::AGD optimizer(net, {.seed = 1});
  agd::matrix<float> inputs = agd::matrix<float>::Ones(8, 4);
  std::vector<std::int32_t> labels{0, 1, 2, 3};
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    auto output = net.forward(inputs);
    last = agd::SquareLoss::value_and_gradient<float>(output, labels, net.output_gradient());
    if (step == 0) first = last;
    net.backward();
    optimizer.step();
  }
  std::printf("consumer: loss %.4f -> %.4f\n", first, last);
  return last < first ? 0 : 1;
}
