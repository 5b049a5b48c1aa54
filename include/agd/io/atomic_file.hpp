// Writing a file so that it is always whole on disk: the bytes go to a temporary file of a
// name no other writer uses, in the target's directory (rename is atomic only within one file
// system); commit() flushes it, fsyncs it, renames it over the target and fsyncs the directory
// so that the rename itself survives a power cut. Until commit() succeeds the target is
// untouched, and the destructor removes the temporary, so a failure leaves nothing behind. A
// process killed midway cannot remove its temporary; the next write of the same file removes
// it (detail::remove_orphaned_temporaries).
//
// The target is checked first (agd/core/file_checks.hpp): symbolic links are followed, so the
// file a link points to is replaced and the link stays; a directory, device, FIFO or socket is
// refused rather than replaced by a regular file. A replaced file keeps its permissions.
#pragma once

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agd/core/file_checks.hpp"

namespace agd::io {

/// A file could not be written. The message names the file, the problem and what to do, and
/// says that the previous file, if any, is unchanged.
class write_error : public file_error {
 public:
  using file_error::file_error;
};

namespace testing {
/// Fault injection for tests, not for production code: when set, every atomic write on this
/// thread calls it after each chunk that reaches the temporary file, with the number of bytes
/// written so far. A test can throw from it (a failed write) or raise(SIGKILL) (a crash) and
/// check that the previous file survives. thread_local, so a hook set by one test thread never
/// fires in another thread's writes.
inline thread_local std::function<void(std::size_t bytes_written)> after_bytes_written;
}  // namespace testing

namespace detail {

inline std::string error_text(int error_number) {
  return std::generic_category().message(error_number);
}

/// Creates a new temporary file beside `target`, named target + ".tmp.<pid>.<n>" with n unique
/// within the process; O_EXCL makes sure it is a new file, never another writer's. Returns its
/// descriptor (or -1 with errno set) and its path.
inline int create_temporary_beside(const std::filesystem::path& target,
                                   std::filesystem::path& temporary) {
  static std::atomic<unsigned long> counter{0};
  for (;;) {
    temporary = target;
    temporary += ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    const int descriptor = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (descriptor >= 0 || errno != EEXIST) return descriptor;
  }
}

/// Removes what writers of `target` killed midway left beside it: regular files named exactly
/// target + ".tmp.<pid>.<n>" (the names create_temporary_beside makes) whose process no longer
/// exists (kill(pid, 0) fails with ESRCH). Without this every killed run would leave its
/// temporary for good. A live process's temporary (this one's included: another thread may be
/// writing it), another file's, a directory or a link, and any other name are left alone. Best
/// effort: what cannot be listed or removed does not stop the write.
///
/// A PID names a process on this machine only: two machines (or containers with PID
/// namespaces of their own) writing the same file in a shared directory could each take the
/// other's live temporary for an orphan. The writer whose temporary went then fails to rename
/// it and says so; nothing is replaced silently.
inline void remove_orphaned_temporaries(const std::filesystem::path& target) {
  std::filesystem::path directory = target.parent_path();
  if (directory.empty()) directory = ".";
  const std::string prefix = target.filename().string() + ".tmp.";
  const auto all_digits = [](std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
  };
  std::error_code error;
  std::filesystem::directory_iterator entry(directory, error);
  for (; !error && entry != std::filesystem::directory_iterator(); entry.increment(error)) {
    const std::string name = entry->path().filename().string();
    if (!name.starts_with(prefix)) continue;
    const std::string_view rest = std::string_view(name).substr(prefix.size());
    const std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos || !all_digits(rest.substr(0, dot)) ||
        !all_digits(rest.substr(dot + 1)))
      continue;
    long long pid = 0;
    const auto [end, parsed] = std::from_chars(rest.data(), rest.data() + dot, pid);
    if (parsed != std::errc() || pid <= 0 || pid > std::numeric_limits<pid_t>::max() ||
        pid == ::getpid())
      continue;
    // EPERM means the process exists (another user's): only ESRCH says it is gone.
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
    std::error_code status_error;
    if (entry->symlink_status(status_error).type() != std::filesystem::file_type::regular) continue;
    std::error_code ignored;
    std::filesystem::remove(entry->path(), ignored);
  }
}

}  // namespace detail

