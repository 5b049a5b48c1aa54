// Reading a data set of your own from a CSV file: one sample per line, its features as numbers
// and its class label (an integer from 0) in one column, the last by default.
//
//   agd::data::dataset data = agd::data::load_csv("iris.csv");                // label last
//   auto other = agd::data::load_csv("d.csv", {.label_column = 0, .delimiter = ';'});
//
// A first line none of whose fields is a number is taken as a header and skipped (or say so
// with `header`); a first line of numbers with one bad field is a damaged sample and an error,
// never silently dropped as a header. A UTF-8 byte-order mark at the start is skipped. Lines end
// with \n, \r\n or a lone \r (old Mac files); empty lines are ignored; fields may have spaces
// around them; quoted fields are not supported (the values are numbers).
//
// Checked like the IDX reader checks its files, trusting nothing: every line has as many fields
// as the first; every feature is a finite number and nothing else (no trailing text; a number
// too small for a float becomes 0 or a denormal, as a float conversion makes it, one too large
// is an error); every label is a whole non-negative number below `classes`. Every error is a
// dataset_error naming the file, the line, the column, what is there and what to do.
#pragma once

#include <Eigen/Core>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "agd/core/file_checks.hpp"
#include "agd/data/dataset.hpp"
#include "agd/data/file_bytes.hpp"

