// Checkpoints: the file layout, exact round trips of Adam's and SGD's state, the errors for a
// different network or optimiser, every kind of corrupt file, and atomic writes that survive a
// writer killed mid-file. AGD's round trips are in test_checkpoint_agd.cpp: constructing an
// agd::AGD compiles its QR-based initialisation (about 5 s), so this file uses SGD wherever
// any optimiser will do. Gradients are set by hand from a seeded generator rather than by
// forward/backward, which keeps this file quick to compile and the steps reproducible.
#include <agd/init/kaiming_uniform.hpp>
#include <agd/io/checkpoint.hpp>
#include <agd/layers/dense.hpp>
#include <agd/layers/relu.hpp>
#include <agd/optim/adam.hpp>
#include <agd/optim/sgd.hpp>
#include <agd/sequential.hpp>

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "checkpoint_support.hpp"
#include "scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;
using agd::io::checkpoint_error;

using Net = agd::Sequential<agd::Dense<12, 16>, agd::Sqrt2Relu, agd::Dense<16, 8>, agd::Sqrt2Relu,
                            agd::Dense<8, 3>>;

/// Fills every gradient with values drawn from `seed`, the same for any network of the type.
template <class N>
void set_gradients(N& net, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> gaussian(0.0, 1.0);
  for (std::size_t k = 0; k < N::depth; ++k)
    for (Eigen::Index i = 0; i < net.gradient(k).size(); ++i)
      net.gradient(k).data()[i] = static_cast<typename N::scalar_type>(gaussian(rng));
}

/// Exact equality as a plain bool: Catch2 would otherwise instantiate Eigen's matrix printing
/// to show both sides, which costs more compile time than the whole comparison is worth.
template <class A, class B>
bool same_matrix(const Eigen::MatrixBase<A>& a, const Eigen::MatrixBase<B>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() && a == b;
}

using agd_test::same_weights;

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), std::streamsize(bytes.size()));
}

/// The 8-byte little-endian length, written byte by byte so the test holds on any host.
std::string length_prefix(std::uint64_t n) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[std::size_t(i)] = char((n >> (8 * i)) & 0xFF);
  return bytes;
}

/// A safetensors file split into its JSON header text and its data section. The tests edit
/// the header as text (the writer's JSON is compact, in a fixed order), which keeps this file
/// free of a JSON library of its own and quick to compile.
struct file_parts {
  std::string header;
  std::string data;
};

file_parts split(const std::string& bytes) {
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::uint8_t(bytes[std::size_t(i)]);
  return {bytes.substr(8, n), bytes.substr(8 + n)};
}

/// No padding on purpose: the reader must not depend on the data being aligned.
std::string join(const std::string& header, const std::string& data) {
  return length_prefix(header.size()) + header + data;
}

/// The file with `from` replaced by `to` in its header (which must contain `from`).
std::string edited(const std::string& bytes, const std::string& from, const std::string& to) {
  auto parts = split(bytes);
  const auto at = parts.header.find(from);
  REQUIRE(at != std::string::npos);
  parts.header.replace(at, from.size(), to);
  return join(parts.header, parts.data);
}

/// A float32 tensor's bytes, row-major little-endian, as PyTorch's safetensors writes them.
std::string row_major_f32(const agd::matrix<float>& m) {
  std::string bytes;
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    for (Eigen::Index c = 0; c < m.cols(); ++c) {
      std::uint32_t bits = 0;
      const float value = m(r, c);
      std::memcpy(&bits, &value, 4);
      for (int i = 0; i < 4; ++i) bytes.push_back(char((bits >> (8 * i)) & 0xFF));
    }
  return bytes;
}

/// Sets the write hook for one scope, and clears it however the scope ends.
struct scoped_write_hook {
  explicit scoped_write_hook(std::function<void(std::size_t)> hook) {
    agd::io::testing::after_bytes_written = std::move(hook);
  }
  ~scoped_write_hook() { agd::io::testing::after_bytes_written = nullptr; }
  scoped_write_hook(const scoped_write_hook&) = delete;
  scoped_write_hook& operator=(const scoped_write_hook&) = delete;
};

/// A checkpoint of Net with SGD without momentum (no optimiser tensors), saved at step 5.
struct saved_checkpoint {
  agd_test::scratch_dir dir{"agd_checkpoint"};
  fs::path file = dir.path / "model.safetensors";
  Net net{4};
  agd::SGD<Net> optimizer{net, {.seed = 11}};
  saved_checkpoint() { agd::io::save_checkpoint(file, net, optimizer, {.step = 5}); }
};

}  // namespace

