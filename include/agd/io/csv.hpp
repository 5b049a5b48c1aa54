// A CSV file that is always whole on disk: every save() writes the full table to a temporary
// file beside the target, flushes it and renames it over the target, so a crash or a full disk
// mid-run leaves the previous complete version, never a half-written row.
#pragma once

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace agd::io {

class csv_table {
 public:
  csv_table(std::filesystem::path file, std::string header)
      : file_(std::move(file)), header_(std::move(header)) {}

  void add_row(std::string row) {
    rows_.push_back(std::move(row));
    save();
  }

  void save() const {
    if (file_.has_parent_path() && !std::filesystem::exists(file_.parent_path()))
      throw std::runtime_error("agd: cannot write CSV '" + file_.string() + "': directory '" +
                               file_.parent_path().string() + "' does not exist");
    std::filesystem::path temporary = file_;
    temporary += ".tmp";
    {
      std::ofstream out(temporary, std::ios::trunc);
      if (!out)
        throw std::runtime_error("agd: cannot write CSV '" + temporary.string() +
                                 "': " + std::strerror(errno));
      out << header_ << '\n';
      for (const auto& row : rows_) out << row << '\n';
      out.flush();
      if (!out)
        throw std::runtime_error("agd: writing CSV '" + temporary.string() +
                                 "' failed (disk full?): " + std::strerror(errno));
    }
    std::error_code error;
    std::filesystem::rename(temporary, file_, error);
    if (error)
      throw std::runtime_error("agd: cannot move '" + temporary.string() + "' to '" +
                               file_.string() + "': " + error.message());
  }

  /// Takes over the rows of an existing file whose first field (the epoch) is below `epoch`,
  /// for a resumed run. A missing file keeps nothing.
  void keep_existing_rows_before(std::size_t epoch) {
    std::ifstream in(file_);
    if (!in) return;
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      const auto comma = line.find(',');
      if (comma == std::string::npos) continue;
      try {
        if (std::stoull(line.substr(0, comma)) < epoch) rows_.push_back(line);
      } catch (const std::exception&) {
        // not a data row: drop it
      }
    }
  }

  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  std::string header_;
  std::vector<std::string> rows_;
};

}  // namespace agd::io
