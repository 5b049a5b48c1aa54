// libFuzzer target: the CIFAR binary reader on arbitrary bytes, as CIFAR-10 and as CIFAR-100.
// It must return a consistent data set or throw agd::data::dataset_error.
#include <agd/data/cifar.hpp>

#include <cstdint>
#include <cstdlib>
#include <span>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  for (auto kind : {agd::data::cifar_kind::cifar10, agd::data::cifar_kind::cifar100_coarse}) {
    try {
      const auto set =
          agd::data::parse_cifar(std::span<const std::uint8_t>(data, size), kind, "fuzz");
      if (set.inputs.rows() != 3072 || std::size_t(set.inputs.cols()) != set.size()) std::abort();
      for (auto label : set.labels)
        if (label < 0 || label >= set.classes) std::abort();
    } catch (const agd::data::dataset_error&) {
    }
  }
  return 0;
}