TEST_CASE("checkpoint: the file is safetensors as PyTorch reads it", "[checkpoint]") {
  agd_test::scratch_dir dir("agd_checkpoint");
  const fs::path file = dir.path / "sgd.safetensors";
  Net net(4);
  agd::SGD optimizer(net, {.seed = 1});  // no momentum: no optimiser tensors
  agd::io::save_checkpoint(file, net, optimizer,
                           {.step = 17, .epoch = 2, .extra = {{"rng", "12345 678"}}});

  const auto bytes = read_file(file);
  const auto parts = split(bytes);
  CHECK((bytes.size() - parts.data.size()) % 8 == 0);  // the data starts 8-byte aligned
  const agd::io::safetensors_reader reader(file);
  CHECK(reader.tensors().size() == 3);
  using shape = std::vector<std::uint64_t>;
  CHECK(reader.find("layers.0.weight")->shape == shape{16, 12});  // [out, in], as nn.Linear
  CHECK(reader.find("layers.2.weight")->shape == shape{8, 16});
  CHECK(reader.find("layers.4.weight")->shape == shape{3, 8});
  CHECK(reader.find("layers.4.weight")->type == agd::io::dtype::f32);
  CHECK(reader.metadata() ==
        std::map<std::string, std::string>{
            {"agd.architecture", "Dense<12,16>;Sqrt2Relu;Dense<16,8>;Sqrt2Relu;Dense<8,3>"},
            {"agd.epoch", "2"},
            {"agd.format", "1"},
            {"agd.optimizer", "sgd"},
            {"agd.optimizer.steps", "0"},
            {"agd.step", "17"},
            {"rng", "12345 678"}});
  // Row-major: the bytes of layers.2.weight are W(0,0), W(0,1), ... W(0,15), W(1,0), ...
  const auto begin = reader.find("layers.2.weight")->begin;
  CHECK(parts.data.substr(begin, 8 * 16 * 4) == row_major_f32(net.weight(1)));
  // The byte swap that a big-endian host applies to every value (a no-op here).
  CHECK(agd::io::detail::byteswap<std::uint32_t>(0x01020304u) == 0x04030201u);
  CHECK(agd::io::detail::byteswap<std::uint64_t>(0x0102030405060708u) == 0x0807060504030201u);

  Net restored(4);
  agd::SGD restored_optimizer(restored, {.seed = 2});
  REQUIRE_FALSE(same_weights(net, restored));
  const auto info = agd::io::load_checkpoint(file, restored, restored_optimizer);
  CHECK(same_weights(net, restored));
  CHECK(info.step == 17);
  CHECK(info.epoch == 2);
  CHECK(info.extra == std::map<std::string, std::string>{{"rng", "12345 678"}});
}

TEST_CASE("checkpoint: Adam's moments and step count round-trip and the next step is identical",
          "[checkpoint]") {
  agd_test::scratch_dir dir("agd_checkpoint");
  const fs::path file = dir.path / "adam.safetensors";
  Net net(4);
  agd::Adam optimizer(net, {.lr = 0.01, .seed = 3});
  for (std::uint64_t step = 1; step <= 3; ++step) {
    set_gradients(net, step);
    optimizer.step();
  }
  agd::io::save_checkpoint(file, net, optimizer, {.step = 3});

  Net resumed(4);
  agd::Adam resumed_optimizer(resumed, {.lr = 0.01, .seed = 4});
  agd::io::load_checkpoint(file, resumed, resumed_optimizer);
  CHECK(resumed_optimizer.steps() == 3);
  for (std::size_t k = 0; k < Net::depth; ++k) {
    CHECK(same_matrix(resumed_optimizer.first_moment(k), optimizer.first_moment(k)));
    CHECK(same_matrix(resumed_optimizer.second_moment(k), optimizer.second_moment(k)));
  }
  // Step 4 with the same gradients: the bias corrections use t = 4 in both, so every weight
  // is bit-identical.
  set_gradients(net, 4);
  set_gradients(resumed, 4);
  optimizer.step();
  resumed_optimizer.step();
  CHECK(same_weights(net, resumed));

  const agd::io::safetensors_reader reader(file);
  CHECK(reader.find("optimizer.first_moment.2"));
  CHECK(reader.find("optimizer.second_moment.0"));
  CHECK(reader.metadata().at("agd.optimizer.steps") == "3");

  // A file that fails on its last tensor changes neither the weights, the moments nor the step
  // count, although all of those were read before the failure.
  auto parts = split(read_file(file));
  const float infinity = std::numeric_limits<float>::infinity();
  std::memcpy(parts.data.data() + reader.find("optimizer.second_moment.2")->begin, &infinity, 4);
  write_file(file, join(parts.header, parts.data));
  const Net weights_before = resumed;
  const agd::matrix<float> moment_before = resumed_optimizer.first_moment(0);
  CHECK_THROWS_WITH(agd::io::load_checkpoint(file, resumed, resumed_optimizer),
                    Catch::Contains("tensor 'optimizer.second_moment.2' holds inf at [0, 0]"));
  CHECK(same_weights(resumed, weights_before));
  CHECK(same_matrix(resumed_optimizer.first_moment(0), moment_before));
  CHECK(resumed_optimizer.steps() == 4);
}

