// Checkpoints: a network's weights, its optimiser's state and where training stood, in one
// safetensors file (agd/io/safetensors.hpp) that PyTorch can read as a state_dict.
//
//   save_checkpoint(file, net, optimizer, {.step = s, .epoch = e, .extra = {{"rng", ...}}});
//   const checkpoint_info info = load_checkpoint(file, net, optimizer);
//   load_weights(file, net);  // weights only: any optimiser's file, or one written by PyTorch
//
// Tensor names (docs/checkpoints.md): the weight of the layer at 0-based position p of the
// layer list is "layers.p.weight" (PyTorch's name for the same weight when the layers are an
// nn.Sequential attribute called `layers`); Adam's moments of weight k (k counts weights only,
// as torch.optim's state does) are "optimizer.first_moment.k" and "optimizer.second_moment.k";
// SGD's momentum buffers "optimizer.velocity.k". Metadata: "agd.format" = "1",
// "agd.architecture" (the layers' names joined by ';'), "agd.optimizer", "agd.step",
// "agd.epoch", "agd.optimizer.steps" (Adam's bias correction and SGD's first-step rule need it),
// and the caller's `extra` strings under their own keys.
//
// A load changes nothing unless the whole file is valid and fits the network and the
// optimiser: everything is read into temporaries first and copied in at the end.
#pragma once

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "agd/core/matrix.hpp"
#include "agd/data/preprocessing.hpp"
#include "agd/io/safetensors.hpp"

