// RunDirWriter / BatchFileReader: writing and reading the run directory of
// run_dir_format.h (offline mode, the online SDK's spool, `vigil sync`).
//
// Thread-safety: one object per thread (the SDK serialises its own use).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "core/result.h"

namespace vigil::client {

// Creates `path` and its missing parents (mode 0755).
Status MakeDirs(const std::string& path);

class RunDirWriter {
 public:
  // Opens (creating) the directory and batches.jsonl for appending; a torn
  // last line left by a crash is terminated first.
  static Result<std::unique_ptr<RunDirWriter>> Open(std::string dir);
  ~RunDirWriter();
  RunDirWriter(const RunDirWriter&) = delete;
  RunDirWriter& operator=(const RunDirWriter&) = delete;

  const std::string& dir() const { return dir_; }
  // Atomically replaces run.json.
  Status WriteRunJson(std::string_view json);
  // REQUIRES: `body` holds no '\n'. Appends it as one line.
  Status AppendBatch(std::string_view body);
  // Atomically replaces finish.json.
  Status WriteFinishJson(std::string_view json);
  // Bytes in batches.jsonl (after this writer's appends).
  uint64_t batches_bytes() const { return bytes_; }

 private:
  RunDirWriter(std::string dir, int fd, uint64_t bytes)
      : dir_(std::move(dir)), fd_(fd), bytes_(bytes) {}
  std::string dir_;
  int fd_ = -1;
  uint64_t bytes_ = 0;
};

// Replaces `path` with `data` via path.tmp and rename(2).
Status WriteFileAtomically(const std::string& path, std::string_view data);
Result<std::string> ReadWholeFile(const std::string& path);

// Reads batches.jsonl line by line from a byte offset.
class BatchFileReader {
 public:
  // NotFound when the file does not exist.
  static Result<std::unique_ptr<BatchFileReader>> Open(const std::string& path,
                                                       uint64_t offset = 0);
  ~BatchFileReader();
  BatchFileReader(const BatchFileReader&) = delete;
  BatchFileReader& operator=(const BatchFileReader&) = delete;

  enum class Line { kComplete, kTorn, kEnd };
  // The next line without its '\n'. kTorn: the file ends with this
  // unterminated line. line_number() counts from 1 at offset 0 (lines
  // before a nonzero start offset are not counted).
  Result<Line> Next(std::string* line);
  size_t line_number() const { return line_number_; }
  // The offset just past the last line returned whole.
  uint64_t offset() const { return offset_; }

 private:
  BatchFileReader(std::FILE* f, uint64_t offset) : f_(f), offset_(offset) {}
  std::FILE* f_;
  uint64_t offset_;
  size_t line_number_ = 0;
  char* buf_ = nullptr;
  size_t cap_ = 0;
};

}  // namespace vigil::client
