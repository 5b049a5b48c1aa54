// Tests for the IDX reader: round trips and one test per way a file can be bad, each checking
// that the message names the file and the problem.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "agd/data/idx.hpp"
#include "scratch_dir.hpp"

namespace {

namespace fs = std::filesystem;
using agd::data::idx_array;
using agd::data::idx_error;

using agd_test::scratch_dir;

idx_array small_images() {
  idx_array array;
  array.dims = {3, 2, 4};
  for (std::size_t i = 0; i < array.size(); ++i)
    array.data.push_back(static_cast<std::uint8_t>(i * 7));
  return array;
}

// Writes bytes without the library's help, for files that are bad at the gzip level.
void write_raw_bytes(const fs::path& file, const std::vector<std::uint8_t>& bytes) {
  std::ofstream out(file, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

// Reads the file expecting failure and returns the message.
std::string read_error(const fs::path& file, std::optional<std::size_t> expected_rank = {}) {
  try {
    agd::data::read_idx(file, expected_rank);
  } catch (const idx_error& error) {
    return error.what();
  }
  FAIL("read_idx accepted " << file);
  return {};
}

}  // namespace

TEST_CASE("idx: round trip raw and gzip", "[idx]") {
  const scratch_dir dir;
  const idx_array original = small_images();
  for (const bool gzip : {false, true}) {
    const fs::path file = dir.path / (gzip ? "images.gz" : "images");
    agd::data::write_idx(file, original, gzip);
    const idx_array loaded = agd::data::read_idx(file, 3);
    CHECK(loaded.dims == original.dims);
    CHECK(loaded.data == original.data);
    CHECK(loaded.size() == 24);
  }
  // The gzip file really is compressed (detection is by content, not by name).
  std::ifstream in(dir.path / "images.gz", std::ios::binary);
  CHECK(in.get() == 0x1F);
  CHECK(in.get() == 0x8B);
}

TEST_CASE("idx: rank 1 labels and rank 4 arrays round trip", "[idx]") {
  const scratch_dir dir;
  idx_array labels{{5}, {0, 1, 2, 9, 255}};
  agd::data::write_idx(dir.path / "labels", labels, false);
  CHECK(agd::data::read_idx(dir.path / "labels", 1).data == labels.data);

  idx_array four{{1, 2, 1, 3}, {1, 2, 3, 4, 5, 6}};
  agd::data::write_idx(dir.path / "four.gz", four, true);
  CHECK(agd::data::read_idx(dir.path / "four.gz").dims == four.dims);
}

TEST_CASE("idx: big-endian dims larger than 255", "[idx]") {
  const scratch_dir dir;
  idx_array array;
  array.dims = {300, 2};
  array.data.assign(600, 42);
  agd::data::write_idx(dir.path / "big", array, false);
  std::ifstream in(dir.path / "big", std::ios::binary);
  std::vector<char> header(8);
  in.read(header.data(), 8);
  CHECK(static_cast<unsigned char>(header[6]) == 0x01);  // 300 = 0x012C
  CHECK(static_cast<unsigned char>(header[7]) == 0x2C);
  CHECK(agd::data::read_idx(dir.path / "big").dims == array.dims);
}

TEST_CASE("idx: wrong magic names the path and 'magic'", "[idx]") {
  const scratch_dir dir;
  for (const bool gzip : {false, true}) {
    const fs::path file = dir.path / (gzip ? "bad.gz" : "bad");
    std::vector<std::uint8_t> bytes = agd::data::encode_idx(small_images());
    bytes[1] = 0x12;
    agd::data::write_file(file, bytes, gzip);
    const std::string message = read_error(file);
    CHECK_THAT(message, Catch::Contains(file.string()));
    CHECK_THAT(message, Catch::Contains("magic"));
    CHECK_THAT(message, Catch::Contains("0x12"));
  }
}

TEST_CASE("idx: text file is rejected as bad magic", "[idx]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "page.html";
  write_raw_bytes(file, {'<', 'h', 't', 'm', 'l', '>'});
  CHECK_THAT(read_error(file), Catch::Contains("magic"));
}

TEST_CASE("idx: truncated data", "[idx]") {
  const scratch_dir dir;
  for (const bool gzip : {false, true}) {
    const fs::path file = dir.path / (gzip ? "short.gz" : "short");
    std::vector<std::uint8_t> bytes = agd::data::encode_idx(small_images());
    bytes.resize(bytes.size() - 5);
    agd::data::write_file(file, bytes, gzip);
    const std::string message = read_error(file);
    CHECK_THAT(message, Catch::Contains(file.string()));
    CHECK_THAT(message, Catch::Contains("truncated"));
    CHECK_THAT(message, Catch::Contains("3x2x4 = 24 data bytes"));
    CHECK_THAT(message, Catch::Contains("only 19 after the 16-byte header"));
  }
}

TEST_CASE("idx: truncated header", "[idx]") {
  const scratch_dir dir;
  const fs::path tiny = dir.path / "tiny";
  write_raw_bytes(tiny, {0, 0});
  CHECK_THAT(read_error(tiny), Catch::Contains("truncated"));

  const fs::path half_header = dir.path / "half_header";
  write_raw_bytes(half_header, {0, 0, 8, 3, 0, 0, 0, 3, 0, 0});
  const std::string message = read_error(half_header);
  CHECK_THAT(message, Catch::Contains("truncated"));
  CHECK_THAT(message, Catch::Contains("needs 16 bytes"));
}

TEST_CASE("idx: trailing bytes after the data", "[idx]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "long";
  std::vector<std::uint8_t> bytes = agd::data::encode_idx(small_images());
  bytes.insert(bytes.end(), {1, 2, 3});
  agd::data::write_file(file, bytes, false);
  const std::string message = read_error(file);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("3 unexpected bytes after the data"));
}

TEST_CASE("idx: rank mismatch", "[idx]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "labels";
  agd::data::write_idx(file, idx_array{{4}, {1, 2, 3, 4}}, false);
  const std::string message = read_error(file, 3);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("rank 1"));
  CHECK_THAT(message, Catch::Contains("rank 3 was expected"));
}

