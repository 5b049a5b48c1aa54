// Stopping a training run without losing work. agd::train::fit looks at a stop_request
// (fit_options::stop) after every step: once it is set, fit finishes that step, hands
// on_checkpoint the position after it (so the run resumes from exactly there, bit for bit), says
// where it stopped and returns the epochs it completed. A callback, another thread or a signal
// handler can set it. stop_on_signals makes Ctrl-C (SIGINT) and SIGTERM set it: without it, the
// signal kills the process and everything since the last periodic checkpoint is lost.
#pragma once

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace agd::train {

/// A request to stop training after the current step (fit_options::stop). request() is a single
/// lock-free atomic store: safe from a callback, another thread and a signal handler.
class stop_request {
 public:
  void request() noexcept { requested_.store(true, std::memory_order_relaxed); }
  bool requested() const noexcept { return requested_.load(std::memory_order_relaxed); }
  /// Forgets the request (to train again with the same object).
  void clear() noexcept { requested_.store(false, std::memory_order_relaxed); }

 private:
  // A signal handler may only touch lock-free atomics.
  static_assert(std::atomic<bool>::is_always_lock_free);
  std::atomic<bool> requested_{false};
};

namespace detail {
/// What the process-wide handlers act on: the one live stop_on_signals's request, and the
/// signal that came first (0: none yet).
inline std::atomic<stop_request*> signal_stop_target{nullptr};
inline std::atomic<int> signal_received{0};
static_assert(std::atomic<stop_request*>::is_always_lock_free &&
              std::atomic<int>::is_always_lock_free);

inline void stop_signal_handler(int signal) {
  const int saved_errno = errno;  // write() may change it under the interrupted code
  int none = 0;
  if (signal_received.compare_exchange_strong(none, signal)) {
    if (stop_request* stop = signal_stop_target.load()) stop->request();
    static constexpr char message[] =
        "\nagd: stopping after the current step (and saving the checkpoint, if the run has "
        "one); interrupt again to quit at once\n";
    [[maybe_unused]] const auto written = ::write(STDERR_FILENO, message, sizeof message - 1);
  } else {
    // The second signal: its default action (ending the process), now. sigaction and raise are
    // async-signal-safe; the signal is blocked in its handler, so it lands when this returns.
    struct sigaction plain {};
    plain.sa_handler = SIG_DFL;
    sigemptyset(&plain.sa_mask);
    ::sigaction(signal, &plain, nullptr);
    ::raise(signal);
  }
  errno = saved_errno;
}
}  // namespace detail

/// While it lives, SIGINT (Ctrl-C) and SIGTERM ask `stop` for a stop instead of ending the
/// process, and say so on stderr; a second one of either ends the process at once, as the signal
/// does by default (exit status 128 + the signal in a shell). The handlers it replaced come back
/// when it is destroyed. Signal handlers belong to the whole process, so only one may live at a
/// time (std::logic_error otherwise).
class stop_on_signals {
 public:
  explicit stop_on_signals(stop_request& stop) {
    stop_request* none = nullptr;
    if (!detail::signal_stop_target.compare_exchange_strong(none, &stop))
      throw std::logic_error(
          "agd::train::stop_on_signals: another agd::train::stop_on_signals is active; the "
          "signal handlers belong to the whole process, so keep one for the program's run");
    detail::signal_received.store(0);
    struct sigaction handler {};
    handler.sa_handler = detail::stop_signal_handler;
    sigemptyset(&handler.sa_mask);
    // SA_RESTART: a read or write the signal interrupts goes on rather than failing with EINTR
    // (the step and the checkpoint that follow it must not fail because of the request).
    handler.sa_flags = SA_RESTART;
    if (::sigaction(SIGINT, &handler, &previous_int_) != 0 ||
        ::sigaction(SIGTERM, &handler, &previous_term_) != 0) {
      const std::string reason = std::strerror(errno);
      ::sigaction(SIGINT, &previous_int_, nullptr);
      detail::signal_stop_target.store(nullptr);
      throw std::runtime_error("agd::train::stop_on_signals: sigaction failed: " + reason);
    }
  }
  ~stop_on_signals() {
    ::sigaction(SIGINT, &previous_int_, nullptr);
    ::sigaction(SIGTERM, &previous_term_, nullptr);
    detail::signal_stop_target.store(nullptr);
  }
  stop_on_signals(const stop_on_signals&) = delete;
  stop_on_signals& operator=(const stop_on_signals&) = delete;

  /// The first signal received while this object lived (SIGINT or SIGTERM), or 0.
  int signal_received() const noexcept { return detail::signal_received.load(); }

 private:
  struct sigaction previous_int_ {};
  struct sigaction previous_term_ {};
};

}  // namespace agd::train
