// The CUDA backend in a training run: train::fit, evaluation and checkpoints unchanged, and
// the non-finite policy (see cuda_parity.hpp).
#include "cuda_parity.hpp"

#include <catch2/catch.hpp>

using namespace agd_test;
#include "scratch_dir.hpp"

TEST_CASE("cuda host: train::fit and checkpoints work unchanged on a device network", "[cuda]") {
  using Net = agd::Sequential<agd::Dense<8, 16>, agd::Sqrt2Relu, agd::Dense<16, 4>>;
  using Gpu = Net::on<device>;
  // A learnable rule: the label is the sign pattern of the first two features.
  agd::data::dataset train, test;
  for (auto* set : {&train, &test}) {
    const batch b = random_batch(8, set == &train ? 512 : 128, 4, set == &train ? 11 : 12);
    set->inputs = b.inputs.cast<float>();
    set->classes = 4;
    for (Eigen::Index j = 0; j < b.inputs.cols(); ++j)
      set->labels.push_back(std::int32_t((b.inputs(0, j) > 0) + 2 * (b.inputs(1, j) > 0)));
  }
  agd::train::fit_options options;
  options.epochs = 3;
  options.seed = 4;
  options.log = nullptr;
  Net cpu(32, 3);
  Gpu gpu(32, 3);
  agd::AGD cpu_optimizer(cpu);
  agd::AGD gpu_optimizer(gpu);
  const auto cpu_history =
      agd::train::fit(cpu, cpu_optimizer, agd::MSELoss{}, train, test, options);
  options.capture_graph = true;  // the same steps, replayed from a graph on a GPU
  const auto gpu_history =
      agd::train::fit(gpu, gpu_optimizer, agd::MSELoss{}, train, test, options);
  REQUIRE(gpu_history.size() == 3);
  for (std::size_t e = 0; e < 3; ++e) {
    INFO("epoch " << e + 1);
    CHECK(gpu_history[e].train_loss == Approx(cpu_history[e].train_loss).epsilon(1e-4));
    CHECK(gpu_history[e].mean_eta == Approx(cpu_history[e].mean_eta).epsilon(1e-4));
    CHECK(gpu_history[e].test_accuracy == Approx(cpu_history[e].test_accuracy).margin(0.01));
  }
  CHECK(gpu_history.back().test_accuracy > 0.8);  // it learnt the rule
  CHECK(gpu_history.back().train_loss < gpu_history.front().train_loss);

  // A checkpoint written from the device network loads into a CPU network, and back.
  const agd_test::scratch_dir dir("cuda_checkpoint");
  const auto file = dir.path / "gpu.safetensors";
  agd::io::save_checkpoint(file, gpu, gpu_optimizer, {.step = 48, .epoch = 3});
  Net restored(32);
  agd::AGD restored_optimizer(restored);
  CHECK(agd::io::load_checkpoint(file, restored, restored_optimizer).step == 48);
  for (std::size_t k = 0; k < Net::depth; ++k)
    CHECK(relative(as_double(restored.weight_to_host(k)), as_double(gpu.weight_to_host(k))) == 0);
  Gpu reloaded(32);
  agd::io::load_weights(file, reloaded);
  const auto evaluation = agd::train::evaluate(reloaded, agd::MSELoss{}, test);
  CHECK(evaluation.accuracy == Approx(gpu_history.back().test_accuracy).margin(1e-9));
}

TEST_CASE("cuda host: a NaN gradient changes no weight and is reported when a result is read",
          "[cuda]") {
  using Net = agd::Sequential<agd::Dense<4, 6>, agd::Relu, agd::Dense<6, 3>>::on<device>;
  Net net(4);
  agd::AGD optimizer(net);
  const batch b = random_batch(4, 4, 3, 21);
  net.load_batch(b.inputs, b.labels);
  net.forward_batch(4);
  agd::batch_loss<agd::MSELoss>(net, net.label_buffer());
  net.backward();
  // Poison one gradient entry of the second layer.
  const float nan = std::numeric_limits<float>::quiet_NaN();
  agd::cuda::device::upload(net.context(), &nan, 1, net.gradient_view(1).data + 3);
  const Eigen::MatrixXf before0 = net.weight_to_host(0), before1 = net.weight_to_host(1);
  auto eta = optimizer.step();  // enqueued: nothing is read yet
  CHECK_THROWS_WITH(eta.read(), Catch::Contains("layer 3 (Dense<6,3>)") &&
                                    Catch::Contains("contains NaN or Inf"));
  CHECK((net.weight_to_host(0) - before0).cwiseAbs().maxCoeff() == 0);
  CHECK((net.weight_to_host(1) - before1).cwiseAbs().maxCoeff() == 0);
  // The status was cleared by the read: the next good step goes through.
  net.backward();
  CHECK(std::isfinite(optimizer.step().read()));
  CHECK((net.weight_to_host(0) - before0).cwiseAbs().maxCoeff() > 0);
}

TEST_CASE("cuda host: a NaN loss stops the step in train::fit with epoch and step", "[cuda]") {
  using Net = agd::Sequential<agd::Dense<2, 3>>::on<device>;
  agd::data::dataset data;
  data.inputs = Eigen::MatrixXf::Constant(2, 8, 3e38f);  // finite, but the output overflows
  data.labels = {0, 1, 2, 0, 1, 2, 0, 1};
  data.classes = 3;
  Net net(4);
  agd::AGD optimizer(net);
  agd::train::fit_options options;
  options.log = nullptr;
  CHECK_THROWS_WITH(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options),
                    Catch::Contains("loss is") && Catch::Contains("no weight was changed"));
}

TEST_CASE("cuda host: a step graph refuses a captured step that would grow the scratch",
          "[cuda][graph]") {
  agd::cuda::execution_context context;
  agd::cuda::step_graph graph(context);
  std::size_t bytes = 64;
  void* scratch = nullptr;
  int replays = 0;
  const auto step = [&] { scratch = context.scratch(bytes); };
  graph.run(step);  // the warm-up sizes the scratch
  void* const sized = scratch;
  bytes = 128;
  CHECK_THROWS_WITH(graph.run(step), Catch::Contains("captured in a CUDA graph needs 128 bytes") &&
                                         Catch::Contains("more than the 64"));
  CHECK_FALSE(context.capturing);
  // What the warm-up sized is captured and replayed, and each replay is reported.
  bytes = 64;
  graph.run(step, [&] { ++replays; });
  graph.run(step, [&] { ++replays; });
  graph.run(step, [&] { ++replays; });
  CHECK(replays == 2);
  CHECK(scratch == sized);
  // Outside a capture it grows as before.
  CHECK(context.scratch(128) != nullptr);
}