namespace agd::io {

/// Where training stood when the checkpoint was saved, and the caller's own strings.
struct checkpoint_info {
  std::uint64_t step = 0;
  std::uint64_t epoch = 0;
  /// Anything else the caller needs to resume, e.g. a serialised RNG state (std::mt19937_64's
  /// operator<< gives text). Keys must not start with "agd." (reserved); values must be UTF-8.
  std::map<std::string, std::string> extra{};
  /// What turns raw inputs into the network's inputs (e.g. the training set's standardisation),
  /// saved as "agd.inputs..." metadata so that a reloaded model can take raw inputs.
  data::preprocessing preprocessing{};
};

/// The version of the layout described at the top of this file. A reader refuses a file with
/// another number rather than guess at it.
inline constexpr std::string_view checkpoint_format = "1";

/// The layers' names in order, e.g. {"Dense<784,512>", "Sqrt2Relu", "Dense<512,10>"}.
template <class Net>
std::vector<std::string> layer_names() {
  const auto names = Net::layer_names();
  return {names.begin(), names.end()};
}

/// "Dense<784,512>;Sqrt2Relu;Dense<512,10>": the "agd.architecture" metadata.
template <class Net>
std::string architecture_signature() {
  std::string signature;
  for (const auto& name : layer_names<Net>()) {
    if (!signature.empty()) signature += ';';
    signature += name;
  }
  return signature;
}

/// "layers.4.weight": the tensor name of weight k (the k-th weighted layer, 0-based).
template <class Net>
std::string weight_tensor_name(std::size_t k) {
  return detail::cat({"layers.", detail::number(Net::weight_layer.at(k)), ".weight"});
}

namespace detail {

/// "optimizer.velocity.3": the name of tensor k (shaped like weight k) of the optimiser's flat
/// state buffer `name`.
inline std::string state_tensor_name(std::string_view name, std::size_t k) {
  return cat({"optimizer.", name, ".", number(k)});
}

/// The optimiser's state buffers, as it declares them (agd::Optimizer, optim/optimizer.hpp, which
/// io does not include: the two folders are of one rank), pointing into the optimiser (const or
/// not). Refuses an optimiser whose declared buffers do not account for all the state it says it
/// keeps, rather than silently drop the rest.
template <class Net, class Opt>
auto optimizer_state_tensors(Opt& optimizer) {
  auto tensors = optimizer.state_tensors();
  const std::size_t declared =
      tensors.size() * Net::parameter_count * sizeof(typename Net::scalar_type);
  if (optimizer.state_bytes() != declared)
    throw checkpoint_error(
        cat({"agd::io: the optimiser '", std::string(optimizer.name()), "' keeps ",
             number(optimizer.state_bytes()), " bytes of state but its state_tensors() hold ",
             number(declared), " (see optim/optimizer.hpp), so it cannot be checkpointed"}));
  return tensors;
}

/// The tensors of a flat buffer in the weights' layout (host memory), as matrices.
template <class Net>
std::vector<matrix<typename Net::scalar_type>> split_flat(const typename Net::scalar_type* flat) {
  std::vector<matrix<typename Net::scalar_type>> tensors;
  for (std::size_t k = 0; k < Net::depth; ++k)
    tensors.push_back(Eigen::Map<const matrix<typename Net::scalar_type>>(
        flat + Net::weight_offsets[k], Eigen::Index(Net::weight_rows[k]),
        Eigen::Index(Net::weight_cols[k])));
  return tensors;
}

/// A flat buffer of `Net`'s backend copied to the host.
template <class Net>
std::vector<typename Net::scalar_type> flat_to_host(const Net& net,
                                                    const typename Net::scalar_type* data) {
  using backend = typename Net::backend_type;
  std::vector<typename Net::scalar_type> host(Net::parameter_count);
  backend::download(net.context(), data, Net::parameter_count, host.data());
  backend::synchronize(net.context());
  return host;
}

/// "layer 3 (Dense<32,16>)", positions counted from 1 as in agd's other messages.
inline std::string describe_layer(std::size_t position, const std::string& name) {
  return cat({"layer ", number(position + 1), " (", name, ")"});
}

/// Empty if the two layer lists agree, else what differs first (and the counts if they differ).
inline std::string architecture_difference(const std::vector<std::string>& in_file,
                                           const std::vector<std::string>& in_network) {
  const std::string counts = cat({"the file has ", number(in_file.size()),
                                  " layers but the network has ", number(in_network.size())});
  const bool same_count = in_file.size() == in_network.size();
  for (std::size_t i = 0; i < std::min(in_file.size(), in_network.size()); ++i)
    if (in_file[i] != in_network[i])
      return cat({"layer ", number(i + 1), ": the file has ", in_file[i], " but the network has ",
                  in_network[i], same_count ? "" : " (and ", same_count ? "" : counts,
                  same_count ? "" : ")"});
  if (in_file.size() > in_network.size())
    return cat({counts, ": the file goes on with layer ", number(in_network.size() + 1), ", ",
                in_file[in_network.size()]});
  if (in_network.size() > in_file.size())
    return cat({counts, ": the network goes on with layer ", number(in_file.size() + 1), ", ",
                in_network[in_file.size()]});
  return "";
}

inline std::vector<std::string> split_signature(const std::string& signature) {
  std::vector<std::string> names;
  std::size_t start = 0;
  for (std::size_t end; (end = signature.find(';', start)) != std::string::npos; start = end + 1)
    names.push_back(signature.substr(start, end - start));
  names.push_back(signature.substr(start));
  return names;
}

/// One load in progress: the open file, which tensors have been taken from it, and the
/// messages, each prefixed with the loading function and the file.
class checkpoint_loader {
 public:
  checkpoint_loader(const std::filesystem::path& file, std::string function)
      : function_(std::move(function)), reader_(open(file, function_)) {}

  [[noreturn]] void fail(std::initializer_list<std::string_view> problem) const {
    throw checkpoint_error(cat({function_, ": ", quoted(reader_.file()), ": ", cat(problem)}));
  }

  const std::string* metadata(const std::string& key) const {
    const auto found = reader_.metadata().find(key);
    return found == reader_.metadata().end() ? nullptr : &found->second;
  }

  const std::string& required_metadata(const std::string& key, std::string_view why) const {
    const std::string* value = metadata(key);
    if (!value) fail({"the metadata has no \"", key, "\"; ", why});
    return *value;
  }