/// Writes one file atomically (see the top of this file). `what` starts every message, e.g.
/// "agd::io::save_checkpoint".
class atomic_file_writer {
 public:
  atomic_file_writer(const std::filesystem::path& target, std::string what)
      : what_(std::move(what)), requested_(target) {
    try {
      target_ = detail::writable_target(target, what_);
    } catch (const file_error& error) {
      throw write_error(error.what());
    }
    detail::remove_orphaned_temporaries(target_);
    const int descriptor = detail::create_temporary_beside(target_, temporary_);
    const int open_error = errno;
    if (descriptor < 0)
      fail({"cannot create a temporary file beside it (", temporary_.string(), "): ",
            detail::error_text(open_error), " (is the directory writable, is there space?)"});
    file_ = ::fdopen(descriptor, "wb");
    if (!file_) {
      const int fdopen_error = errno;
      ::close(descriptor);
      remove_temporary();
      fail({"cannot open the temporary file: ", detail::error_text(fdopen_error)});
    }
    // A replaced file keeps its permissions (the temporary was created with the umask's).
    std::error_code ignored;
    const auto existing = std::filesystem::status(target_, ignored);
    if (existing.type() == std::filesystem::file_type::regular)
      ::fchmod(descriptor, static_cast<mode_t>(existing.permissions()));
  }
  atomic_file_writer(const atomic_file_writer&) = delete;
  atomic_file_writer& operator=(const atomic_file_writer&) = delete;

  ~atomic_file_writer() {
    if (file_) std::fclose(file_);
    if (!committed_) remove_temporary();
  }

  void write(const void* bytes, std::size_t count) {
    if (count == 0) return;
    if (std::fwrite(bytes, 1, count, file_) != count) {
      const int write_error_number = errno;
      fail({"writing the temporary file ", temporary_.string(), " failed after ",
            std::to_string(written_), " bytes: ", detail::error_text(write_error_number),
            " (is the disk full?)"});
    }
    written_ += count;
    if (testing::after_bytes_written) testing::after_bytes_written(written_);
  }
  void write(std::string_view text) { write(text.data(), text.size()); }

  void commit() {
    // errno is read at once: building the message may allocate, which may change it.
    if (std::fflush(file_) != 0) {
      const int flush_error = errno;
      fail({"flushing the temporary file failed: ", detail::error_text(flush_error),
            " (is the disk full?)"});
    }
    if (::fsync(::fileno(file_)) != 0) {
      const int sync_error = errno;
      fail({"fsync of the temporary file failed: ", detail::error_text(sync_error)});
    }
    const int closed = std::fclose(file_);
    const int close_error = errno;
    file_ = nullptr;
    if (closed != 0) fail({"closing the temporary file failed: ", detail::error_text(close_error)});
    std::error_code error;
    std::filesystem::rename(temporary_, target_, error);
    if (error) fail({"cannot rename the temporary file over it: ", error.message()});
    committed_ = true;
    sync_directory();
  }

  std::size_t bytes_written() const { return written_; }
  /// The file written: the requested path with symbolic links followed.
  const std::filesystem::path& target() const { return target_; }
  const std::filesystem::path& temporary() const { return temporary_; }

 private:
  [[noreturn]] void fail(std::initializer_list<std::string_view> problem) const {
    std::string message = what_ + ": cannot write '" + requested_.string() + "'";
    if (target_ != requested_) message += " (the file '" + target_.string() + "' it links to)";
    message += ": ";
    for (const auto part : problem) message += part;
    throw write_error(message + "; the previous file, if any, is unchanged");
  }

  void remove_temporary() const {
    std::error_code ignored;
    if (!temporary_.empty()) std::filesystem::remove(temporary_, ignored);
  }

  /// The new file is in place once rename() returns; the directory fsync only makes the rename
  /// durable. File systems that cannot fsync a directory say EINVAL, which is no error here.
  void sync_directory() const {
    std::filesystem::path directory = target_.parent_path();
    if (directory.empty()) directory = ".";
    const int descriptor = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (descriptor < 0) return;  // nothing to sync through; the rename has happened
    const int synced = ::fsync(descriptor);
    const int sync_error = errno;
    ::close(descriptor);
    if (synced != 0 && sync_error != EINVAL)
      throw write_error(
          what_ + ": '" + target_.string() +
          "' was written, but syncing its directory failed: " + detail::error_text(sync_error) +
          "; the file may not survive a power cut, write it again");
  }

  std::string what_;
  std::filesystem::path requested_;
  std::filesystem::path target_;
  std::filesystem::path temporary_;
  std::FILE* file_ = nullptr;
  std::size_t written_ = 0;
  bool committed_ = false;
};

/// Checks now, before any long work, that `target` could be written by atomic_file_writer: the
/// path resolves to a regular file or nothing, in a directory where a temporary file can be
/// created (one is created and removed). Throws write_error saying what is wrong.
inline void check_writable(const std::filesystem::path& target, const std::string& what) {
  atomic_file_writer probe(target, what);
}

}  // namespace agd::io
