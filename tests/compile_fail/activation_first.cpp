// Must not compile: an activation cannot fix the network's input size.
#include <agd/agd.hpp>

using Net = agd::Sequential<agd::Relu, agd::Dense<784, 10>>;

int main() {
  return Net::depth == 1 ? 0 : 1;
}
