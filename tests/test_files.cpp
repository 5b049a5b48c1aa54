// What agd does with the paths it writes and reads (agd/io/file_checks.hpp, atomic_file.hpp,
// csv.hpp): anything but a regular file is refused rather than replaced or waited on, symbolic
// links are followed, every write has a temporary of its own that never outlives a failure, and
// a replaced file keeps its permissions.
#include <agd/io/atomic_file.hpp>
#include <agd/io/csv.hpp>
#include <agd/io/safetensors.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

fs::path make_fifo(const fs::path& path) {
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  return path;
}

}  // namespace

TEST_CASE("files: a FIFO, a directory or a device is refused as a write target and left as it is",
          "[files]") {
  agd_test::scratch_dir dir("agd_files");
  const fs::path fifo = make_fifo(dir.path / "run.csv");
  agd::io::csv_table table(fifo, "epoch,loss");
  CHECK_THROWS_WITH(table.add_row("1,0.5"),
                    Catch::Contains("'" + fifo.string() +
                                    "' is a FIFO (named pipe), not a regular "
                                    "file") &&
                        Catch::Contains("nothing was written"));
  CHECK(fs::is_fifo(fs::symlink_status(fifo)));
  CHECK_THROWS_WITH(table.check_writable(), Catch::Contains("FIFO"));

  CHECK_THROWS_AS(agd::io::check_writable(dir.path, "test"), agd::io::write_error);
  CHECK_THROWS_WITH(agd::io::check_writable(dir.path, "test"), Catch::Contains("is a directory"));
  // A probe only: it never renames anything, so it is safe to point at a device.
  CHECK_THROWS_WITH(agd::io::check_writable("/dev/null", "--checkpoint"),
                    Catch::StartsWith("--checkpoint: '/dev/null' is a character device"));
  CHECK_THROWS_WITH(
      agd::io::check_writable(dir.path / "no" / "run.csv", "--csv"),
      Catch::Contains("the directory '" + (dir.path / "no").string() + "' does not exist"));
  CHECK(names_in(dir.path) == std::vector<std::string>{"run.csv"});  // no temporaries left
}

TEST_CASE("files: writes follow symbolic links, a chain or a dangling one, and keep them",
          "[files]") {
  agd_test::scratch_dir dir("agd_files");
  const fs::path real = dir.path / "real.csv";
  write_text(real, "old\n");
  fs::create_symlink("link2.csv", dir.path / "link1.csv");
  fs::create_symlink(real, dir.path / "link2.csv");
  agd::io::csv_table table(dir.path / "link1.csv", "epoch,loss");
  table.add_row("1,0.5");
  CHECK(fs::is_symlink(dir.path / "link1.csv"));
  CHECK(fs::is_symlink(dir.path / "link2.csv"));
  CHECK(read_file(real) == "epoch,loss\n1,0.5\n");

  fs::create_symlink("new.csv", dir.path / "dangling.csv");
  agd::io::csv_table(dir.path / "dangling.csv", "h").save();
  CHECK(fs::is_symlink(dir.path / "dangling.csv"));
  CHECK(read_file(dir.path / "new.csv") == "h\n");

  fs::create_symlink("loop_b.csv", dir.path / "loop_a.csv");
  fs::create_symlink("loop_a.csv", dir.path / "loop_b.csv");
  CHECK_THROWS_WITH(agd::io::csv_table(dir.path / "loop_a.csv", "h").save(),
                    Catch::Contains("is a loop of symbolic links"));
  CHECK(fs::is_symlink(dir.path / "loop_a.csv"));
}

TEST_CASE("files: two writers of one CSV never share a temporary, and a failure leaves none",
          "[files]") {
  agd_test::scratch_dir dir("agd_files");
  const fs::path csv = dir.path / "run.csv";
  // What another run's temporary was called when the name was fixed: it must not be touched.
  write_text(dir.path / "run.csv.tmp", "another run's table, half written");
  agd::io::csv_table table(csv, "epoch");
  table.add_row("1");
  CHECK(read_file(dir.path / "run.csv.tmp") == "another run's table, half written");
  CHECK(read_file(csv) == "epoch\n1\n");

  // Two writers of the same path at once: every save succeeds, and the file is always one
  // writer's whole table.
  std::atomic<int> failures{0};
  auto writer = [&](const std::string& name) {
    agd::io::csv_table own(csv, "writer");
    for (int i = 0; i < 100; ++i) {
      try {
        own.add_row(name);
      } catch (const std::exception&) {
        ++failures;
      }
    }
  };
  std::thread a(writer, "a"), b(writer, "b");
  a.join();
  b.join();
  CHECK(failures == 0);
  std::string all_a = "writer\n", all_b = "writer\n";
  for (int i = 0; i < 100; ++i) all_a += "a\n", all_b += "b\n";
  const std::string last = read_file(csv);
  CHECK((last == all_a || last == all_b));

  // A write that fails midway leaves the previous file and no temporary.
  const std::string before = read_file(csv);
  agd::io::testing::after_bytes_written = [](std::size_t) {
    throw std::runtime_error("injected: disk full");
  };
  CHECK_THROWS_WITH(table.add_row("2"), "injected: disk full");
  agd::io::testing::after_bytes_written = nullptr;
  CHECK(read_file(csv) == before);
  CHECK(names_in(dir.path) == std::vector<std::string>{"run.csv", "run.csv.tmp"});
}

