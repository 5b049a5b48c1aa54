// The C++ half of the PyTorch interoperability test (tests/interop/pytorch_interop.py):
//
//   agd_interop save CHECKPOINT INPUTS OUTPUTS
//       builds the network below with AGD's initialisation (seed 1), saves it with
//       save_checkpoint, and writes a fixed batch of inputs and the network's outputs for it.
//   agd_interop check WEIGHTS INPUTS OUTPUTS
//       loads weights saved by PyTorch (load_weights), runs INPUTS through the network and
//       compares with OUTPUTS (PyTorch's): exit 0 if the relative error is <= 1e-5, else 1.
//
// INPUTS and OUTPUTS are safetensors files holding one F32 tensor each, "inputs" [n, 20] and
// "outputs" [n, 5]: one sample per row, as PyTorch batches are (agd's are columns, so they are
// transposed here). The relative error is max |agd - torch| / max |torch| over the batch: a
// normwise measure, so outputs near zero do not inflate it. Errors print a message, exit 2.
#include <agd/agd.hpp>
#include <agd/io/checkpoint.hpp>

#include <cstdio>
#include <exception>
#include <random>
#include <string>

namespace {

using Net = agd::Sequential<agd::Dense<20, 32>, agd::Sqrt2Relu, agd::Dense<32, 16>, agd::Sqrt2Relu,
                            agd::Dense<16, 5>>;
constexpr double tolerance = 1e-5;
constexpr Eigen::Index fixed_batch = 8;

void write_single_tensor(const std::string& file, const std::string& name,
                         const agd::matrix<float>& m) {
  agd::io::safetensors_writer writer;
  writer.add(name, m);
  writer.write(file);
}

/// Reads the one tensor `name` of `file` as [n, width].
agd::matrix<float> read_batch(const std::string& file, const std::string& name,
                              Eigen::Index width) {
  const agd::io::safetensors_reader reader(file);
  agd::matrix<float> batch = reader.read_matrix<float>(name);
  if (batch.cols() != width || batch.rows() == 0)
    throw std::runtime_error("'" + file + "': tensor '" + name + "' has shape [" +
                             std::to_string(batch.rows()) + ", " + std::to_string(batch.cols()) +
                             "] but [n, " + std::to_string(width) + "] with n > 0 was expected");
  return batch;
}

int save(const std::string& checkpoint, const std::string& inputs_file,
         const std::string& outputs_file) {
  Net net(fixed_batch);
  agd::AGD optimizer(net, {.seed = 1});
  agd::io::save_checkpoint(checkpoint, net, optimizer);
  std::mt19937_64 rng(2024);
  std::normal_distribution<float> gaussian(0.0f, 1.0f);
  agd::matrix<float> inputs(Net::input_size, fixed_batch);  // one sample per column
  for (Eigen::Index i = 0; i < inputs.size(); ++i) inputs.data()[i] = gaussian(rng);
  const agd::matrix<float> outputs = net.forward(inputs);
  write_single_tensor(inputs_file, "inputs", inputs.transpose());
  write_single_tensor(outputs_file, "outputs", outputs.transpose());
  std::printf("agd_interop: saved %s, %ld samples in %s and their outputs in %s\n",
              checkpoint.c_str(), long(fixed_batch), inputs_file.c_str(), outputs_file.c_str());
  return 0;
}

int check(const std::string& weights, const std::string& inputs_file,
          const std::string& outputs_file) {
  const agd::matrix<float> inputs = read_batch(inputs_file, "inputs", Net::input_size);
  const agd::matrix<float> expected = read_batch(outputs_file, "outputs", Net::output_size);
  if (expected.rows() != inputs.rows())
    throw std::runtime_error("'" + outputs_file + "' has " + std::to_string(expected.rows()) +
                             " samples but '" + inputs_file + "' has " +
                             std::to_string(inputs.rows()));
  Net net(static_cast<std::size_t>(inputs.rows()));
  agd::io::load_weights(weights, net);
  const agd::matrix<float> outputs = net.forward(inputs.transpose()).transpose();
  const double largest = double(expected.cwiseAbs().maxCoeff());
  const double error = double((outputs - expected).cwiseAbs().maxCoeff()) / largest;
  const bool close = error <= tolerance;
  std::printf("agd_interop: max relative error %.3g over %ld samples (tolerance %g): %s\n", error,
              long(inputs.rows()), tolerance, close ? "ok" : "MISMATCH");
  return close ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (argc != 5 || (mode != "save" && mode != "check")) {
    std::fprintf(stderr,
                 "usage: agd_interop save CHECKPOINT INPUTS OUTPUTS\n"
                 "       agd_interop check WEIGHTS INPUTS OUTPUTS\n"
                 "(see the comment at the top of tests/interop/agd_interop.cpp)\n");
    return 2;
  }
  try {
    return mode == "save" ? save(argv[2], argv[3], argv[4]) : check(argv[2], argv[3], argv[4]);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "agd_interop %s: %s\n", mode.c_str(), error.what());
    return 2;
  }
}
