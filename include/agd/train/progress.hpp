// Progress of an epoch. On a terminal: one line redrawn in place (at most ~10 times a second)
// with steps, loss, eta and steps/s. Not on a terminal (a log file, CI): a plain line every tenth
// of the epoch, so logs stay readable.
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

  /// Whether update(step, ...) would draw: every 100 ms on a terminal, every tenth of the
  /// epoch otherwise, and at the last step. Asked first, so that the figures (which a GPU step
  /// keeps on the device) are read only when they are shown.
  bool due(std::size_t step) const {
    if (step == total_) return true;
    if (terminal_) return clock::now() - last_draw_ >= std::chrono::milliseconds(100);
    const std::size_t tenth = total_ >= 10 ? total_ / 10 : 1;
    return step % tenth == 0;
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
