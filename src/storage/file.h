// POSIX file primitives used by the storage engine: append-only files with
// explicit durability, whole-file reads, read-only mappings, atomic
// replacement, directory sync and the data directory's lock. Every error is
// an IOError naming the call, the path and errno's text.
//
// Thread-safety: a WritableFile or MappedFile object is used by one thread at
// a time; the free functions are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace vigil::storage {

// An append-only file with a user-space buffer. Data reaches the OS at
// Flush() (or when the buffer fills) and the disk at Sync().
class WritableFile {
 public:
  // Opens `path` for appending, creating it if missing; `truncate` empties it.
  static Result<std::unique_ptr<WritableFile>> Open(const std::string& path, bool truncate);
  ~WritableFile();  // closes, ignoring errors (call Close() to see them)
  WritableFile(const WritableFile&) = delete;
  WritableFile& operator=(const WritableFile&) = delete;

  Status Append(std::string_view data);
  Status Flush();  // write(2) buffered bytes
  Status Sync();   // Flush() then fdatasync(2)
  Status Close();  // Flush() then close(2)

  const std::string& path() const { return path_; }
  // Bytes in the file once buffered data is flushed.
  uint64_t size() const { return size_; }

 private:
  WritableFile(std::string path, int fd, uint64_t size);
  std::string path_;
  int fd_;
  uint64_t size_;
  std::string buffer_;
};

// A read-only memory mapping of a whole file (empty files map to an empty
// view). The view stays valid for the object's lifetime.
class MappedFile {
 public:
  static Result<std::unique_ptr<MappedFile>> Open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  std::string_view data() const { return {static_cast<const char*>(addr_), size_}; }
  const std::string& path() const { return path_; }

 private:
  MappedFile(std::string path, void* addr, size_t size);
  std::string path_;
  void* addr_;
  size_t size_;
};

Result<std::string> ReadFileToString(const std::string& path);
// Writes `contents` to path.tmp, fsyncs it, renames it over `path`, fsyncs
// the directory: readers see the old or the new file, never a mix.
Status WriteFileAtomically(const std::string& path, std::string_view contents);
Status SyncDirectory(const std::string& dir);
Status CreateDirectories(const std::string& dir);
Status RemoveFile(const std::string& path);  // OK if already absent
Status RenameFile(const std::string& from, const std::string& to);
Status TruncateFile(const std::string& path, uint64_t size);
Result<uint64_t> FileSize(const std::string& path);
bool FileExists(const std::string& path);
// Names (not paths) of the entries of `dir`, sorted.
Result<std::vector<std::string>> ListDirectory(const std::string& dir);
// Total bytes of the regular files below `dir`, recursively.
Result<uint64_t> DirectorySize(const std::string& dir);

// An exclusive advisory lock (flock) on `path`, held until destruction, so
// that two servers never open one data directory.
class FileLock {
 public:
  static Result<std::unique_ptr<FileLock>> Acquire(const std::string& path);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace vigil::storage