namespace agd::data {

struct csv_options {
  /// The column of the class label, 0-based; negative counts from the end (-1: the last).
  int label_column = -1;
  enum class header_line { detect, yes, no };
  /// detect: the first line is a header if any of its fields is not a number.
  header_line header = header_line::detect;
  char delimiter = ',';
  /// The number of classes; 0 takes one more than the largest label.
  int classes = 0;
};

namespace detail {

inline std::string_view trim_spaces(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

/// Splits one line into its fields (views into the line).
inline void split_fields(std::string_view line, char delimiter,
                         std::vector<std::string_view>& out) {
  out.clear();
  for (;;) {
    const std::size_t at = line.find(delimiter);
    out.push_back(trim_spaces(line.substr(0, at)));
    if (at == std::string_view::npos) return;
    line.remove_prefix(at + 1);
  }
}

/// Whether a field that std::from_chars matched whole but found outside a float's range is
/// below 1 in magnitude (so it underflows to zero) rather than above (so it overflows). Counts
/// where the first significant digit stands, with the exponent; saturating, so that no length
/// of digits or exponent can overflow the count.
inline bool magnitude_below_one(std::string_view field) {
  std::size_t at = 0;
  if (at < field.size() && (field[at] == '-' || field[at] == '+')) ++at;
  bool found = false;            // a nonzero digit
  long long integer_digits = 0;  // from the first nonzero one
  for (; at < field.size() && field[at] >= '0' && field[at] <= '9'; ++at) {
    if (found || field[at] != '0') {
      found = true;
      integer_digits = std::min(integer_digits + 1, 1'000'000'000LL);
    }
  }
  // The power of ten of the first nonzero digit, before the exponent.
  long long order = integer_digits - 1;
  if (at < field.size() && field[at] == '.') {
    ++at;
    for (long long place = 1; at < field.size() && field[at] >= '0' && field[at] <= '9'; ++at) {
      if (!found && field[at] != '0') {
        found = true;
        order = -place;
      }
      place = std::min(place + 1, 1'000'000'000LL);
    }
  }
  long long exponent = 0;
  if (at < field.size() && (field[at] == 'e' || field[at] == 'E')) {
    ++at;
    const bool negative = at < field.size() && field[at] == '-';
    if (at < field.size() && (field[at] == '-' || field[at] == '+')) ++at;
    for (; at < field.size() && field[at] >= '0' && field[at] <= '9'; ++at)
      exponent = std::min(exponent * 10 + (field[at] - '0'), 1'000'000'000'000LL);
    if (negative) exponent = -exponent;
  }
  return order + exponent < 0;
}

enum class number_status { ok, not_a_number, too_large };

/// The whole field as a float. A number too small for a float is 0 or a denormal, as a
/// float conversion makes it (std::from_chars calls a result that rounds to zero out of range,
/// but it is what the number is as a float); one too large for a float is too_large.
inline number_status parse_float(std::string_view field, float& value) {
  if (!field.empty() && field.front() == '+') field.remove_prefix(1);  // from_chars refuses '+'
  if (field.empty()) return number_status::not_a_number;
  const char* const end = field.data() + field.size();
  const auto [stop, error] = std::from_chars(field.data(), end, value);
  if (stop != end || (error != std::errc() && error != std::errc::result_out_of_range))
    return number_status::not_a_number;
  if (error == std::errc()) return number_status::ok;
  if (!magnitude_below_one(field)) return number_status::too_large;
  value = field.front() == '-' ? -0.0f : 0.0f;  // below half the smallest denormal
  return number_status::ok;
}

/// The field shown in a message: quoted, and cut if long.
inline std::string shown_field(std::string_view field) {
  std::string text(field.substr(0, 40));
  if (field.size() > 40) text += "...";
  return "\"" + text + "\"";
}

}  // namespace detail

/// Parses CSV text (the contents of the file `name`, for messages) into a data set.
inline dataset parse_csv(std::string_view text, const csv_options& options = {},
                         const std::string& name = "<memory>") {
  auto fail = [&](std::size_t line, const std::string& problem) -> dataset_error {
    return dataset_error("agd: cannot read CSV file '" + name + "'" +
                         (line ? ": line " + std::to_string(line) : std::string()) + ": " +
                         problem);
  };
  if (options.delimiter == '\n' || options.delimiter == '\r' || options.delimiter == '"' ||
      options.delimiter == '\0')
    throw fail(0, "the delimiter cannot be a newline, a quote or NUL");
  if (options.classes < 0) throw fail(0, "csv_options::classes is negative");

  // A UTF-8 byte-order mark is an encoding marker, not text: left in, it would turn the first
  // field into something that is not a number and the first sample into a "header".
  constexpr std::string_view utf8_mark = "\xEF\xBB\xBF";
  if (text.starts_with(utf8_mark)) text.remove_prefix(utf8_mark.size());
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
    throw fail(0,
               "it starts with a UTF-16 byte-order mark, so it is UTF-16 text; save it as "
               "UTF-8 (or ASCII) and read it again");

  dataset data;
  std::vector<float> values;  // row-major, one sample after another
  std::vector<std::string_view> fields;
  std::size_t columns = 0;  // fields per line, fixed by the first line
  std::size_t label_at = 0;
  std::size_t line_number = 0;
  bool first_line = true;
  std::int32_t largest_label = -1;
  while (!text.empty()) {
    // A line ends at \n, \r\n or a lone \r: files from every platform, none read as one line.
    const std::size_t end = text.find_first_of("\r\n");
    std::string_view line = text.substr(0, end);
    std::size_t line_end_bytes = 0;
    if (end != std::string_view::npos)
      line_end_bytes = text[end] == '\r' && end + 1 < text.size() && text[end + 1] == '\n' ? 2 : 1;
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + line_end_bytes);
    ++line_number;
    if (detail::trim_spaces(line).empty()) continue;
    detail::split_fields(line, options.delimiter, fields);
    // On the first line, say how to declare a header: a detected one needs every field to be
    // something other than a number, and this line has numbers.
    const std::string header_hint =
        first_line && options.header == csv_options::header_line::detect
            ? "; if line " + std::to_string(line_number) +
                  " is a header, say so with csv_options::header = header_line::yes"
            : std::string();
    if (first_line) {
      first_line = false;
      columns = fields.size();
      if (columns < 2)
        throw fail(line_number, "it has " + std::to_string(columns) +
                                    " field; a sample needs at least one feature and a label (is "
                                    "the delimiter '" +
                                    std::string(1, options.delimiter) + "' right?)");
      const long long column = options.label_column < 0
                                   ? static_cast<long long>(columns) + options.label_column
                                   : options.label_column;
      if (column < 0 || column >= static_cast<long long>(columns))
        throw fail(line_number, "label column " + std::to_string(options.label_column) +
                                    " does not exist in a line of " + std::to_string(columns) +
                                    " fields");
      label_at = static_cast<std::size_t>(column);
      // Detected only when no field is a number: a line of numbers with one bad field is a
      // damaged sample, which must be reported, not dropped as a header.
      bool header = options.header == csv_options::header_line::yes;
      if (options.header == csv_options::header_line::detect) {
        header = true;
        float ignored = 0;
        for (const auto field : fields)
          header =
              header && detail::parse_float(field, ignored) == detail::number_status::not_a_number;
      }
      if (header) continue;
    }
    if (fields.size() != columns)
      throw fail(line_number, "it has " + std::to_string(fields.size()) +
                                  " fields but the first line has " + std::to_string(columns) +
                                  "; every sample needs the same features (a truncated or "
                                  "damaged file?)");
    for (std::size_t c = 0; c < columns; ++c) {
      const std::string_view field = fields[c];
      const std::string column = std::to_string(c + 1);
      if (c == label_at) {
        std::int32_t label = 0;
        const auto [end_of_label, error] =
            std::from_chars(field.data(), field.data() + field.size(), label);
        const bool whole = !field.empty() && end_of_label == field.data() + field.size();
        if (whole && error == std::errc::result_out_of_range)
          throw fail(line_number,
                     "the label (column " + column + ") is " + detail::shown_field(field) +
                         ", too large for a class index (at most 2147483646); is the label "
                         "column right (csv_options::label_column)?" +
                         header_hint);
        if (!whole || error != std::errc() || label < 0)
          throw fail(line_number, "the label (column " + column + ") is " +
                                      detail::shown_field(field) +
                                      ", not a class index (a whole number from 0); is the "
                                      "label column right (csv_options::label_column)?" +
                                      header_hint);
        if (options.classes > 0 && label >= options.classes)
          throw fail(line_number, "the label is " + std::to_string(label) + ", but there are " +
                                      std::to_string(options.classes) + " classes (0.." +
                                      std::to_string(options.classes - 1) + "): column " + column +
                                      " holds a class the data set should not have, or "
                                      "csv_options::classes is too small");
        // Without `classes` the class count is one more than the largest label, which must
        // itself be an int.
        if (options.classes == 0 && label == std::numeric_limits<std::int32_t>::max())
          throw fail(line_number, "the label (column " + column + ") is " + std::to_string(label) +
                                      ", so the classes would number one more, which no int "
                                      "holds; is the label column right "
                                      "(csv_options::label_column)? Otherwise set "
                                      "csv_options::classes");
        largest_label = std::max(largest_label, label);
        data.labels.push_back(label);
        continue;
      }
      float value = 0;
      const detail::number_status status = detail::parse_float(field, value);
      if (status == detail::number_status::not_a_number)
        throw fail(line_number, "column " + column + " is " + detail::shown_field(field) +
                                    ", not a number (features must be numbers; a header is "
                                    "allowed only on the first line" +
                                    header_hint + ")");
      if (status == detail::number_status::too_large)
        throw fail(line_number, "column " + column + " is " + detail::shown_field(field) +
                                    ", a number too large for a float (the largest is about "
                                    "3.4e38); rescale that feature in the file");
      if (!std::isfinite(value))
        throw fail(line_number, "column " + column + " is " + detail::shown_field(field) +
                                    "; the network can only learn from finite numbers: fix or "
                                    "drop the sample");
      values.push_back(value);
    }
  }
  if (data.labels.empty()) throw fail(0, "it holds no samples (an empty file, or a header alone)");
  data.classes = options.classes > 0 ? options.classes : largest_label + 1;
  const auto features = static_cast<Eigen::Index>(columns - 1);
  data.inputs = Eigen::Map<const Eigen::MatrixXf>(values.data(), features,
                                                  static_cast<Eigen::Index>(data.labels.size()));
  return data;
}

/// Reads a CSV file of samples (see the top of this file). Throws dataset_error naming the
/// file, and the line and column where one is at fault.
inline dataset load_csv(const std::filesystem::path& file, const csv_options& options = {}) {
  try {
    io::detail::check_readable_regular_file(file, "agd: cannot read CSV file");
  } catch (const io::file_error& error) {
    throw dataset_error(error.what());
  }
  std::FILE* stream = std::fopen(file.c_str(), "rb");
  if (stream == nullptr) {
    const int open_errno = errno;
    throw dataset_error("agd: cannot read CSV file '" + file.string() +
                        "': " + std::generic_category().message(open_errno) +
                        "; check that the path is right and readable");
  }
  std::vector<std::uint8_t> bytes;
  const int read_errno = detail::append_stream_bytes(stream, bytes);
  std::fclose(stream);
  if (read_errno != 0)
    throw dataset_error("agd: cannot read CSV file '" + file.string() +
                        "': read failed: " + std::generic_category().message(read_errno));
  return parse_csv(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                   options, file.string());
}

}  // namespace agd::data
