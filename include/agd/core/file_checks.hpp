// What is at a path, checked before agd opens it: a reader must not block forever in open() on
// a FIFO, and a writer that replaces files by rename must not turn /dev/null or a named pipe
// into a regular file, nor replace a symbolic link instead of the file it points to.
//
// Every function throws agd::io::file_error (a std::runtime_error) whose message starts with
// the caller's `what` (e.g. "agd::io::save_checkpoint: cannot write 'run.safetensors'") and says
// what is at the path and what to do.
#pragma once

#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace agd::io {

/// A path names something agd cannot read or write: a directory, a device, a FIFO, a symbolic
/// link loop, a missing directory.
class file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace detail {

/// "a directory", "a FIFO (named pipe)", ...: what a non-regular file is, for messages.
inline std::string_view describe_file_type(std::filesystem::file_type type) {
  using std::filesystem::file_type;
  switch (type) {
    case file_type::directory:
      return "a directory";
    case file_type::fifo:
      return "a FIFO (named pipe)";
    case file_type::character:
      return "a character device";
    case file_type::block:
      return "a block device";
    case file_type::socket:
      return "a socket";
    case file_type::symlink:
      return "a symbolic link";
    case file_type::regular:
      return "a regular file";
    default:
      return "not a regular file";
  }
}

/// Follows `path` through symbolic links (a chain of them too) to the path they end at, which
/// need not exist yet: writing through a link updates the file it points to and keeps the link.
/// Throws file_error on a loop of links or a link that cannot be read.
inline std::filesystem::path follow_symlinks(const std::filesystem::path& path,
                                             std::string_view what) {
  // Linux gives up after 40 links (ELOOP); so do we.
  constexpr int max_links = 40;
  std::filesystem::path current = path;
  for (int followed = 0;; ++followed) {
    std::error_code error;
    const auto status = std::filesystem::symlink_status(current, error);
    if (error || status.type() != std::filesystem::file_type::symlink) return current;
    if (followed == max_links)
      throw file_error(std::string(what) + ": '" + path.string() +
                       "' is a loop of symbolic links (or a chain of more than 40); point it at "
                       "a file");
    const std::filesystem::path link = std::filesystem::read_symlink(current, error);
    if (error)
      throw file_error(std::string(what) + ": cannot read the symbolic link '" + current.string() +
                       "': " + error.message());
    current = link.is_absolute() ? link : current.parent_path() / link;
  }
}

/// For a reader: `file` must exist and be a regular file (after symbolic links). Returns false
/// if nothing is there, when `missing_is_ok`; otherwise a missing file is an error too.
inline bool check_readable_regular_file(const std::filesystem::path& file, std::string_view what,
                                        bool missing_is_ok = false) {
  std::error_code error;
  const auto status = std::filesystem::status(file, error);
  if (error && error.value() == ELOOP)
    throw file_error(std::string(what) + ": '" + file.string() +
                     "' is a loop of symbolic links; point it at a file");
  if (status.type() == std::filesystem::file_type::not_found) {
    if (missing_is_ok) return false;
    throw file_error(std::string(what) + ": '" + file.string() +
                     "' does not exist; check the path");
  }
  if (error)
    throw file_error(std::string(what) + ": cannot examine '" + file.string() +
                     "': " + error.message());
  if (status.type() != std::filesystem::file_type::regular)
    throw file_error(std::string(what) + ": '" + file.string() + "' is " +
                     std::string(describe_file_type(status.type())) +
                     ", not a regular file; agd reads only regular files (a FIFO or a device "
                     "would block or never end), so pass the path of a file");
  return true;
}

/// For a writer that replaces `target` by rename: follows symbolic links and returns the path
/// to write, which is absent or a regular file, in a directory that exists. Anything else at
/// the path is refused rather than replaced.
inline std::filesystem::path writable_target(const std::filesystem::path& target,
                                             std::string_view what) {
  if (target.empty()) throw file_error(std::string(what) + ": the path is empty");
  const std::filesystem::path resolved = follow_symlinks(target, what);
  const std::string via = resolved == target
                              ? std::string()
                              : " (where the symbolic link '" + target.string() + "' points)";
  std::error_code error;
  const auto status = std::filesystem::status(resolved, error);
  if (status.type() != std::filesystem::file_type::not_found) {
    if (error)
      throw file_error(std::string(what) + ": cannot examine '" + resolved.string() + "'" + via +
                       ": " + error.message());
    if (status.type() != std::filesystem::file_type::regular)
      throw file_error(std::string(what) + ": '" + resolved.string() + "'" + via + " is " +
                       std::string(describe_file_type(status.type())) +
                       ", not a regular file; agd writes files whole by replacing them "
                       "atomically, which it does only to regular files, so nothing was written: "
                       "pass the path of a file");
  }
  std::filesystem::path directory = resolved.parent_path();
  if (directory.empty()) directory = ".";
  const auto directory_status = std::filesystem::status(directory, error);
  if (directory_status.type() != std::filesystem::file_type::directory)
    throw file_error(std::string(what) + ": '" + resolved.string() + "'" + via +
                     ": the directory '" + directory.string() +
                     (directory_status.type() == std::filesystem::file_type::not_found
                          ? "' does not exist; create it first"
                          : "' is not a directory"));
  return resolved;
}

}  // namespace detail
}  // namespace agd::io
