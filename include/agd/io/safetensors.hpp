// The safetensors format (https://github.com/huggingface/safetensors), which PyTorch, JAX and
// numpy code can read without running any of our code:
//
//   8 bytes   N, the length of the header, little-endian unsigned
//   N bytes   a UTF-8 JSON object: {"name": {"dtype": "F32", "shape": [rows, cols],
//             "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value", ...}}
//   the rest  the tensors' bytes, little-endian, each tensor row-major (C order), at
//             [begin, end) counted from the first byte after the header
//
// Our matrices are Eigen's column-major, so a W of shape Out x In is transposed on the way out
// and in: the file holds it as [Out, In] row-major, byte for byte what PyTorch holds for
// torch.nn.Linear(In, Out, bias=False).weight. Every value goes through memcpy and an explicit
// byte order, so the code assumes neither an aligned buffer nor a little-endian host.
//
// The reader trusts nothing in the file: every length, offset, dtype and shape is checked
// before a byte of tensor data is read, and every error is an agd::io::checkpoint_error that
// names the file, the tensor and the problem; it opens only regular files (a FIFO would block
// it forever). The writer is atomic (agd/io/atomic_file.hpp): it writes a temporary file beside
// the target and renames it over the target only once the data is on disk, so a crash or a full
// disk leaves the previous file whole; it follows symbolic links and refuses to replace
// anything but a regular file.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "agd/core/file_checks.hpp"
#include "agd/core/matrix.hpp"
#include "agd/io/atomic_file.hpp"

namespace agd::io {

/// A checkpoint or safetensors file could not be written, or is not what the reader expects.
/// The message names the file, the tensor where there is one, the problem and what to do.
class checkpoint_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The element types agd reads and writes: its two scalar types.
enum class dtype { f32, f64 };

inline std::string_view dtype_name(dtype type) {
  return type == dtype::f32 ? "F32" : "F64";
}
inline std::size_t dtype_size(dtype type) {
  return type == dtype::f32 ? 4 : 8;
}

template <class Scalar>
constexpr dtype dtype_of() {
  static_assert(std::is_same_v<Scalar, float> || std::is_same_v<Scalar, double>,
                "agd::io: tensors are stored as float (F32) or double (F64)");
  return std::is_same_v<Scalar, float> ? dtype::f32 : dtype::f64;
}

/// One entry of a safetensors header.
struct tensor_info {
  std::string name;
  dtype type = dtype::f32;
  std::vector<std::uint64_t> shape;
  /// The tensor's bytes are [begin, end) of the data section (after the header).
  std::uint64_t begin = 0;
  std::uint64_t end = 0;

  std::uint64_t element_count() const {
    std::uint64_t count = 1;
    for (auto extent : shape) count *= extent;  // cannot overflow: checked by the reader
    return count;
  }
};

namespace detail {

/// The header is JSON we parse into memory, so bound it: 100 MB, the limit of the reference
/// implementation, is far above any real header (about 100 bytes per tensor).
inline constexpr std::uint64_t max_header_bytes = 100'000'000;
/// Writes and reads go through a buffer of this size, so a large tensor is never copied whole.
inline constexpr std::size_t chunk_bytes = std::size_t{1} << 20;

static_assert(std::endian::native == std::endian::little || std::endian::native == std::endian::big,
              "agd::io: mixed-endian hosts are not supported");

template <class Unsigned>
Unsigned byteswap(Unsigned value) {
  Unsigned swapped = 0;
  for (std::size_t i = 0; i < sizeof(Unsigned); ++i) {
    swapped = Unsigned(swapped << 8) | Unsigned(value & 0xFF);
    value = Unsigned(value >> 8);
  }
  return swapped;
}

template <class Unsigned>
Unsigned to_or_from_little_endian(Unsigned value) {
  if constexpr (std::endian::native == std::endian::big)
    return byteswap(value);
  else
    return value;
}

template <class Value>
using bits_of = std::conditional_t<sizeof(Value) == 4, std::uint32_t, std::uint64_t>;

/// Stores `value` at `out` (any alignment) as little-endian bytes.
template <class Value>
void store_little_endian(Value value, unsigned char* out) {
  const auto bits = to_or_from_little_endian(std::bit_cast<bits_of<Value>>(value));
  std::memcpy(out, &bits, sizeof bits);
}

/// Reads a little-endian value from `in` (any alignment).
template <class Value>
Value load_little_endian(const unsigned char* in) {
  bits_of<Value> bits;
  std::memcpy(&bits, in, sizeof bits);
  return std::bit_cast<Value>(to_or_from_little_endian(bits));
}

/// Joins the parts of a message. One call per error site, where a chain of std::string
/// operator+ would be inlined at each of the many sites (and slow the compile noticeably).
inline std::string cat(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (const auto part : parts) size += part.size();
  std::string text;
  text.reserve(size);
  for (const auto part : parts) text += part;
  return text;
}

inline std::string number(std::uint64_t value) {
  return std::to_string(value);
}

/// 'path', for messages.
inline std::string quoted(const std::filesystem::path& file) {
  return cat({"'", file.string(), "'"});
}

[[noreturn]] inline void fail_read(const std::filesystem::path& file, std::string_view tensor,
                                   std::string_view problem) {
  if (tensor.empty())
    throw checkpoint_error(cat({"agd::io: cannot read ", quoted(file), ": ", problem}));
  throw checkpoint_error(
      cat({"agd::io: cannot read ", quoted(file), ", tensor '", tensor, "': ", problem}));
}

/// "[2, 3]"
inline std::string shape_string(const std::vector<std::uint64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) text += ", ";
    text += number(shape[i]);
  }
  return text + "]";
}

