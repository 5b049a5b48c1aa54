// Progress of an epoch. On a terminal: one line redrawn in place (at most ~10 times a second)
// with steps, loss, eta and steps/s. Not on a terminal (a log file, CI), where every line stays:
// one line at the end of a short epoch, one per tenth of a long one (long_epoch_steps steps or
// more), so that a log of many small epochs is not hundreds of lines.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ostream>
#include <string>

namespace agd::train {

inline bool stream_is_terminal(std::FILE* stream) {
  return ::isatty(::fileno(stream)) != 0;
}

class progress_bar {
 public:
  using clock = std::chrono::steady_clock;

  progress_bar(std::ostream& out, bool terminal, std::string label, std::size_t total_steps)
      : out_(out),
        terminal_(terminal),
        label_(std::move(label)),
        total_(total_steps),
        start_(clock::now()),
        last_draw_(start_) {}

  /// Not on a terminal, an epoch of at least this many steps gets a line per tenth of it; a
  /// shorter one a single line, at its end.
  static constexpr std::size_t long_epoch_steps = 100;

  /// Whether an epoch of `total_steps` is long enough for a line per tenth when not on a
  /// terminal (agd::train::fit shows no progress for a shorter one there: its epoch summary is
  /// that epoch's line).
  static bool is_long(std::size_t total_steps) { return total_steps >= long_epoch_steps; }

  /// Whether update(step, ...) would draw: on a terminal every 100 ms and at the last step;
  /// otherwise at the step that completes each tenth of a long epoch, or at the last step of a
  /// short one. Asked first, so that the figures (which a GPU step keeps on the device) are read
  /// only when they are shown.
  bool due(std::size_t step) const {
    if (step == 0 || step > total_) return false;
    if (step == total_) return true;
    if (terminal_) return clock::now() - last_draw_ >= std::chrono::milliseconds(100);
    // The step whose share of the epoch crosses the next multiple of 10%.
    return is_long(total_) && step * 10 / total_ != (step - 1) * 10 / total_;
  }

  void update(std::size_t step, double loss, double eta) {
    if (!due(step)) return;
    const auto now = clock::now();
    if (terminal_)
      out_ << '\r' << line(step, loss, eta, now) << std::flush;
    else
      out_ << line(step, loss, eta, now) << '\n' << std::flush;
    last_draw_ = now;
  }

  /// Ends the in-place line on a terminal.
  void finish() {
    if (terminal_) out_ << '\n' << std::flush;
  }

 private:
  std::string line(std::size_t step, double loss, double eta, clock::time_point now) const {
    const double seconds = std::chrono::duration<double>(now - start_).count();
    const double rate = seconds > 0 ? double(step) / seconds : 0.0;
    constexpr int width = 30;
    const int filled = total_ ? int(double(width) * double(step) / double(total_)) : width;
    char text[256];
    std::snprintf(text, sizeof text, "%s [%s%s] %zu/%zu  loss %.4f  eta %.4f  %.0f steps/s",
                  label_.c_str(), std::string(std::size_t(filled), '#').c_str(),
                  std::string(std::size_t(width - filled), '.').c_str(), step, total_, loss, eta,
                  rate);
    return text;
  }

  std::ostream& out_;
  bool terminal_;
  std::string label_;
  std::size_t total_;
  clock::time_point start_, last_draw_;
};

}  // namespace agd::train
