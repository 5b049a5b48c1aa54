// libFuzzer target: the training position's metadata parser and fit resuming from it
// (training_position_input.hpp says what must hold).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "training_position_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (!agd_fuzz::check_position_input(std::string_view(reinterpret_cast<const char*>(data), size)))
    std::abort();
  return 0;
}