  std::uint64_t number_metadata(const std::string& key) const {
    const std::string& text = required_metadata(key, "the file is incomplete");
    std::uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size())
      fail({"metadata \"", key, "\" is \"", text, "\", not a non-negative integer"});
    return value;
  }

  void check_format(bool required) const {
    const std::string* format = metadata("agd.format");
    if (!format && required)
      fail(
          {"the metadata has no \"agd.format\", so this is not an agd checkpoint; to load "
           "weights written by other code (e.g. PyTorch) use agd::io::load_weights"});
    if (format && *format != checkpoint_format)
      fail({"it is agd checkpoint format \"", *format, "\" but this agd reads format \"",
            checkpoint_format, "\" (was it written by a newer agd?)"});
  }

  /// Compares the file's "agd.architecture" with the network's layer list. Optional: a file
  /// from elsewhere has none, and then the tensor shapes are checked one by one instead.
  void check_architecture(const std::vector<std::string>& network_layers, bool required) const {
    const std::string* signature = metadata("agd.architecture");
    if (!signature) {
      if (required) fail({"the metadata has no \"agd.architecture\"; the file is incomplete"});
      return;
    }
    const std::string difference =
        architecture_difference(split_signature(*signature), network_layers);
    if (difference.empty()) return;
    std::string network_signature;
    for (const auto& name : network_layers) {
      if (!network_signature.empty()) network_signature += ';';
      network_signature += name;
    }
    fail({"it was saved from a different network: ", difference, " (file: ", *signature,
          "; network: ", network_signature, "). Load it into the network type it was saved from."});
  }

  /// Reads tensor `name` into a rows x cols matrix: present, of that shape, and all finite.
  template <class Scalar>
  matrix<Scalar> read(const std::string& name, Eigen::Index rows, Eigen::Index cols,
                      std::string_view what_for, std::string_view if_missing) {
    const tensor_info* tensor = reader_.find(name);
    if (!tensor) fail({"it has no tensor '", name, "' for ", what_for, "; ", if_missing});
    const std::vector<std::uint64_t> wanted{std::uint64_t(rows), std::uint64_t(cols)};
    if (tensor->shape != wanted)
      fail({"tensor '", name, "' has shape ", shape_string(tensor->shape), " but ", what_for,
            " needs ", shape_string(wanted)});
    matrix<Scalar> m = reader_.read_matrix<Scalar>(name);
    if (const auto at = first_non_finite(m))
      fail({"tensor '", name, "' holds ", std::to_string(m(at->row, at->col)), " at [",
            number(at->row), ", ", number(at->col),
            "]; a checkpoint never holds NaN or Inf, so the file is corrupt"});
    used_.insert(name);
    return m;
  }

  /// Fails on any tensor nothing took, except those starting with `ignored_prefix` if given.
  void check_all_used(std::string_view ignored_prefix, std::string_view optimizer_hint) const {
    for (const auto& [name, tensor] : reader_.tensors()) {
      if (used_.contains(name)) continue;
      if (!ignored_prefix.empty() && name.starts_with(ignored_prefix)) continue;
      std::string_view hint =
          " (agd names the weight of the layer at 0-based position p \"layers.p.weight\"; see "
          "docs/checkpoints.md)";
      if (name.ends_with(".bias"))
        hint = " (agd's layers have no bias: build the PyTorch model with bias=False)";
      else if (name.starts_with("optimizer."))
        hint = optimizer_hint;
      fail({"it holds tensor '", name, "', which has no place in this network or optimiser", hint});
    }
  }

  checkpoint_info info(bool required) const {
    checkpoint_info info;
    if (required || metadata("agd.step")) info.step = number_metadata("agd.step");
    if (required || metadata("agd.epoch")) info.epoch = number_metadata("agd.epoch");
    for (const auto& [key, value] : reader_.metadata())
      if (!key.starts_with("agd.")) info.extra.emplace(key, value);
    try {
      info.preprocessing = data::preprocessing::from_metadata(reader_.metadata());
    } catch (const std::invalid_argument& error) {
      fail({error.what(), "; the file is corrupt"});
    }
    return info;
  }

