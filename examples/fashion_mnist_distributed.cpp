// fashion_mnist's network and training, data-parallel over MPI ranks (docs/distributed.md):
// every rank loads the data, takes its share of every global batch, and the ranks sum their
// gradients; rank 0 prints, writes the CSV file and the checkpoints. A run of N ranks with
// --batch B trains as one process with --batch B does (to float rounding).
//
//   mpirun -np 2 build/examples/fashion_mnist_distributed --epochs 3
//   mpirun -np 4 --hostfile hosts build/examples/fashion_mnist_distributed --batch 512
//   srun -N 2 --ntasks-per-node 1 build/examples/fashion_mnist_distributed --checkpoint run.st
//
// A checkpoint holds the weights and the optimiser state, the same on every rank: it resumes
// with any number of ranks (or in fashion_mnist, one process), provided --batch, the global
// batch, stays the same. SIGINT or SIGTERM on any rank stops every rank after the same step,
// rank 0 saving the checkpoint there (exit status 128 + the signal). Open MPI's mpirun passes a
// Ctrl-C on as SIGTERM and follows it with SIGKILL 1 s later (odls_base_sigkill_timeout), which
// a slow step and checkpoint may not fit in (docs/distributed.md).
//
// Every rank parses its own command line (an MPMD launch, `mpirun -np 1 A : -np 1 B`, gives each
// its own), and the ranks compare the outcome before anything else: a flag error or --help on
// one rank stops the whole job with that rank's message rather than leaving the others waiting.
#include <agd/distributed/mpi.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "example_flags.hpp"

namespace {

// fashion_mnist's network (examples/fashion_mnist.cpp).
using Net =
    agd::Sequential<agd::Dense<784, 512>, agd::Sqrt2Relu, agd::Dense<512, 512>, agd::Sqrt2Relu,
                    agd::Dense<512, 512>, agd::Sqrt2Relu, agd::Dense<512, 10>>;

struct settings {
  examples::run_settings run = examples::run_settings::with_epochs(3);
  std::string optimizer = "agd";
  std::optional<double> lr;
  examples::data_settings data;
  std::string checkpoint;
  std::size_t checkpoint_every = 0;
  std::string resume;
  bool no_overlap = false;
};

/// Trains on every rank; returns the final test accuracy, or none if `stop` ended the run early.
template <class Opt>
std::optional<double> train(Net& net, Opt& optimizer, const examples::prepared_data& data,
                            const settings& s, agd::distributed::mpi_communicator& ranks,
                            agd::train::stop_request& stop) {
  agd::train::fit_options options = s.run.fit_options();
  options.stop = &stop;
  options.distributed.comm = &ranks;
  options.distributed.overlap = !s.no_overlap;
  if (ranks.rank() != 0) options.log = nullptr;
  if (!s.resume.empty()) {
    // Every rank reads the file (on several machines: a shared file system, or a copy on each).
    const auto info = agd::io::load_checkpoint(s.resume, net, optimizer);
    // Other data standardises otherwise than the weights were trained on: refuse it.
    agd::data::check_resumed_preprocessing(info.preprocessing, data.inputs, s.resume);
    options.resume = agd::train::training_position::from_metadata(info.extra);
    if (ranks.rank() == 0)
      std::cerr << "resumed from " << s.resume << " at epoch " << options.resume->epoch << ", step "
                << options.resume->step_in_epoch << " of it\n";
  }
  if (!s.checkpoint.empty()) {
    // fit calls this on rank 0 only.
    options.checkpoint_every_steps = s.checkpoint_every;
    options.on_checkpoint = [&](const agd::train::training_position& position) {
      agd::io::save_checkpoint(s.checkpoint, net, optimizer,
                               {.step = position.global_step,
                                .epoch = position.epoch,
                                .extra = position.to_metadata(),
                                .preprocessing = data.inputs});
    };
  }
  const auto history =
      agd::train::fit(net, optimizer, agd::MSELoss{}, data.train, data.test, options);
  if (history.empty() || history.back().epoch != options.epochs) return std::nullopt;
  return history.back().test_accuracy;
}

/// What a rank's command line ends in before training: -1 to go on, or the exit status of a
/// flag error or --help (CLI11's), with its message.
struct parse_outcome {
  int status = -1;
  std::string message;
  std::exception_ptr error;
};

/// The ranks compare how their command lines parsed (every rank calls it). All alike: the ranks
/// go on, or all stop with the same status (rank 0 printing the usage or the error once). Not
/// alike: each rank that stops prints its own message and ends the whole job (MPI_Abort); the
/// others wait to be ended with it.
std::optional<int> agree_on_flags(const parse_outcome& mine, CLI::App& app,
                                  agd::distributed::mpi_communicator& ranks) {
  const auto print = [&] {
    try {
      std::rethrow_exception(mine.error);
    } catch (const CLI::ParseError& error) {
      return app.exit(error);  // the usage on stdout, an error on stderr
    }
    return 2;  // (every outcome that stops holds a CLI::ParseError)
  };
  const std::uint64_t words[2] = {
      std::uint64_t(mine.status + 1),
      agd::distributed::detail::hash_text(std::to_string(mine.status) + mine.message)};
  const std::vector<std::uint64_t> all = ranks.gather_on_host(words);
  bool alike = true;
  for (std::size_t r = 1; r < ranks.size(); ++r)
    alike = alike && all[2 * r] == all[0] && all[2 * r + 1] == all[1];
  if (alike) {
    if (mine.status < 0) return std::nullopt;
    if (ranks.rank() == 0) print();
    return mine.status;
  }
  if (mine.status >= 0) {
    print();
    ranks.abort("fashion_mnist_distributed: " + mine.message +
                " (on this rank alone, so the job stops: give every rank the same, valid flags)");
  }
  // The rank that stops ends the job in a moment; should it not, end it from here.
  std::this_thread::sleep_for(std::chrono::seconds(30));
  ranks.abort("fashion_mnist_distributed: another rank's flags did not parse (see its message)");
}

}  // namespace

