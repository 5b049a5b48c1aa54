// libFuzzer target: agd::io::load_checkpoint, load_weights and the training position on
// arbitrary bytes (checkpoint_input.hpp says what must hold). The reader works on files, so each
// input is written to a file in /dev/shm first.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "checkpoint_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/dev/shm/agd_fuzz_checkpoint_" + std::to_string(::getpid());
  if (std::FILE* out = std::fopen(path.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, out);
    std::fclose(out);
  } else {
    return 0;
  }
  if (!agd_fuzz::check_checkpoint_file(path)) std::abort();
  return 0;
}