 private:
  /// Puts the loading function in front of the reader's errors, in place of "agd::io".
  static safetensors_reader open(const std::filesystem::path& file, const std::string& function) {
    try {
      return safetensors_reader(file);
    } catch (const checkpoint_error& error) {
      std::string_view message = error.what();
      if (message.starts_with("agd::io: ")) message.remove_prefix(9);
      throw checkpoint_error(cat({function, ": ", message}));
    }
  }

  std::string function_;
  safetensors_reader reader_;
  std::set<std::string> used_;
};

/// What a load must find in the file and where each tensor goes. The templates over the
/// network and the optimiser only fill this in; perform_load() does the work, compiled once per
/// scalar type rather than once per network and optimiser.
template <class Scalar>
struct load_request {
  /// Where a tensor goes: `rows x cols` values at `data` in the memory of a backend, which
  /// copy_in(context, host values, count, data) fills.
  struct destination {
    Scalar* data;
    void (*copy_in)(void* context, const Scalar* host, std::size_t count, Scalar* data);
    void* context;
  };
  struct tensor {
    std::string name;
    Eigen::Index rows, cols;  // the shape the file must have
    destination target;
    std::string owner;            // "layer 3 (Dense<16,8>)" or "the adam state", for messages
    std::string_view if_missing;  // the likely cause, for the message if the file lacks it
  };
  std::string function{};  // "agd::io::load_checkpoint", for messages
  std::vector<std::string> layer_names{};
  std::vector<tensor> tensors{};  // the weights, then the optimiser's state
  /// Set by load_checkpoint: the file must be an agd checkpoint of this optimiser.
  std::optional<std::string> optimizer_name{};
  bool optimizer_has_steps = false;
};

/// A destination in the memory of `net`'s backend.
template <class Net>
typename load_request<typename Net::scalar_type>::destination destination_in(
    Net& net, typename Net::scalar_type* data) {
  using backend = typename Net::backend_type;
  using S = typename Net::scalar_type;
  return {data,
          [](void* context, const S* host, std::size_t count, S* to) {
            auto& c = *static_cast<typename backend::context*>(context);
            backend::upload(c, host, count, to);
            backend::synchronize(c);
          },
          &net.context()};
}

/// Tensor k of a flat buffer in the weights' layout, for a load_request.
template <class Net>
void add_flat_tensor(load_request<typename Net::scalar_type>& request, Net& net, std::size_t k,
                     std::string name, typename Net::scalar_type* flat, std::string owner,
                     std::string_view if_missing) {
  request.tensors.push_back(
      {std::move(name), Eigen::Index(Net::weight_rows[k]), Eigen::Index(Net::weight_cols[k]),
       detail::destination_in(net, flat + Net::weight_offsets[k]), std::move(owner), if_missing});
}

/// The weight tensors of `net`, for a load_request.
template <class Net>
void add_weights(load_request<typename Net::scalar_type>& request, Net& net) {
  for (std::size_t k = 0; k < Net::depth; ++k) {
    const std::size_t position = Net::weight_layer[k];
    detail::add_flat_tensor(
        request, net, k, weight_tensor_name<Net>(k), net.weight_data(),
        describe_layer(position, request.layer_names[position]),
        "the file is incomplete, or was saved from a network whose weighted layers "
        "sit at other positions");
  }
}

/// Checks the file against the request, reads every tensor into a temporary and only then
/// copies them all into their targets (buffers of their size, allocated long before). Returns the
/// metadata and, through `optimizer_steps`, the optimiser's steps.
template <class Scalar>
checkpoint_info perform_load(const std::filesystem::path& file, const load_request<Scalar>& request,
                             std::uint64_t& optimizer_steps) {
  const bool checkpoint = request.optimizer_name.has_value();
  checkpoint_loader loader(file, request.function);
  loader.check_format(checkpoint);
  if (checkpoint) {
    const std::string& saved_with = loader.required_metadata(
        "agd.optimizer", "the file is incomplete (load only its weights with load_weights)");
    if (saved_with != *request.optimizer_name)
      loader.fail({"it was saved with the '", saved_with, "' optimiser but is being loaded into '",
                   *request.optimizer_name,
                   "'; construct the optimiser it was saved with, or load only the weights with "
                   "agd::io::load_weights"});
  }
  loader.check_architecture(request.layer_names, checkpoint);
  std::vector<matrix<Scalar>> values;
  values.reserve(request.tensors.size());
  for (const auto& tensor : request.tensors)
    values.push_back(loader.read<Scalar>(tensor.name, tensor.rows, tensor.cols, tensor.owner,
                                         tensor.if_missing));
  if (request.optimizer_has_steps) optimizer_steps = loader.number_metadata("agd.optimizer.steps");
  if (checkpoint)
    loader.check_all_used("", cat({" (this ", *request.optimizer_name,
                                   " optimiser keeps no such state; was it saved with other "
                                   "settings, e.g. SGD with momentum?)"}));
  else
    loader.check_all_used("optimizer.", "");  // load_weights leaves the optimiser's state
  checkpoint_info info = loader.info(checkpoint);
  for (std::size_t i = 0; i < values.size(); ++i) {
    const auto& target = request.tensors[i].target;
    target.copy_in(target.context, values[i].data(), std::size_t(values[i].size()), target.data);
  }
  return info;
}

/// A checkpoint never holds NaN or Inf (load_checkpoint refuses them), so writing one would
/// replace the last good file with one that cannot be loaded: refuse, naming the first bad
/// element. Takes any Eigen expression, so that a weight may be a matrix or a view of one.
template <class Derived>
void require_finite(const std::string& function, const std::filesystem::path& file,
                    const std::string& name, const Eigen::DenseBase<Derived>& m) {
  if (const auto at = first_non_finite(m))
    throw checkpoint_error(
        cat({function, ": not writing ", quoted(file), ": tensor '", name, "' holds ",
             std::to_string(m(at->row, at->col)), " at [", number(at->row), ", ", number(at->col),
             "]; training has diverged (too large a learning rate or gain?), and a checkpoint "
             "must stay loadable, so the previous file, if any, is unchanged"}));
}

/// The weights (each checked finite) and the metadata every agd file has.
/// `weights` are host copies of the network's (split_flat of weights_to_host()), which the
/// writer references until it has written the file.
template <class Net>
void add_weights_and_metadata(safetensors_writer& writer, const std::string& function,
                              const std::filesystem::path& file,
                              const std::vector<matrix<typename Net::scalar_type>>& weights,
                              const checkpoint_info& info) {
  for (std::size_t k = 0; k < Net::depth; ++k) {
    const std::string name = weight_tensor_name<Net>(k);
    require_finite(function, file, name, weights[k]);
    writer.add(name, weights[k]);
  }
  writer.set_metadata("agd.format", std::string(checkpoint_format));
  writer.set_metadata("agd.architecture", architecture_signature<Net>());
  writer.set_metadata("agd.step", number(info.step));
  writer.set_metadata("agd.epoch", number(info.epoch));
  for (const auto& [key, value] : info.preprocessing.to_metadata()) writer.set_metadata(key, value);
  for (const auto& [key, value] : info.extra) {
    if (key.starts_with("agd."))
      throw std::invalid_argument(
          cat({function, ": the extra key \"", key,
               "\" starts with \"agd.\", which is reserved for agd's own metadata; choose "
               "another name"}));
    writer.set_metadata(key, value);
  }
}

}  // namespace detail

