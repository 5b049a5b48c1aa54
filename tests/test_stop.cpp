// Progress output that stays short when it goes to a file.
#include <agd/agd.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace

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