int main(int argc, char** argv) {
  agd::distributed::mpi_session mpi(argc, argv);
  agd::distributed::mpi_communicator ranks;
  settings s;
  CLI::App app{"Train fashion_mnist's FCN with AGD, data-parallel over MPI ranks"};
  examples::add_run_flags(app, s.run);
  app.get_option("--batch")->description(
      "The global batch: each of the N ranks takes batch/N samples of every step");
  app.get_option("--threads")
      ->description("Threads of each rank (0: the machine's cores divided among the ranks on it)");
  app.add_option("--optimizer", s.optimizer, "agd (no learning rate), adam or sgd")
      ->check(CLI::IsMember({"agd", "adam", "sgd"}))
      ->capture_default_str();
  app.add_option("--lr", s.lr, "Learning rate of adam (default 1e-3) or sgd (default 0.1)")
      ->check(examples::finite_number(0, examples::max_learning_rate, /*low_excluded=*/true));
  examples::add_data_flags(app, s.data);
  app.add_option("--checkpoint", s.checkpoint,
                 "Rank 0 saves the weights and the optimiser state here after every epoch")
      ->check(examples::non_empty_path());
  app.add_option("--checkpoint-every", s.checkpoint_every,
                 "Also save every N steps (0: only after each epoch)")
      ->check(examples::whole_number(0, examples::max_steps_flag));
  app.add_option("--resume", s.resume, "Continue the run saved in this checkpoint")
      ->check(examples::non_empty_path());
  app.add_flag("--no-overlap", s.no_overlap,
               "Sum the gradients after the backward pass instead of during it");
  parse_outcome parsed;
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    parsed = {error.get_exit_code(),
              error.get_name() == "CallForHelp" ? std::string("--help") : error.what(),
              std::current_exception()};
  }
  if (const std::optional<int> status = agree_on_flags(parsed, app, ranks)) return *status;
  const std::size_t n = ranks.size();
  try {
    // SIGINT or SIGTERM on any rank: every rank stops after the same step (fit_options::stop).
    agd::train::stop_request stop;
    agd::train::stop_on_signals on_signals(stop);
    examples::check_separate_files({{"--checkpoint", s.checkpoint, true},
                                    {"--csv", s.run.csv, true},
                                    {"--resume", s.resume, false, "--checkpoint"}});
    if (s.lr && s.optimizer == "agd")
      throw std::invalid_argument("--lr is for adam and sgd; AGD sets its own learning rate");
    if (s.run.batch % n != 0)
      throw std::invalid_argument("--batch " + std::to_string(s.run.batch) +
                                  " does not divide among " + std::to_string(n) +
                                  " ranks; pass a multiple of " + std::to_string(n));
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    agd::set_threads(s.run.threads != 0
                         ? s.run.threads
                         : int(std::max<std::size_t>(1, cores / ranks.ranks_on_this_node())));
    if (ranks.rank() == 0 && !s.checkpoint.empty())
      agd::io::check_writable(s.checkpoint, "--checkpoint");
    const examples::prepared_data data = examples::load_fashion_mnist(s.data, ranks.rank() == 0);
    examples::network_in_precision<Net> made(s.run.precision, s.run.batch / n);
    Net& net = made.get();
    if (ranks.rank() == 0)
      std::cerr << Net::summary() << "optimizer " << s.optimizer << ", global batch " << s.run.batch
                << " = " << n << " ranks x " << s.run.batch / n << ", " << agd::threads()
                << " threads per rank, " << s.run.precision << ", gradients summed "
                << (s.no_overlap ? "after" : "during") << " the backward pass\n";
    std::optional<double> accuracy;
    if (s.optimizer == "agd") {
      agd::AGD optimizer(net, {.seed = s.run.seed});
      accuracy = train(net, optimizer, data, s, ranks, stop);
    } else if (s.optimizer == "adam") {
      agd::Adam optimizer(net, {.lr = s.lr.value_or(1e-3), .seed = s.run.seed});
      accuracy = train(net, optimizer, data, s, ranks, stop);
    } else {
      agd::SGD optimizer(net, {.lr = s.lr.value_or(0.1), .seed = s.run.seed});
      accuracy = train(net, optimizer, data, s, ranks, stop);
    }
    if (!accuracy) {
      // Every rank stopped after the same step (a signal reached at least one of them).
      const int signal = on_signals.signal_received();
      if (ranks.rank() == 0)
        std::cerr << "fashion_mnist_distributed: stopped"
                  << (s.checkpoint.empty()
                          ? "; no --checkpoint was given, so the run cannot be resumed\n"
                          : "; " + s.checkpoint + " holds the last step: add --resume " +
                                s.checkpoint + " to the same flags to continue\n");
      return 128 + (signal ? signal : SIGTERM);
    }
    if (ranks.rank() == 0) std::printf("final test accuracy: %.2f%%\n", 100 * *accuracy);
  } catch (const std::bad_alloc&) {
    ranks.abort("fashion_mnist_distributed: out of memory; try a smaller --batch");
  } catch (const std::exception& error) {
    // An error on one rank (a missing file, a bad flag) would leave the others waiting for it:
    // stop them all, with the message.
    if (n > 1) ranks.abort(std::string("fashion_mnist_distributed: ") + error.what());
    std::cerr << "fashion_mnist_distributed: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