TEST_CASE("files: a replaced file keeps its permissions", "[files]") {
  agd_test::scratch_dir dir("agd_files");
  const fs::path csv = dir.path / "run.csv";
  write_text(csv, "old\n");
  fs::permissions(csv, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  agd::io::csv_table(csv, "new").save();
  CHECK(read_file(csv) == "new\n");
  CHECK(fs::status(csv).permissions() ==
        (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
}

TEST_CASE("files: a FIFO to read is refused at once, not waited on", "[files]") {
  agd_test::scratch_dir dir("agd_files");
  const fs::path fifo = make_fifo(dir.path / "pipe");
  agd::io::csv_table table(fifo, "epoch");
  CHECK_THROWS_WITH(table.keep_existing_rows_before(2),
                    Catch::Contains("is a FIFO (named pipe), not a regular file"));
  CHECK_THROWS_AS(agd::io::safetensors_reader(fifo), agd::io::checkpoint_error);
  CHECK_THROWS_WITH(agd::io::safetensors_reader(fifo), Catch::Contains("FIFO"));
  CHECK_THROWS_WITH(agd::io::safetensors_reader(dir.path), Catch::Contains("is a directory"));

  // A missing CSV keeps nothing; rows are kept only where the first field is a whole number
  // below the epoch.
  agd::io::csv_table missing(dir.path / "none.csv", "epoch");
  CHECK_NOTHROW(missing.keep_existing_rows_before(3));
  write_text(dir.path / "old.csv", "epoch,x\n1,a\n2,b\n3,c\n2junk,d\n-1,e\n,f\n");
  agd::io::csv_table kept(dir.path / "old.csv", "epoch,x");
  kept.keep_existing_rows_before(3);
  kept.save();
  CHECK(read_file(dir.path / "old.csv") == "epoch,x\n1,a\n2,b\n");
}

TEST_CASE("files: a write removes the temporaries that dead writers of the same file left",
          "[files]") {
  agd_test::scratch_dir dir("agd_files");
  // A PID that belonged to a process that has exited: a child's, once it has been reaped.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) ::_exit(0);
  REQUIRE(::waitpid(child, nullptr, 0) == child);
  const std::string dead = std::to_string(child);
  const std::string alive = std::to_string(::getpid());

  // What a writer killed midway leaves: the destination's name, ".tmp.", its PID, ".", a count.
  write_text(dir.path / ("run.csv.tmp." + dead + ".0"), "half written by a killed run");
  write_text(dir.path / ("run.csv.tmp." + dead + ".17"), "another");
  // Not ours to remove: a live process's temporary (this one's, and init's), another
  // destination's, names that only look like ours, and a directory.
  const std::vector<std::string> kept{"other.csv.tmp." + dead + ".0",
                                      "run.csv.tmp",
                                      "run.csv.tmp." + alive + ".5",
                                      "run.csv.tmp.1.0",
                                      "run.csv.tmp." + dead + ".0.bak",
                                      "run.csv.tmp." + dead + ".x",
                                      "run.csv.tmp." + dead,
                                      "xrun.csv.tmp." + dead + ".0"};
  for (const auto& name : kept) write_text(dir.path / name, "keep me");
  fs::create_directory(dir.path / ("run.csv.tmp." + dead + ".3"));

  agd::io::csv_table(dir.path / "run.csv", "epoch").save();
  std::vector<std::string> expected = kept;
  expected.push_back("run.csv");
  expected.push_back("run.csv.tmp." + dead + ".3");
  std::sort(expected.begin(), expected.end());
  CHECK(names_in(dir.path) == expected);
  for (const auto& name : kept) CHECK(read_file(dir.path / name) == "keep me");
  CHECK(read_file(dir.path / "run.csv") == "epoch\n");
}