TEST_CASE("checkpoint: SGD's momentum buffers round-trip and the next step is identical",
          "[checkpoint]") {
  agd_test::scratch_dir dir("agd_checkpoint");
  const fs::path file = dir.path / "sgd.safetensors";
  Net net(4);
  agd::SGD optimizer(net, {.lr = 0.05, .momentum = 0.9, .seed = 5});
  for (std::uint64_t step = 1; step <= 2; ++step) {
    set_gradients(net, step);
    optimizer.step();
  }
  agd::io::save_checkpoint(file, net, optimizer);

  Net resumed(4);
  agd::SGD resumed_optimizer(resumed, {.lr = 0.05, .momentum = 0.9, .seed = 6});
  agd::io::load_checkpoint(file, resumed, resumed_optimizer);
  CHECK(resumed_optimizer.steps() == 2);
  for (std::size_t k = 0; k < Net::depth; ++k)
    CHECK(same_matrix(resumed_optimizer.velocity(k), optimizer.velocity(k)));
  set_gradients(net, 3);
  set_gradients(resumed, 3);
  optimizer.step();
  resumed_optimizer.step();
  CHECK(same_weights(net, resumed));

  SECTION("a momentum checkpoint does not load into SGD without momentum") {
    Net other(4);
    agd::SGD plain(other, {.lr = 0.05, .seed = 7});
    const Net before = other;
    CHECK_THROWS_WITH(agd::io::load_checkpoint(file, other, plain),
                      Catch::Contains("tensor 'optimizer.velocity.0'") &&
                          Catch::Contains("has no place in this network or optimiser"));
    CHECK(same_weights(other, before));
  }
  SECTION("a checkpoint without momentum does not load into SGD with momentum") {
    agd::SGD plain(net, {.lr = 0.05});
    agd::io::save_checkpoint(file, net, plain);
    CHECK_THROWS_WITH(agd::io::load_checkpoint(file, resumed, resumed_optimizer),
                      Catch::Contains("has no tensor 'optimizer.velocity.0'"));
  }
}

TEST_CASE("checkpoint: a different network is refused, naming the first differing layer",
          "[checkpoint]") {
  saved_checkpoint saved;
  SECTION("a different width") {
    using Wider = agd::Sequential<agd::Dense<12, 16>, agd::Sqrt2Relu, agd::Dense<16, 8>,
                                  agd::Sqrt2Relu, agd::Dense<8, 4>>;
    Wider net(1);
    agd::SGD optimizer(net);
    const Wider before = net;
    CHECK_THROWS_WITH(
        agd::io::load_checkpoint(saved.file, net, optimizer),
        Catch::Contains(saved.file.string()) &&
            Catch::Contains("layer 5: the file has Dense<8,3> but the network has Dense<8,4>"));
    CHECK(same_weights(net, before));
    CHECK_THROWS_WITH(agd::io::load_weights(saved.file, net),
                      Catch::Contains("layer 5: the file has Dense<8,3>"));
  }
  SECTION("fewer layers") {
    using Shorter = agd::Sequential<agd::Dense<12, 16>, agd::Sqrt2Relu, agd::Dense<16, 8>>;
    Shorter net(1);
    agd::SGD optimizer(net);
    CHECK_THROWS_WITH(agd::io::load_checkpoint(saved.file, net, optimizer),
                      Catch::Contains("the file has 5 layers but the network has 3") &&
                          Catch::Contains("the file goes on with layer 4, Sqrt2Relu"));
  }
}

TEST_CASE("checkpoint: a checkpoint of another optimiser is refused", "[checkpoint]") {
  agd_test::check_adam_checkpoint_refused_by<Net, agd::SGD>("sgd");
}

