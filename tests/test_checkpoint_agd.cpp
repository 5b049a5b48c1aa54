// Checkpoints with agd::AGD: exact round trips of float and double networks, and an AGD that
// refuses another optimiser's checkpoint. Apart from test_checkpoint.cpp because constructing
// an agd::AGD compiles its QR-based orthogonal initialisation (about 5 s at -O2), which would
// take that file past its compile-time budget.
#include <agd/io/checkpoint.hpp>
#include <agd/layers/dense.hpp>
#include <agd/layers/relu.hpp>
#include <agd/optim/adam.hpp>
#include <agd/optim/agd.hpp>
#include <agd/sequential.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "checkpoint_support.hpp"
#include "scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;

using Net = agd::Sequential<agd::Dense<12, 16>, agd::Sqrt2Relu, agd::Dense<16, 8>, agd::Sqrt2Relu,
                            agd::Dense<8, 3>>;
using DoubleNet = Net::rebind<double>;

using agd_test::same_weights;

}  // namespace

TEST_CASE("checkpoint: a float network with AGD round-trips exactly", "[checkpoint][agd]") {
  agd_test::scratch_dir dir("agd_checkpoint");
  const fs::path file = dir.path / "agd.safetensors";
  Net net(4);
  agd::AGD optimizer(net, {.seed = 1});  // AGD keeps no state, so no step is needed first
  agd::io::save_checkpoint(file, net, optimizer,
                           {.step = 17, .epoch = 2, .extra = {{"rng", "12345 678"}}});

  Net restored(4);
  agd::AGD restored_optimizer(restored, {.seed = 2});
  REQUIRE_FALSE(same_weights(net, restored));
  const auto info = agd::io::load_checkpoint(file, restored, restored_optimizer);
  CHECK(same_weights(net, restored));
  CHECK(info.step == 17);
  CHECK(info.epoch == 2);
  CHECK(info.extra == std::map<std::string, std::string>{{"rng", "12345 678"}});

  // The weights and nothing else: AGD has no state, and no step count to restore.
  const agd::io::safetensors_reader reader(file);
  CHECK(reader.tensors().size() == 3);
  CHECK(reader.metadata().at("agd.optimizer") == "agd");
  CHECK_FALSE(reader.metadata().contains("agd.optimizer.steps"));
}

TEST_CASE("checkpoint: a double-precision network with AGD round-trips exactly",
          "[checkpoint][agd]") {
  agd_test::scratch_dir dir("agd_checkpoint");
  const fs::path file = dir.path / "double.safetensors";
  DoubleNet net(2);
  agd::AGD optimizer(net, {.seed = 8});
  agd::io::save_checkpoint(file, net, optimizer, {.epoch = 9});
  CHECK(agd::io::safetensors_reader(file).find("layers.0.weight")->type == agd::io::dtype::f64);

  DoubleNet restored(2);
  agd::AGD restored_optimizer(restored, {.seed = 9});
  CHECK(agd::io::load_checkpoint(file, restored, restored_optimizer).epoch == 9);
  CHECK(same_weights(net, restored));

  // Into a float network the values are rounded, as torch's load_state_dict does.
  Net single(2);
  agd::io::load_weights(file, single);
  bool rounded = true;
  for (std::size_t k = 0; k < Net::depth; ++k)
    rounded = rounded && single.weight(k) == net.weight(k).cast<float>();
  CHECK(rounded);
}

TEST_CASE("checkpoint: AGD refuses an Adam checkpoint, whose weights still load alone",
          "[checkpoint][agd]") {
  agd_test::check_adam_checkpoint_refused_by<Net, agd::AGD>("agd");
}
