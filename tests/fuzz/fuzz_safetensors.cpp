// libFuzzer target: the safetensors reader on arbitrary bytes. The reader works on files (it
// checks the header against the file's size), so each input is written to a file in /dev/shm
// first. It must read every rank-2 tensor it accepts, or throw agd::io::checkpoint_error.
#include <agd/io/safetensors.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path = "/dev/shm/agd_fuzz_safetensors_" + std::to_string(::getpid());
  if (std::FILE* out = std::fopen(path.c_str(), "wb")) {
    if (size) std::fwrite(data, 1, size, out);
    std::fclose(out);
  } else {
    return 0;
  }
  try {
    agd::io::safetensors_reader reader(path);
    for (const auto& [name, tensor] : reader.tensors())
      if (tensor.shape.size() == 2) static_cast<void>(reader.read_matrix<float>(name));
  } catch (const agd::io::checkpoint_error&) {
  }
  return 0;
}