TEST_CASE("checkpoint: corrupt files are refused with the file, tensor and problem named",
          "[checkpoint]") {
  saved_checkpoint saved;
  const std::string good = read_file(saved.file);
  const fs::path bad = saved.dir.path / "bad.safetensors";
  Net net(1);
  agd::SGD optimizer(net, {.seed = 99});
  const Net before = net;
  const auto load_fails_with = [&](const std::string& bytes, const std::string& expected) {
    write_file(bad, bytes);
    INFO("expected: " << expected);
    CHECK_THROWS_AS(agd::io::load_checkpoint(bad, net, optimizer), checkpoint_error);
    CHECK_THROWS_WITH(agd::io::load_checkpoint(bad, net, optimizer),
                      Catch::Contains(bad.string()) && Catch::Contains(expected));
    CHECK(same_weights(net, before));
  };
  // The saved header (then spaces up to a multiple of 8 bytes):
  // {"__metadata__":{"agd.architecture":"...","agd.epoch":"0","agd.format":"1",
  //  "agd.optimizer":"sgd","agd.optimizer.steps":"0","agd.step":"5"},
  //  "layers.0.weight":{"dtype":"F32","shape":[16,12],"data_offsets":[0,768]},
  //  "layers.2.weight":{"dtype":"F32","shape":[8,16],"data_offsets":[768,1280]},
  //  "layers.4.weight":{"dtype":"F32","shape":[3,8],"data_offsets":[1280,1376]}}

  SECTION("truncated files") {
    load_fails_with(good.substr(0, 5), "too short for the 8-byte header length");
    load_fails_with(good.substr(0, 40), "runs past the end of the file");
    load_fails_with(good.substr(0, good.size() - 10),
                    "tensor 'layers.4.weight': \"data_offsets\" [1280, 1376] run past the end "
                    "of the data (1366 bytes after the header)");
  }
  SECTION("a header length that is too big") {
    load_fails_with(length_prefix(std::uint64_t(1) << 62) + good.substr(8),
                    "the header length 4611686018427387904 runs past the end of the file");
    // A header length within the (sparse) file but beyond the 100 MB limit.
    write_file(bad, length_prefix(200'000'000) + good.substr(8));
    fs::resize_file(bad, 200'000'100);
    CHECK_THROWS_WITH(agd::io::load_checkpoint(bad, net, optimizer),
                      Catch::Contains("exceeds the limit of 100000000 bytes"));
  }
  SECTION("a header that is not JSON") {
    load_fails_with(join("{\"layers.0.weight\": {\"dtype\": ", split(good).data),
                    "the header is not valid JSON");
    load_fails_with(join("[1, 2, 3]", ""), "does not start with '{'");
    load_fails_with("this is a text file, not a checkpoint", "runs past the end of the file");
    load_fails_with(edited(good, "{\"__metadata__\"", "{\"layers.0.weight\":{},\"__metadata__\""),
                    "the key \"layers.0.weight\" appears twice in one object");
  }
  SECTION("offsets out of range, overlapping or leaving holes") {
    load_fails_with(edited(good, "[0,768]", "[0,1000000000]"),
                    "tensor 'layers.0.weight': \"data_offsets\" [0, 1000000000] run past the end "
                    "of the data");
    load_fails_with(edited(good, "[1280,1376]", "[0,96]"),
                    "overlap those of tensor 'layers.4.weight'");
    load_fails_with(edited(good, "[1280,1376]", "[1296,1392]") + std::string(16, '\0'),
                    "bytes [1280, 1296) of the data, before this tensor, belong to no tensor");
    load_fails_with(good + std::string(16, '\0'),
                    "the last 16 bytes of the file belong to no tensor");
    load_fails_with(edited(good, "[0,768]", "[0,-768]"),
                    "element 2 of \"data_offsets\" is not a non-negative integer");
  }
  SECTION("a wrong or unknown dtype") {
    load_fails_with(
        edited(good, "\"dtype\":\"F32\",\"shape\":[8,16]", "\"dtype\":\"I32\",\"shape\":[8,16]"),
        "tensor 'layers.2.weight': dtype \"I32\" is not supported");
    load_fails_with(
        edited(good, "\"dtype\":\"F32\",\"shape\":[8,16]", "\"dtype\":\"F64\",\"shape\":[8,16]"),
        "tensor 'layers.2.weight': shape [8, 16] of F64 needs 1024 bytes but "
        "\"data_offsets\" [768, 1280] hold 512");
  }
  SECTION("a wrong shape, metadata or value") {
    load_fails_with(edited(good, "\"shape\":[8,16]", "\"shape\":[16,8]"),
                    "tensor 'layers.2.weight' has shape [16, 8] but layer 3 (Dense<16,8>) needs "
                    "[8, 16]");
    load_fails_with(edited(good, "\"agd.step\":\"5\"", "\"agd.step\":5"),
                    "metadata \"agd.step\" is a JSON number, not a string");
    load_fails_with(edited(good, "\"agd.step\":\"5\"", "\"agd.step\":\"five\""),
                    "metadata \"agd.step\" is \"five\", not a non-negative integer");
    load_fails_with(edited(good, "\"agd.format\":\"1\"", "\"agd.format\":\"2\""),
                    "format \"2\" but this agd reads format \"1\"");
    auto parts = split(good);
    const float nan = std::numeric_limits<float>::quiet_NaN();
    std::memcpy(parts.data.data() + 4 * 5, &nan, 4);  // W(0, 5) of layers.0.weight
    load_fails_with(join(parts.header, parts.data), "tensor 'layers.0.weight' holds nan at [0, 5]");
  }
  SECTION("a missing file") {
    CHECK_THROWS_WITH(
        agd::io::load_checkpoint(saved.dir.path / "none.safetensors", net, optimizer),
        Catch::Contains("none.safetensors") && Catch::Contains("does not exist; check the path"));
  }
}

