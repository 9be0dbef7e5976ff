#include "storage/manifest.h"

#include <charconv>

#include <fmt/format.h>

#include "core/crc32c.h"
#include "storage/file.h"

namespace vigil::storage {
namespace {

constexpr std::string_view kHeader = "vigil-manifest 1";

bool ParseU64(std::string_view s, uint64_t* v, int base = 10) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v, base);
  return ec == std::errc() && p == s.data() + s.size();
}

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i <= line.size()) {
    size_t j = line.find(' ', i);
    if (j == std::string_view::npos) j = line.size();
    out.push_back(line.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

}  // namespace

std::string BlockFileName(uint64_t file_number) {
  return fmt::format("{:08d}.blk", file_number);
}

std::string EncodeManifest(const Manifest& m) {
  std::string out;
  out.append(kHeader).push_back('\n');
  out += fmt::format("wal_start {}\nnext_file {}\nnext_series_id {}\n", m.wal_start, m.next_file,
                     m.next_series_id);
  for (const auto& b : m.blocks) out += fmt::format("block {} {}\n", b.file_number, b.order);
  for (const auto& t : m.tombstones)
    out += fmt::format("tombstone {} {}\n", t.run, t.max_series_id);
  out += fmt::format("crc {:08x}\n", crc32c::Value(out));
  return out;
}

Result<Manifest> DecodeManifest(std::string_view text, std::string_view path) {
  auto corrupt = [&](size_t line_no, std::string_view what) {
    return Status::Corruption(fmt::format("manifest {} line {}: {}", path, line_no, what));
  };
  Manifest m;
  size_t pos = 0, line_no = 0;
  bool saw_crc = false;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) return corrupt(line_no + 1, "missing final newline");
    std::string_view line = text.substr(pos, end - pos);
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader) return corrupt(1, "not a vigil manifest (version 1)");
      pos = end + 1;
      continue;
    }
    auto f = Split(line);
    uint64_t a = 0, b = 0;
    if (f[0] == "crc") {
      if (f.size() != 2 || !ParseU64(f[1], &a, 16)) return corrupt(line_no, "bad crc line");
      if (crc32c::Value(text.substr(0, pos)) != a) return corrupt(line_no, "checksum mismatch");
      if (end + 1 != text.size()) return corrupt(line_no + 1, "text after the crc line");
      saw_crc = true;
    } else if (f[0] == "wal_start" && f.size() == 2 && ParseU64(f[1], &a)) {
      m.wal_start = a;
    } else if (f[0] == "next_file" && f.size() == 2 && ParseU64(f[1], &a)) {
      m.next_file = a;
    } else if (f[0] == "next_series_id" && f.size() == 2 && ParseU64(f[1], &a)) {
      m.next_series_id = a;
    } else if (f[0] == "block" && f.size() == 3 && ParseU64(f[1], &a) && ParseU64(f[2], &b)) {
      m.blocks.push_back({a, b});
    } else if (f[0] == "tombstone" && f.size() == 3 && !f[1].empty() && ParseU64(f[2], &b)) {
      m.tombstones.push_back({std::string(f[1]), b});
    } else {
      return corrupt(line_no, fmt::format("unrecognised line \"{}\"", line));
    }
    pos = end + 1;
  }
  if (!saw_crc) return corrupt(line_no, "missing crc line (truncated manifest)");
  return m;
}

Result<Manifest> LoadManifest(const std::string& dir) {
  std::string path = dir + "/MANIFEST";
  if (!FileExists(path)) return Manifest{};
  VIGIL_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  return DecodeManifest(text, path);
}

Status SaveManifest(const std::string& dir, const Manifest& m) {
  return WriteFileAtomically(dir + "/MANIFEST", EncodeManifest(m));
}

}  // namespace vigil::storage
