// Must not compile: layer 3 expects 512 inputs but layer 2 (Relu after Dense<784,256>) gives 256.
#include <agd/agd.hpp>

using Net = agd::Sequential<agd::Dense<784, 256>, agd::Relu, agd::Dense<512, 10>>;

int main() {
  return Net::depth == 2 ? 0 : 1;
}