TEST_CASE("checkpoint: weights written by other code load with load_weights", "[checkpoint]") {
  agd_test::scratch_dir dir("agd_checkpoint");
  const fs::path file = dir.path / "torch.safetensors";
  // What torch's state_dict of nn.Sequential-in-`layers` gives, written by hand: no agd
  // metadata, tensors in another order, an unaligned header.
  Net source(1);
  agd::init::kaiming_uniform(source, 21);
  std::string header = "{", data;
  for (std::size_t k : {2, 0, 1}) {
    const std::string bytes = row_major_f32(source.weight(k));
    header += "\"" + agd::io::weight_tensor_name<Net>(k) + "\": {\"dtype\": \"F32\", \"shape\": [" +
              std::to_string(Net::weight_rows[k]) + ", " + std::to_string(Net::weight_cols[k]) +
              "], \"data_offsets\": [" + std::to_string(data.size()) + ", " +
              std::to_string(data.size() + bytes.size()) + "]}, ";
    data += bytes;
  }
  write_file(file, join(header + "\"__metadata__\": {\"format\": \"pt\"}} ", data));

  Net net(1);
  agd::SGD optimizer(net);
  const auto info = agd::io::load_weights(file, net);
  CHECK(same_weights(net, source));
  CHECK(info.step == 0);
  CHECK(info.extra.at("format") == "pt");
  CHECK_THROWS_WITH(agd::io::load_checkpoint(file, net, optimizer),
                    Catch::Contains("not an agd checkpoint") && Catch::Contains("load_weights"));

  header += "\"layers.0.bias\": {\"dtype\": \"F32\", \"shape\": [16], \"data_offsets\": [" +
            std::to_string(data.size()) + ", " + std::to_string(data.size() + 64) + "]}}";
  write_file(file, join(header, data + std::string(64, '\0')));
  CHECK_THROWS_WITH(agd::io::load_weights(file, net),
                    Catch::Contains("tensor 'layers.0.bias'") && Catch::Contains("bias=False"));
}

TEST_CASE("checkpoint: a failed write keeps the previous checkpoint and leaves no temporary",
          "[checkpoint]") {
  saved_checkpoint saved;
  const std::string previous = read_file(saved.file);
  Net changed(4);
  agd::SGD optimizer(changed, {.seed = 12});
  {
    const scoped_write_hook disk_full([](std::size_t written) {
      if (written > 100) throw std::runtime_error("injected: disk full");
    });
    CHECK_THROWS_WITH(agd::io::save_checkpoint(saved.file, changed, optimizer),
                      "injected: disk full");
  }
  CHECK(read_file(saved.file) == previous);
  CHECK(std::distance(fs::directory_iterator(saved.dir.path), fs::directory_iterator()) == 1);

  CHECK_THROWS_WITH(
      agd::io::save_checkpoint(saved.dir.path / "no" / "such.safetensors", changed, optimizer),
      Catch::StartsWith("agd::io::save_checkpoint: ") &&
          Catch::Contains("the directory '" + (saved.dir.path / "no").string() +
                          "' does not exist"));
  CHECK_THROWS_WITH(
      agd::io::save_checkpoint(saved.file, changed, optimizer, {.extra = {{"agd.seed", "1"}}}),
      Catch::Contains("\"agd.seed\" starts with \"agd.\", which is reserved"));
}

