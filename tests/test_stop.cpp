// Stopping a run without losing work (fit_options::stop, stop_on_signals), and progress output
// that stays short when it goes to a file. Adam stands in for an optimiser with state: its
// moments and step count must come back from the checkpoint for a resumed run to match.
#include <agd/agd.hpp>
#include <agd/train/stop.hpp>

#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "scratch_dir.hpp"

namespace {

using Net = agd::FCN<20, 32, 10, 3>;

/// 300 samples: 9 batches of 32 per epoch.
agd::data::dataset samples() {
  agd::data::dataset data;
  data.inputs = Eigen::MatrixXf::Random(20, 300);
  data.labels.resize(300);
  for (std::size_t j = 0; j < 300; ++j) data.labels[j] = std::int32_t((j * 7) % 10);
  return data;
}

agd::train::fit_options three_epochs() {
  agd::train::fit_options options;
  options.epochs = 3;
  options.seed = 5;
  options.log = nullptr;
  return options;
}

std::size_t count_lines(const std::string& text) {
  std::size_t lines = 0;
  for (char c : text) lines += c == '\n';
  return lines;
}

/// Saves a checkpoint at every position fit hands on_checkpoint, as the examples do.
template <class Opt>
void save_at_checkpoints(agd::train::fit_options& options, const std::filesystem::path& file,
                         const Net& net, const Opt& optimizer,
                         std::vector<agd::train::training_position>& positions) {
  options.on_checkpoint = [&, file](const agd::train::training_position& p) {
    positions.push_back(p);
    agd::io::save_checkpoint(file, net, optimizer,
                             {.step = p.global_step, .epoch = p.epoch, .extra = p.to_metadata()});
  };
}

/// Resumes the run saved in `file` in a fresh network and optimiser and trains it to the end.
std::vector<float> resume_to_the_end(const std::filesystem::path& file,
                                     const agd::data::dataset& data,
                                     std::vector<agd::train::epoch_metrics>& history) {
  Net net(32);
  agd::Adam<Net> optimizer(net, {.lr = 1e-2});
  const auto info = agd::io::load_checkpoint(file, net, optimizer);
  auto options = three_epochs();
  options.resume = agd::train::training_position::from_metadata(info.extra);
  history = agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options);
  return net.weights_to_host();
}

}  // namespace

TEST_CASE("stop: a stop asked for by on_step after step N stops there and resumes bit for bit",
          "[stop]") {
  const auto data = samples();
  agd_test::scratch_dir dir("agd_stop");

  // The uninterrupted run, and its weights after global step 12 (step 3 of epoch 2).
  Net full(32);
  agd::Adam<Net> full_optimizer(full, {.lr = 1e-2, .seed = 8});
  auto options = three_epochs();
  std::vector<float> full_at_12;
  options.on_step = [&](std::size_t step, double, double) {
    if (step == 12) full_at_12 = full.weights_to_host();
  };
  const auto full_history =
      agd::train::fit(full, full_optimizer, agd::MSELoss{}, data, data, options);
  REQUIRE(full_history.size() == 3);

  // The same run, asked to stop by a callback at step 12; no periodic checkpoints, so the one
  // written at step 12 is the stop's own.
  Net net(32);
  agd::Adam<Net> optimizer(net, {.lr = 1e-2, .seed = 8});
  options = three_epochs();
  agd::train::stop_request stop;
  options.stop = &stop;
  std::vector<std::size_t> steps;
  options.on_step = [&](std::size_t step, double, double) {
    steps.push_back(step);
    if (step == 12) stop.request();
  };
  std::vector<agd::train::training_position> positions;
  save_at_checkpoints(options, dir.path / "run.safetensors", net, optimizer, positions);
  std::ostringstream log;
  options.log = &log;
  options.progress = false;
  const auto history = agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options);

  CHECK(steps.back() == 12);
  CHECK(steps.size() == 12);
  REQUIRE(history.size() == 1);    // epoch 1; epoch 2 was cut short and has no metrics
  REQUIRE(positions.size() == 2);  // after epoch 1, and at the stop
  CHECK(positions[1].global_step == 12);
  CHECK(positions[1].epoch == 2);
  CHECK(positions[1].step_in_epoch == 3);
  CHECK(net.weights_to_host() == full_at_12);
  INFO(log.str());
  CHECK_THAT(log.str(), Catch::Contains("agd::train::fit: stopped as asked after step 3 of 9 of "
                                        "epoch 2 (global step 12); on_checkpoint was given the "
                                        "position to resume from"));

  // Resumed in a fresh network from the file: the uninterrupted run's weights and metrics.
  std::vector<agd::train::epoch_metrics> resumed;
  CHECK(resume_to_the_end(dir.path / "run.safetensors", data, resumed) == full.weights_to_host());
  REQUIRE(resumed.size() == 2);
  CHECK(resumed[0].train_loss == full_history[1].train_loss);
  CHECK(resumed[0].train_accuracy == full_history[1].train_accuracy);
  CHECK(resumed[1].test_loss == full_history[2].test_loss);
}