TEST_CASE("idx: rank outside 1..4 in the magic number", "[idx]") {
  const scratch_dir dir;
  for (const std::uint8_t rank : {std::uint8_t{0}, std::uint8_t{5}}) {
    const fs::path file = dir.path / ("rank" + std::to_string(rank));
    write_raw_bytes(file, {0, 0, 8, rank, 0, 0, 0, 1, 7});
    CHECK_THAT(read_error(file), Catch::Contains("outside 1..4"));
  }
}

TEST_CASE("idx: unsupported element type code", "[idx]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "floats";
  std::vector<std::uint8_t> bytes = agd::data::encode_idx(idx_array{{1}, {0}});
  bytes[2] = 0x0D;
  write_raw_bytes(file, bytes);
  const std::string message = read_error(file);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("0x0D"));
  CHECK_THAT(message, Catch::Contains("float32"));
  CHECK_THAT(message, Catch::Contains("only unsigned byte"));
}

TEST_CASE("idx: zero dimension", "[idx]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "empty";
  write_raw_bytes(file, {0, 0, 8, 2, 0, 0, 0, 2, 0, 0, 0, 0});
  CHECK_THAT(read_error(file), Catch::Contains("is zero"));
}

TEST_CASE("idx: huge declared sizes are reported, not allocated", "[idx]") {
  const scratch_dir dir;
  const fs::path large = dir.path / "large";
  write_raw_bytes(large, {0, 0, 8, 2, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2});
  CHECK_THAT(read_error(large), Catch::Contains("truncated"));

  const fs::path file = dir.path / "huge";
  write_raw_bytes(file, {0,    0,    8,    4,    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                         0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
  // (2^32-1)^4 overflows a 64-bit size_t.
  CHECK_THAT(read_error(file), Catch::Contains("overflow"));
}

TEST_CASE("idx: missing file", "[idx]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "does-not-exist-idx3-ubyte.gz";
  const std::string message = read_error(file);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("No such file or directory"));
  CHECK_THAT(read_error(dir.path), Catch::Contains("directory"));
}

TEST_CASE("idx: corrupt gzip stream names zlib's message", "[idx]") {
  const scratch_dir dir;
  // A valid gzip header followed by a deflate block with the reserved block type 11.
  const fs::path file = dir.path / "corrupt.gz";
  write_raw_bytes(file, {0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0x03, 0xFF, 0xFF, 0xFF, 0xFF});
  const std::string message = read_error(file);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("corrupt gzip stream (zlib: invalid block type)"));

  // A damaged checksum in the trailer.
  const fs::path bad_crc = dir.path / "bad_crc.gz";
  agd::data::write_idx(bad_crc, small_images(), true);
  std::vector<std::uint8_t> bytes;
  {
    std::ifstream in(bad_crc, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes[bytes.size() - 8] ^= 0xFF;
  write_raw_bytes(bad_crc, bytes);
  CHECK_THAT(read_error(bad_crc), Catch::Contains("zlib: incorrect data check"));
}

TEST_CASE("idx: truncated gzip file", "[idx]") {
  const scratch_dir dir;
  const fs::path file = dir.path / "cut.gz";
  agd::data::write_idx(file, small_images(), true);
  std::vector<std::uint8_t> bytes;
  {
    std::ifstream in(file, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  bytes.resize(bytes.size() - 6);
  write_raw_bytes(file, bytes);
  const std::string message = read_error(file);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("truncated gzip stream"));
}

TEST_CASE("idx: concatenated gzip members are read as one file", "[idx]") {
  const scratch_dir dir;
  const std::vector<std::uint8_t> bytes = agd::data::encode_idx(small_images());
  const std::size_t split_at = 10;
  const fs::path head = dir.path / "head.gz";
  const fs::path tail = dir.path / "tail.gz";
  agd::data::write_file(head, std::span(bytes).first(split_at), true);
  agd::data::write_file(tail, std::span(bytes).subspan(split_at), true);
  std::vector<std::uint8_t> joined;
  for (const fs::path& part : {head, tail}) {
    std::ifstream in(part, std::ios::binary);
    joined.insert(joined.end(), std::istreambuf_iterator<char>(in), {});
  }
  const fs::path file = dir.path / "joined.gz";
  write_raw_bytes(file, joined);
  CHECK(agd::data::read_idx(file).data == small_images().data);

  joined.insert(joined.end(), {'x', 'y'});
  write_raw_bytes(file, joined);
  CHECK_THAT(read_error(file), Catch::Contains("2 bytes of trailing garbage"));
}

TEST_CASE("idx: encode_idx rejects inconsistent arrays", "[idx]") {
  CHECK_THROWS_AS(agd::data::encode_idx(idx_array{{2, 2}, {1, 2, 3}}), std::invalid_argument);
  CHECK_THROWS_AS(agd::data::encode_idx(idx_array{{}, {}}), std::invalid_argument);
}

TEST_CASE("idx: a gzip file that inflates past what its header declares is refused early",
          "[idx]") {
  const scratch_dir dir;
  // The header declares 3x2x4 = 24 data bytes after its 16 bytes; 8 MiB of zeros follow.
  std::vector<std::uint8_t> bytes = agd::data::encode_idx(small_images());
  bytes.resize(bytes.size() + (std::size_t{8} << 20), 0);
  const fs::path file = dir.path / "bomb.gz";
  agd::data::write_file(file, bytes, true);
  REQUIRE(fs::file_size(file) < 64 * 1024);
  const std::string message = read_error(file);
  CHECK_THAT(message, Catch::Contains(file.string()));
  CHECK_THAT(message, Catch::Contains("decompresses to more than its header declares (3x2x4 = 24 "
                                      "data bytes after the 16-byte header)"));
  // Inflating stopped one byte past the declared size, instead of going through 8 MiB.
  CHECK_THAT(message, Catch::Contains("stopped after 41 bytes"));

  // Exactly the declared size still reads.
  bytes.resize(16 + 24);
  agd::data::write_file(file, bytes, true);
  CHECK(agd::data::read_idx(file).data == small_images().data);
}