/// "[begin, end]"
inline std::string offsets_string(const tensor_info& tensor) {
  return cat({"[", number(tensor.begin), ", ", number(tensor.end), "]"});
}

/// Whether `text` is well-formed UTF-8, which the format requires of the whole header.
inline bool is_utf8(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    std::size_t length = 1;
    std::uint32_t code = lead;
    if (lead >= 0x80) {
      if ((lead & 0xE0) == 0xC0)
        length = 2, code = lead & 0x1F;
      else if ((lead & 0xF0) == 0xE0)
        length = 3, code = lead & 0x0F;
      else if ((lead & 0xF8) == 0xF0)
        length = 4, code = lead & 0x07;
      else
        return false;
      if (i + length > text.size()) return false;
      for (std::size_t j = 1; j < length; ++j) {
        const auto next = static_cast<unsigned char>(text[i + j]);
        if ((next & 0xC0) != 0x80) return false;
        code = (code << 6) | (next & 0x3F);
      }
      // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
      constexpr std::uint32_t smallest[] = {0, 0, 0x80, 0x800, 0x10000};
      if (code < smallest[length] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF)
        return false;
    }
    i += length;
  }
  return true;
}

/// Appends `text` as a JSON string; `what` names it in the error if it is not UTF-8.
inline void append_json_string(std::string& out, std::string_view text, std::string_view what) {
  if (!is_utf8(text))
    throw std::invalid_argument(cat({"agd::io::safetensors_writer: ", what,
                                     " is not valid UTF-8, which safetensors headers must be; "
                                     "encode binary state as text, e.g. hex or base64"}));
  constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {  // control characters must be escaped in JSON
      out += "\\u00";
      out += hex[byte >> 4];
      out += hex[byte & 0xF];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace detail

/// Collects matrices and metadata, then writes them as one safetensors file. Each matrix is
/// referenced, not copied: keep it alive and unchanged until write() returns.
class safetensors_writer {
 public:
  /// Adds `m` as the tensor `name` of shape [rows, cols], row-major in the file.
  template <class Scalar>
  void add(std::string name, const matrix<Scalar>& m) {
    static_cast<void>(dtype_of<Scalar>());
    if (name == "__metadata__" || name.empty())
      throw std::invalid_argument(
          detail::cat({"agd::io::safetensors_writer: '", name, "' cannot name a tensor"}));
    for (const auto& entry : entries_)
      if (entry.name == name)
        throw std::invalid_argument(
            detail::cat({"agd::io::safetensors_writer: two tensors are named '", name, "'"}));
    entry added{std::move(name)};
    if constexpr (std::is_same_v<Scalar, float>)
      added.f32 = &m;
    else
      added.f64 = &m;
    entries_.push_back(std::move(added));
  }

  void set_metadata(const std::string& key, std::string value) {
    metadata_[key] = std::move(value);
  }

  /// Writes the file atomically (agd/io/atomic_file.hpp); throws checkpoint_error on any
  /// failure, leaving the previous file at `file` as it was. `what` starts the messages.
  void write(const std::filesystem::path& file, const std::string& what = "agd::io") const {
    try {
      write_atomically(file, what);
    } catch (const write_error& error) {
      throw checkpoint_error(error.what());
    }
  }

 private:
  void write_atomically(const std::filesystem::path& file, const std::string& what) const {
    const std::string header = header_text();
    atomic_file_writer out(file, what);
    std::array<unsigned char, 8> length{};
    detail::store_little_endian<std::uint64_t>(header.size(), length.data());
    out.write(length.data(), length.size());
    out.write(reinterpret_cast<const unsigned char*>(header.data()), header.size());
    std::vector<unsigned char> buffer;
    buffer.reserve(detail::chunk_bytes);
    for (const auto& entry : entries_) {
      if (entry.f32)
        write_row_major(*entry.f32, buffer, out);
      else
        write_row_major(*entry.f64, buffer, out);
    }
    out.write(buffer.data(), buffer.size());
    out.commit();
  }

  /// One tensor to write: exactly one of the two pointers is set.
  struct entry {
    std::string name;
    const matrix<float>* f32 = nullptr;
    const matrix<double>* f64 = nullptr;
  };

  /// The JSON header, written here rather than through a JSON library's serializer: it is a
  /// fixed shape, and this keeps the header cheap to compile. Metadata first, then the tensors
  /// in the order they were added, each as {"dtype", "shape", "data_offsets"}.
  std::string header_text() const {
    std::string text = "{";
    if (!metadata_.empty()) {
      text += "\"__metadata__\":{";
      for (const auto& [key, value] : metadata_) {
        if (text.back() != '{') text += ',';
        detail::append_json_string(text, key, "a metadata key");
        text += ':';
        detail::append_json_string(text, value, "the value of metadata \"" + key + "\"");
      }
      text += '}';
    }
    std::uint64_t offset = 0;
    for (const auto& entry : entries_) {
      const auto [rows, cols] = entry.f32 ? std::pair(entry.f32->rows(), entry.f32->cols())
                                          : std::pair(entry.f64->rows(), entry.f64->cols());
      const dtype type = entry.f32 ? dtype::f32 : dtype::f64;
      const std::uint64_t bytes = std::uint64_t(rows) * std::uint64_t(cols) * dtype_size(type);
      if (text.size() > 1) text += ',';
      detail::append_json_string(text, entry.name, "a tensor name");
      text += detail::cat({":{\"dtype\":\"", dtype_name(type), "\",\"shape\":[",
                           detail::number(std::uint64_t(rows)), ",",
                           detail::number(std::uint64_t(cols)), "],\"data_offsets\":[",
                           detail::number(offset), ",", detail::number(offset + bytes), "]}"});
      offset += bytes;
    }
    text += '}';
    // Pad with spaces (JSON whitespace) so the data starts 8-byte aligned, which lets readers
    // that map the file view F64 tensors in place.
    text.append((8 - text.size() % 8) % 8, ' ');
    return text;
  }

  /// Appends the elements of `m` in row-major order, little-endian, to `buffer` (which holds
  /// at most chunk_bytes, then goes to the file).
  template <class Scalar>
  static void write_row_major(const matrix<Scalar>& m, std::vector<unsigned char>& buffer,
                              atomic_file_writer& out) {
    for (Eigen::Index r = 0; r < m.rows(); ++r)
      for (Eigen::Index c = 0; c < m.cols(); ++c) {
        if (buffer.size() + sizeof(Scalar) > detail::chunk_bytes) {
          out.write(buffer.data(), buffer.size());
          buffer.clear();
        }
        const std::size_t at = buffer.size();
        buffer.resize(at + sizeof(Scalar));
        detail::store_little_endian(m(r, c), buffer.data() + at);
      }
  }

  std::vector<entry> entries_;
  std::map<std::string, std::string> metadata_;
};

/// Opens a safetensors file and validates its header against the file's size; tensors are
/// read on request. Everything the header says is checked here, so a reader that constructs
/// without throwing holds a well-formed file whose tensors exactly tile its data section.
class safetensors_reader {
 public:
  explicit safetensors_reader(std::filesystem::path file) : file_(std::move(file)) {
    try {
      detail::check_readable_regular_file(file_, "agd::io");
    } catch (const file_error& error) {
      throw checkpoint_error(error.what());
    }
    in_.open(file_, std::ios::binary);
    const int open_error = errno;
    if (!in_)
      detail::fail_read(
          file_, "",
          detail::cat({"cannot open it: ", std::generic_category().message(open_error),
                       " (check the path and the permissions)"}));
    std::error_code error;
    const std::uint64_t file_size = std::filesystem::file_size(file_, error);
    if (error)
      detail::fail_read(file_, "", detail::cat({"cannot get its size: ", error.message()}));
    if (file_size < 8)
      detail::fail_read(file_, "",
                        detail::cat({"the file is ", detail::number(file_size),
                                     " bytes, too short for the 8-byte header length; it is "
                                     "truncated or not a safetensors file"}));
    std::array<unsigned char, 8> length_bytes{};
    read_exactly(0, length_bytes.data(), length_bytes.size(), "");
    const auto header_length = detail::load_little_endian<std::uint64_t>(length_bytes.data());
    if (header_length > file_size - 8)
      detail::fail_read(file_, "",
                        detail::cat({"the header length ", detail::number(header_length),
                                     " runs past the end of the file (", detail::number(file_size),
                                     " bytes); the file is truncated or not a safetensors file"}));
    if (header_length > detail::max_header_bytes)
      detail::fail_read(
          file_, "",
          detail::cat({"the header length ", detail::number(header_length),
                       " exceeds the limit of ", detail::number(detail::max_header_bytes),
                       " bytes; the file is corrupt or not a safetensors file"}));
    data_start_ = 8 + header_length;
    data_size_ = file_size - data_start_;
    std::string header(header_length, '\0');
    read_exactly(8, reinterpret_cast<unsigned char*>(header.data()), header.size(), "");
    parse_header(header);
  }

  const std::filesystem::path& file() const { return file_; }
  /// The "__metadata__" strings (empty if the file has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  /// Every tensor in the file, by name.
  const std::map<std::string, tensor_info>& tensors() const { return tensors_; }
  /// The tensor `name`, or nullptr.
  const tensor_info* find(const std::string& name) const {
    const auto found = tensors_.find(name);
    return found == tensors_.end() ? nullptr : &found->second;
  }

  /// Reads the rank-2 tensor `name` into a rows x cols matrix (converting F32 <-> F64 when the
  /// file's dtype differs from Scalar, as torch's load_state_dict does).
  template <class Scalar>
  matrix<Scalar> read_matrix(const std::string& name) const {
    static_cast<void>(dtype_of<Scalar>());
    const tensor_info* tensor = find(name);
    if (!tensor) detail::fail_read(file_, name, "the file has no such tensor");
    if (tensor->shape.size() != 2)
      detail::fail_read(file_, name,
                        detail::cat({"has shape ", detail::shape_string(tensor->shape),
                                     " but a matrix [rows, cols] was expected"}));
    constexpr auto max_extent = std::uint64_t(std::numeric_limits<Eigen::Index>::max());
    if (tensor->shape[0] > max_extent || tensor->shape[1] > max_extent)
      detail::fail_read(
          file_, name,
          detail::cat({"shape ", detail::shape_string(tensor->shape), " is too large"}));
    const auto rows = static_cast<Eigen::Index>(tensor->shape[0]);
    const auto cols = static_cast<Eigen::Index>(tensor->shape[1]);
    matrix<Scalar> m(rows, cols);
    if (tensor->type == dtype::f32)
      read_row_major<float>(*tensor, m);
    else
      read_row_major<double>(*tensor, m);
    return m;
  }

 private:
  void read_exactly(std::uint64_t offset, unsigned char* out, std::size_t count,
                    std::string_view tensor) const {
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(reinterpret_cast<char*>(out), static_cast<std::streamsize>(count));
    if (!in_ || static_cast<std::size_t>(in_.gcount()) != count)
      detail::fail_read(
          file_, tensor,
          detail::cat({"reading ", detail::number(count), " bytes at offset ",
                       detail::number(offset),
                       " failed (was the file truncated or replaced while it was read?)"}));
  }

  /// Reads the file's row-major elements of type Stored into the column-major m, chunk by chunk.
  template <class Stored, class Scalar>
  void read_row_major(const tensor_info& tensor, matrix<Scalar>& m) const {
    const std::size_t per_chunk = detail::chunk_bytes / sizeof(Stored);
    std::vector<unsigned char> buffer(std::min<std::uint64_t>(per_chunk, tensor.element_count()) *
                                      sizeof(Stored));
    const std::uint64_t total = tensor.element_count();
    Eigen::Index r = 0, c = 0;
    for (std::uint64_t first = 0; first < total; first += per_chunk) {
      const std::size_t count = std::min<std::uint64_t>(per_chunk, total - first);
      read_exactly(data_start_ + tensor.begin + first * sizeof(Stored), buffer.data(),
                   count * sizeof(Stored), tensor.name);
      for (std::size_t i = 0; i < count; ++i) {
        m(r, c) = static_cast<Scalar>(
            detail::load_little_endian<Stored>(buffer.data() + i * sizeof(Stored)));
        if (++c == m.cols()) c = 0, ++r;
      }
    }
  }

  void parse_header(const std::string& header) {
    if (header.empty() || header.front() != '{')
      detail::fail_read(file_, "",
                        "the header does not start with '{'; this is not a safetensors file");
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(header, duplicate_key_check());
    } catch (const std::exception& error) {  // nlohmann's errors and the duplicate-key check's
      detail::fail_read(file_, "",
                        detail::cat({"the header is not valid JSON (", error.what(),
                                     "); the file is corrupt or not a safetensors file"}));
    }
    if (!json.is_object()) detail::fail_read(file_, "", "the header is JSON but not an object");
    for (auto entry = json.begin(); entry != json.end(); ++entry) {
      const std::string& name = entry.key();
      const nlohmann::json& value = entry.value();
      if (name == "__metadata__")
        parse_metadata(value);
      else
        tensors_.emplace(name, parse_tensor(name, value));
    }
    check_tiling();
  }

  /// nlohmann::json keeps the last of two equal keys; a file with two entries for one tensor
  /// is corrupt, so the parse callback rejects them (one key set per open object).
  static nlohmann::json::parser_callback_t duplicate_key_check() {
    auto open_objects = std::make_shared<std::vector<std::set<std::string>>>();
    return [open_objects](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
      using event_t = nlohmann::json::parse_event_t;
      if (event == event_t::object_start) open_objects->emplace_back();
      if (event == event_t::object_end) open_objects->pop_back();
      if (event == event_t::key &&
          !open_objects->back().insert(parsed.get_ref<const std::string&>()).second)
        throw std::runtime_error(detail::cat({"the key \"", parsed.get_ref<const std::string&>(),
                                              "\" appears twice in one object"}));
      return true;
    };
  }

  void parse_metadata(const nlohmann::json& value) {
    if (!value.is_object()) detail::fail_read(file_, "", "\"__metadata__\" is not a JSON object");
    for (auto entry = value.begin(); entry != value.end(); ++entry) {
      const std::string& key = entry.key();
      const nlohmann::json& text = entry.value();
      if (!text.is_string())
        detail::fail_read(
            file_, "",
            detail::cat({"metadata \"", key, "\" is a JSON ", text.type_name(),
                         ", not a string (safetensors metadata maps strings to strings)"}));
      metadata_[key] = text.get_ref<const std::string&>();
    }
  }

  tensor_info parse_tensor(const std::string& name, const nlohmann::json& value) const {
    if (!value.is_object()) detail::fail_read(file_, name, "its header entry is not a JSON object");
    const auto field = [&](const char* key) -> const nlohmann::json& {
      const auto found = value.find(key);
      if (found == value.end())
        detail::fail_read(file_, name, detail::cat({"its header entry has no \"", key, "\""}));
      return *found;
    };
    tensor_info tensor;
    tensor.name = name;
    const auto& type = field("dtype");
    const std::string_view type_text =
        type.is_string() ? std::string_view(type.get_ref<const std::string&>()) : "";
    if (type_text == "F32")
      tensor.type = dtype::f32;
    else if (type_text == "F64")
      tensor.type = dtype::f64;
    else if (!type.is_string())
      detail::fail_read(file_, name,
                        detail::cat({"\"dtype\" is a JSON ", type.type_name(), ", not a string"}));
    else
      detail::fail_read(file_, name,
                        detail::cat({"dtype \"", type_text,
                                     "\" is not supported; agd reads F32 and F64 (convert the "
                                     "tensor, e.g. with tensor.float(), before saving)"}));
    const auto unsigned_list = [&](const char* key) {
      const auto& list = field(key);
      if (!list.is_array())
        detail::fail_read(file_, name,
                          detail::cat({"\"", key, "\" is a JSON ", list.type_name(),
                                       ", not a list of non-negative integers"}));
      std::vector<std::uint64_t> numbers;
      for (const auto& element : list) {
        if (!element.is_number_unsigned())
          detail::fail_read(file_, name,
                            detail::cat({"element ", detail::number(numbers.size() + 1), " of \"",
                                         key, "\" is not a non-negative integer"}));
        numbers.push_back(element.get<std::uint64_t>());
      }
      return numbers;
    };
    tensor.shape = unsigned_list("shape");
    const auto offsets = unsigned_list("data_offsets");
    if (offsets.size() != 2 || offsets[0] > offsets[1])
      detail::fail_read(file_, name,
                        detail::cat({"\"data_offsets\" is ", detail::shape_string(offsets),
                                     ", not [begin, end] with begin <= end"}));
    tensor.begin = offsets[0];
    tensor.end = offsets[1];
    if (tensor.end > data_size_)
      detail::fail_read(file_, name,
                        detail::cat({"\"data_offsets\" ", detail::offsets_string(tensor),
                                     " run past the end of the data (", detail::number(data_size_),
                                     " bytes after the header); the file is truncated or "
                                     "corrupt"}));
    std::uint64_t bytes = dtype_size(tensor.type);
    for (auto extent : tensor.shape) {
      if (extent != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / extent)
        detail::fail_read(
            file_, name,
            detail::cat({"shape ", detail::shape_string(tensor.shape), " overflows 64 bits"}));
      bytes *= extent;
    }
    if (bytes != tensor.end - tensor.begin)
      detail::fail_read(file_, name,
                        detail::cat({"shape ", detail::shape_string(tensor.shape), " of ",
                                     dtype_name(tensor.type), " needs ", detail::number(bytes),
                                     " bytes but \"data_offsets\" ", detail::offsets_string(tensor),
                                     " hold ", detail::number(tensor.end - tensor.begin)}));
    return tensor;
  }

  /// The tensors must tile the data section: no overlap, no gap, nothing after the last one
  /// (the format's rule; a hole or an overlap means a corrupt or hand-edited file).
  void check_tiling() const {
    std::vector<const tensor_info*> by_offset;
    for (const auto& [name, tensor] : tensors_) by_offset.push_back(&tensor);
    std::sort(by_offset.begin(), by_offset.end(), [](const auto* a, const auto* b) {
      return std::pair(a->begin, a->end) < std::pair(b->begin, b->end);
    });
    std::uint64_t covered = 0;
    const tensor_info* previous = nullptr;
    for (const auto* tensor : by_offset) {
      if (tensor->begin < covered)
        detail::fail_read(
            file_, tensor->name,
            detail::cat({"its bytes ", detail::offsets_string(*tensor),
                         " overlap those of tensor '", previous->name, "' ",
                         detail::offsets_string(*previous), "; the file is corrupt"}));
      if (tensor->begin > covered)
        detail::fail_read(
            file_, tensor->name,
            detail::cat({"bytes [", detail::number(covered), ", ", detail::number(tensor->begin),
                         ") of the data, before this tensor, belong to no tensor; "
                         "the file is corrupt"}));
      covered = tensor->end;
      previous = tensor;
    }
    if (covered != data_size_)
      detail::fail_read(file_, "",
                        detail::cat({"the last ", detail::number(data_size_ - covered),
                                     " bytes of the file belong to no tensor (the data section is ",
                                     detail::number(data_size_), " bytes, the tensors cover ",
                                     detail::number(covered), "); the file is corrupt"}));
  }

  std::filesystem::path file_;
  mutable std::ifstream in_;
  std::uint64_t data_start_ = 0;
  std::uint64_t data_size_ = 0;
  std::map<std::string, tensor_info> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace agd::io
