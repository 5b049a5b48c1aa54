// libFuzzer target: the IDX reader on arbitrary bytes (raw or gzip). It must either return an
// array whose size matches its header or throw agd::data::idx_error; anything else (a crash, a
// sanitizer report, another exception) is a bug.
#include <agd/data/idx.hpp>

#include <cstdint>
#include <cstdlib>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const auto array = agd::data::parse_idx(std::vector<std::uint8_t>(data, data + size), "fuzz");
    std::size_t declared = 1;
    for (auto d : array.dims) declared *= d;
    if (declared != array.data.size()) std::abort();
  } catch (const agd::data::idx_error&) {
  }
  return 0;
}