TEST_CASE("stop: at an epoch's end, or before the first step, fit stops without another step",
          "[stop]") {
  const auto data = samples();
  Net net(32);
  agd::Adam<Net> optimizer(net, {.lr = 1e-2, .seed = 8});
  auto options = three_epochs();
  agd::train::stop_request stop;
  options.stop = &stop;
  std::size_t steps = 0, checkpoints = 0;
  options.on_step = [&](std::size_t, double, double) { ++steps; };
  options.on_checkpoint = [&](const agd::train::training_position&) { ++checkpoints; };
  // Asked for in on_epoch_end (e.g. the accuracy is good enough): epoch 1 is complete, with its
  // own checkpoint, and no step of epoch 2 is taken.
  options.on_epoch_end = [&](const agd::train::epoch_metrics& m) {
    if (m.epoch == 1) stop.request();
  };
  std::ostringstream log;
  options.log = &log;
  CHECK(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options).size() == 1);
  CHECK(steps == 9);
  CHECK(checkpoints == 1);
  CHECK_THAT(log.str(), Catch::Contains("stopped as asked after epoch 1 (global step 9)"));

  // Still asked for when fit starts: nothing runs, nothing is saved.
  const std::vector<float> before = net.weights_to_host();
  steps = checkpoints = 0;
  CHECK(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options).empty());
  CHECK(steps == 0);
  CHECK(checkpoints == 0);
  CHECK(net.weights_to_host() == before);
  CHECK(stop.requested());
  stop.clear();
  CHECK(!stop.requested());
  CHECK(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options).size() == 1);
}

TEST_CASE("stop: SIGINT or SIGTERM finishes the step, saves and resumes bit for bit", "[stop]") {
  const auto data = samples();
  agd_test::scratch_dir dir("agd_stop_signal");
  Net full(32);
  agd::Adam<Net> full_optimizer(full, {.lr = 1e-2, .seed = 8});
  agd::train::fit(full, full_optimizer, agd::MSELoss{}, data, data, three_epochs());

  for (const int signal : {SIGINT, SIGTERM}) {
    INFO("signal " << signal);
    struct sigaction before {};
    sigaction(signal, nullptr, &before);
    Net net(32);
    agd::Adam<Net> optimizer(net, {.lr = 1e-2, .seed = 8});
    auto options = three_epochs();
    agd::train::stop_request stop;
    options.stop = &stop;
    std::size_t last_step = 0;
    options.on_step = [&](std::size_t step, double, double) {
      last_step = step;
      if (step == 14) std::raise(signal);  // as if Ctrl-C (or kill) came during step 14
    };
    std::vector<agd::train::training_position> positions;
    save_at_checkpoints(options, dir.path / "signal.safetensors", net, optimizer, positions);
    {
      agd::train::stop_on_signals on_signals(stop);
      CHECK(agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options).size() == 1);
      CHECK(on_signals.signal_received() == signal);
    }
    CHECK(last_step == 14);
    REQUIRE(!positions.empty());
    CHECK(positions.back().global_step == 14);
    // The handler it replaced is back.
    struct sigaction after {};
    sigaction(signal, nullptr, &after);
    CHECK(after.sa_handler == before.sa_handler);
    std::vector<agd::train::epoch_metrics> resumed;
    CHECK(resume_to_the_end(dir.path / "signal.safetensors", data, resumed) ==
          full.weights_to_host());
  }
}

TEST_CASE("stop: a second SIGINT ends the process at once", "[stop]") {
  agd::train::stop_request stop;
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    agd::train::stop_on_signals on_signals(stop);
    std::raise(SIGINT);  // the first asks for a stop ...
    if (!stop.requested()) _exit(3);
    std::raise(SIGINT);  // ... the second ends the process, by the signal
    _exit(4);
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGINT);
  if (WIFEXITED(status)) FAIL("the child exited with " << WEXITSTATUS(status));
}

TEST_CASE("stop: one stop_on_signals at a time", "[stop]") {
  agd::train::stop_request a, b;
  agd::train::stop_on_signals first(a);
  CHECK_THROWS_WITH(agd::train::stop_on_signals(b),
                    Catch::Contains("another agd::train::stop_on_signals is active"));
}

TEST_CASE("progress: not on a terminal, one line per short epoch or one per tenth of a long one",
          "[progress]") {
  const auto lines_for = [](std::size_t total) {
    std::ostringstream out;
    agd::train::progress_bar bar(out, /*terminal=*/false, "epoch 1", total);
    for (std::size_t step = 1; step <= total; ++step) bar.update(step, 0.5, 0.1);
    bar.finish();
    return count_lines(out.str());
  };
  CHECK(lines_for(1) == 1);
  CHECK(lines_for(9) == 1);
  CHECK(lines_for(19) == 1);
  CHECK(lines_for(99) == 1);
  CHECK(lines_for(100) == 10);
  CHECK(lines_for(105) == 10);
  CHECK(lines_for(469) == 10);
  CHECK(lines_for(100000) == 10);

  // fit to a stream that is not a terminal: 30 short epochs give 30 lines, one summary each
  // (not a progress line per step besides), and a long epoch its ten progress lines and summary.
  const auto data = samples();
  Net net(32);
  agd::Adam<Net> optimizer(net, {.lr = 1e-2, .seed = 8});
  auto options = three_epochs();
  options.epochs = 30;
  std::ostringstream log;
  options.log = &log;
  agd::train::fit(net, optimizer, agd::MSELoss{}, data, data, options);
  CHECK(count_lines(log.str()) == 30);

  agd::data::dataset many;
  many.inputs = Eigen::MatrixXf::Random(20, 3300);
  for (std::size_t j = 0; j < 3300; ++j) many.labels.push_back(std::int32_t(j % 10));
  std::ostringstream long_log;
  options.epochs = 1;
  options.log = &long_log;
  agd::train::fit(net, optimizer, agd::MSELoss{}, many, data, options);  // 103 steps
  const std::string text = long_log.str();
  INFO(text);
  CHECK(count_lines(text) == 11);
  CHECK(std::count(text.begin(), text.end(), '[') == 10);  // the progress lines
}