/// Writes the network's weights, the optimiser's state and `info` to `file`, atomically: the
/// previous file at that path stays whole until the new one is complete on disk. Throws
/// checkpoint_error if the file cannot be written (nothing is left behind) and
/// std::invalid_argument for an `extra` key starting with "agd." or a string that is not UTF-8.
template <class Net, class Opt>
void save_checkpoint(const std::filesystem::path& file, const Net& net, const Opt& optimizer,
                     const checkpoint_info& info = {}) {
  const std::string function = "agd::io::save_checkpoint";
  // Host copies of every tensor (the writer references them until write() returns).
  const auto weights = detail::split_flat<Net>(net.weights_to_host().data());
  safetensors_writer writer;
  detail::add_weights_and_metadata<Net>(writer, function, file, weights, info);
  std::vector<std::vector<matrix<typename Net::scalar_type>>> states;
  for (const auto& buffer : detail::optimizer_state_tensors<Net>(optimizer)) {
    states.push_back(detail::split_flat<Net>(detail::flat_to_host(net, buffer.data).data()));
    for (std::size_t k = 0; k < Net::depth; ++k) {
      const std::string name = detail::state_tensor_name(buffer.name, k);
      detail::require_finite(function, file, name, states.back()[k]);
      writer.add(name, states.back()[k]);
    }
  }
  writer.set_metadata("agd.optimizer", std::string(optimizer.name()));
  if constexpr (Opt::steps_are_state)
    writer.set_metadata("agd.optimizer.steps", detail::number(optimizer.steps()));
  writer.write(file, function);
}

