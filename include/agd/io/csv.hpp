// A CSV file that is always whole on disk: every save() writes the full table through an
// atomic_file_writer (agd/io/atomic_file.hpp): a temporary file of its own beside the target,
// flushed and renamed over the target, so a crash or a full disk mid-run leaves the previous
// complete version, never a half-written row, and two runs writing the same path never use
// the same temporary. Symbolic links are followed; anything but a regular file at the path is
// refused.
#pragma once

#include <charconv>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "agd/core/file_checks.hpp"
#include "agd/io/atomic_file.hpp"

namespace agd::io {

class csv_table {
 public:
  csv_table(std::filesystem::path file, std::string header)
      : file_(std::move(file)), header_(std::move(header)) {}

  void add_row(std::string row) {
    rows_.push_back(std::move(row));
    save();
  }

  /// Writes the header and every row; throws write_error (the previous file stays).
  void save() const {
    atomic_file_writer out(file_, "agd: CSV");
    out.write(header_);
    out.write("\n");
    for (const auto& row : rows_) {
      out.write(row);
      out.write("\n");
    }
    out.commit();
  }

  /// Checks now that save() could write the file (agd::io::check_writable), so that a bad path
  /// is reported before a long run rather than after its first epoch.
  void check_writable() const { io::check_writable(file_, "agd: CSV"); }

  /// Takes over the rows of an existing file whose first field (the epoch) is below `epoch`,
  /// for a resumed run. A missing file keeps nothing; a path that is not a regular file (a
  /// FIFO would block the read forever) throws file_error.
  void keep_existing_rows_before(std::size_t epoch) {
    if (!detail::check_readable_regular_file(file_, "agd: CSV", /*missing_is_ok=*/true)) return;
    std::ifstream in(file_);
    if (!in) return;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      const auto comma = line.find(',');
      if (comma == std::string::npos) continue;
      std::size_t row_epoch = 0;
      const auto [end, error] = std::from_chars(line.data(), line.data() + comma, row_epoch);
      // Anything but a whole number before the first comma is not a data row: dropped.
      if (error == std::errc() && end == line.data() + comma && row_epoch < epoch)
        rows_.push_back(line);
    }
  }

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  std::string header_;
  std::vector<std::string> rows_;
};

}  // namespace agd::io