TEST_CASE("checkpoint: a writer killed mid-write leaves the previous checkpoint whole",
          "[checkpoint]") {
  // 2 x 1024 x 1024 floats: 8 MiB, written in 1 MiB chunks, so the kill lands mid-data.
  using Large = agd::Sequential<agd::Dense<1024, 1024>, agd::Dense<1024, 1024>>;
  agd_test::scratch_dir dir("agd_checkpoint");
  const fs::path file = dir.path / "large.safetensors";
  Large net(1);
  agd::SGD optimizer(net, {});
  for (std::size_t k = 0; k < Large::depth; ++k) net.weight(k).setConstant(float(k + 1));
  agd::io::save_checkpoint(file, net, optimizer, {.step = 1});
  const Large old_weights = net;
  const std::string old_bytes = read_file(file);

  for (std::size_t k = 0; k < Large::depth; ++k) net.weight(k).setConstant(-7.0f);
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    // The child only writes and dies: no Catch2, no return into the test runner.
    const scoped_write_hook crash([](std::size_t written) {
      if (written > 4 * 1024 * 1024) std::raise(SIGKILL);
    });
    try {
      agd::io::save_checkpoint(file, net, optimizer, {.step = 2});
    } catch (...) {
      ::_exit(2);
    }
    ::_exit(0);  // reached only if the hook never fired
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);

  // The target is the old checkpoint, byte for byte (compared as one bool: Catch2 would print
  // both 8 MiB strings on failure), and loads as the old weights.
  CHECK((read_file(file) == old_bytes));
  Large loaded(1);
  agd::SGD loaded_optimizer(loaded, {});
  CHECK(agd::io::load_checkpoint(file, loaded, loaded_optimizer).step == 1);
  CHECK(same_weights(loaded, old_weights));
  // The partial file is the child's temporary ("<file>.tmp.<pid>.<n>"), never renamed over the
  // target.
  const std::string prefix = file.filename().string() + ".tmp." + std::to_string(child) + ".";
  std::vector<fs::path> temporaries;
  for (const auto& entry : fs::directory_iterator(dir.path))
    if (entry.path().filename().string().starts_with(prefix)) temporaries.push_back(entry.path());
  REQUIRE(temporaries.size() == 1);
  CHECK(fs::file_size(temporaries.front()) < old_bytes.size());

  // The next save of the same file removes the dead writer's temporary.
  agd::io::save_checkpoint(file, loaded, loaded_optimizer, {.step = 3});
  CHECK_FALSE(fs::exists(temporaries.front()));
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.path))
    left.push_back(entry.path().filename().string());
  CHECK(left == std::vector<std::string>{file.filename().string()});
}

TEST_CASE("checkpoint: a FIFO or directory is refused as the target, a symbolic link followed",
          "[checkpoint]") {
  agd_test::scratch_dir dir("agd_checkpoint");
  Net net(4);
  agd::SGD<Net> optimizer(net, {.seed = 3});
  const fs::path fifo = dir.path / "fifo.safetensors";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK_THROWS_AS(agd::io::save_checkpoint(fifo, net, optimizer), checkpoint_error);
  CHECK_THROWS_WITH(agd::io::save_checkpoint(fifo, net, optimizer),
                    Catch::Contains("is a FIFO (named pipe), not a regular file"));
  CHECK(fs::is_fifo(fs::symlink_status(fifo)));
  CHECK_THROWS_WITH(agd::io::save_checkpoint(dir.path, net, optimizer),
                    Catch::Contains("is a directory, not a regular file"));

  const fs::path real = dir.path / "runs" / "real.safetensors";
  fs::create_directory(dir.path / "runs");
  fs::create_symlink("runs/real.safetensors", dir.path / "latest.safetensors");
  agd::io::save_checkpoint(dir.path / "latest.safetensors", net, optimizer, {.step = 4});
  CHECK(fs::is_symlink(dir.path / "latest.safetensors"));
  CHECK(fs::is_regular_file(fs::symlink_status(real)));
  Net loaded(4);
  agd::SGD<Net> loaded_optimizer(loaded, {});
  CHECK(agd::io::load_checkpoint(dir.path / "latest.safetensors", loaded, loaded_optimizer).step ==
        4);
  CHECK(same_weights(loaded, net));
}