/// Writes only the network's weights, with `info` (its step, epoch, extra strings and the input
/// preprocessing), atomically like save_checkpoint: a file for load_weights, e.g. a trained
/// model to classify with later (agd::predict), or to load into PyTorch. Refuses NaN or Inf
/// weights, leaving the previous file as it was.
template <class Net>
void save_weights(const std::filesystem::path& file, const Net& net,
                  const checkpoint_info& info = {}) {
  const std::string function = "agd::io::save_weights";
  const auto weights = detail::split_flat<Net>(net.weights_to_host().data());
  safetensors_writer writer;
  detail::add_weights_and_metadata<Net>(writer, function, file, weights, info);
  writer.write(file, function);
}

/// Restores the network's weights and the optimiser's state from a file save_checkpoint wrote,
/// and returns the step, epoch and extra strings saved with them. Throws checkpoint_error, and
/// changes nothing, if the file is not a valid checkpoint, was saved from a different network
/// (the message names the first layer that differs) or by a different optimiser.
template <class Net, class Opt>
checkpoint_info load_checkpoint(const std::filesystem::path& file, Net& net, Opt& optimizer) {
  detail::load_request<typename Net::scalar_type> request{.function = "agd::io::load_checkpoint",
                                                          .layer_names = layer_names<Net>()};
  request.optimizer_name = std::string(optimizer.name());
  request.optimizer_has_steps = Opt::steps_are_state;
  detail::add_weights(request, net);
  const std::string owner = detail::cat({"the ", *request.optimizer_name, " state"});
  for (const auto& buffer : detail::optimizer_state_tensors<Net>(optimizer))
    for (std::size_t k = 0; k < Net::depth; ++k)
      detail::add_flat_tensor(
          request, net, k, detail::state_tensor_name(buffer.name, k), buffer.data, owner,
          "was it saved by the same optimiser with the same settings (e.g. SGD momentum)?");
  std::uint64_t optimizer_steps = 0;
  checkpoint_info info = detail::perform_load(file, request, optimizer_steps);
  if constexpr (Opt::steps_are_state) optimizer.set_steps(optimizer_steps);
  return info;
}

/// Loads only the weights: from a checkpoint of any optimiser (its state is ignored) or from a
/// safetensors file written by other code, e.g. PyTorch's state_dict of a model whose
/// bias-free nn.Linear layers sit in an nn.Sequential called `layers` (docs/checkpoints.md).
/// agd metadata is checked where present; the tensor shapes always are. Returns the step and
/// epoch (0 when absent) and the other metadata strings. Changes nothing on error.
template <class Net>
checkpoint_info load_weights(const std::filesystem::path& file, Net& net) {
  detail::load_request<typename Net::scalar_type> request{.function = "agd::io::load_weights",
                                                          .layer_names = layer_names<Net>()};
  detail::add_weights(request, net);
  std::uint64_t unused_steps = 0;
  return detail::perform_load(file, request, unused_steps);
}

}  // namespace agd::io
