#include "storage/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

namespace vigil::storage {
namespace {

// Bytes a WritableFile keeps in user space before write(2): large enough that
// the syscall cost vanishes at GB/s, small enough to be irrelevant in memory.
constexpr size_t kWritableBufferSize = 1 << 20;

// Writes all of [data, data + n) to fd, retrying short writes and EINTR.
// On error, *written says how many bytes did reach the file.
Status WriteAll(int fd, const char* data, size_t n, const std::string& path, size_t* written) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::write(fd, data + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      *written = done;
      return Status::FromErrno("write", path, err);
    }
    done += static_cast<size_t>(r);
  }
  *written = done;
  return Status::OK();
}

int OpenRetrying(const char* path, int flags, mode_t mode = 0644) {
  int fd;
  do {
    fd = ::open(path, flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

std::string DirName(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

// ---------------------------------------------------------------------------
// WritableFile
//
// Invariant: every byte passed to Append() is, in order, either already in
// the file (the first size_ - buffer_.size() bytes) or in buffer_. A failed
// write(2) therefore never leaves a hole: a later Flush() resumes where it
// stopped, and the file is always a prefix of what was appended.

WritableFile::WritableFile(std::string path, int fd, uint64_t size)
    : path_(std::move(path)), fd_(fd), size_(size) {
  buffer_.reserve(kWritableBufferSize);
}

Result<std::unique_ptr<WritableFile>> WritableFile::Open(const std::string& path, bool truncate) {
  int flags = O_WRONLY | O_CREAT | O_APPEND | (truncate ? O_TRUNC : 0);
  int fd = OpenRetrying(path.c_str(), flags);
  if (fd < 0) return Status::FromErrno("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno("fstat", path, err);
  }
  return std::unique_ptr<WritableFile>(
      new WritableFile(path, fd, static_cast<uint64_t>(st.st_size)));
}

WritableFile::~WritableFile() {
  if (fd_ >= 0) (void)Close();
}

Status WritableFile::Append(std::string_view data) {
  if (fd_ < 0) return Status::FailedPrecondition(fmt::format("append to closed file {}", path_));
  size_ += data.size();
  // Fill the buffer first; most appends stop here.
  // (The buffer may exceed its capacity only after a failed write.)
  size_t room = buffer_.size() < kWritableBufferSize ? kWritableBufferSize - buffer_.size() : 0;
  size_t copy = std::min(data.size(), room);
  buffer_.append(data.data(), copy);
  data.remove_prefix(copy);
  if (data.empty()) return Status::OK();
  // The buffer is full: write it, then either buffer the rest or, when the
  // rest is large, write it straight from the caller's memory.
  if (Status s = Flush(); !s.ok()) {
    buffer_.append(data);  // keeps the invariant; a later Flush() retries
    return s;
  }
  if (data.size() < kWritableBufferSize) {
    buffer_.append(data);
    return Status::OK();
  }
  size_t written = 0;
  Status s = WriteAll(fd_, data.data(), data.size(), path_, &written);
  if (!s.ok()) buffer_.append(data.substr(written));  // keeps the invariant
  return s;
}

Status WritableFile::Flush() {
  if (buffer_.empty()) return Status::OK();
  if (fd_ < 0) return Status::FailedPrecondition(fmt::format("flush of closed file {}", path_));
  size_t written = 0;
  Status s = WriteAll(fd_, buffer_.data(), buffer_.size(), path_, &written);
  buffer_.erase(0, written);
  return s;
}

Status WritableFile::Sync() {
  VIGIL_RETURN_IF_ERROR(Flush());
  if (::fdatasync(fd_) != 0) return Status::FromErrno("fdatasync", path_, errno);
  return Status::OK();
}

Status WritableFile::Close() {
  if (fd_ < 0) return Status::OK();
  Status s = Flush();
  // close(2) is not retried on EINTR: on Linux the descriptor is released
  // regardless, and a retry could close a descriptor another thread opened.
  if (::close(fd_) != 0 && s.ok()) s = Status::FromErrno("close", path_, errno);
  fd_ = -1;
  buffer_.clear();
  return s;
}

// ---------------------------------------------------------------------------
// MappedFile

MappedFile::MappedFile(std::string path, void* addr, size_t size)
    : path_(std::move(path)), addr_(addr), size_(size) {}

Result<std::unique_ptr<MappedFile>> MappedFile::Open(const std::string& path) {
  int fd = OpenRetrying(path.c_str(), O_RDONLY);
  if (fd < 0) return Status::FromErrno("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno("fstat", path, err);
  }
  auto size = static_cast<size_t>(st.st_size);
  void* addr = nullptr;
  if (size > 0) {  // mmap of length 0 is EINVAL; an empty file is an empty view
    addr = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (addr == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno("mmap", path, err);
    }
  }
  ::close(fd);  // the mapping keeps its own reference to the file
  return std::unique_ptr<MappedFile>(new MappedFile(path, addr, size));
}

MappedFile::~MappedFile() {
  if (addr_ != nullptr) ::munmap(addr_, size_);
}

// ---------------------------------------------------------------------------
// Free functions

Result<std::string> ReadFileToString(const std::string& path) {
  int fd = OpenRetrying(path.c_str(), O_RDONLY);
  if (fd < 0) return Status::FromErrno("open", path, errno);
  std::string out;
  struct stat st;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[64 << 10];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof(buf));
    if (r < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return Status::FromErrno("read", path, err);
    }
    if (r == 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  ::close(fd);
  return out;
}

Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  const std::string tmp = path + ".tmp";
  int fd = OpenRetrying(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC);
  if (fd < 0) return Status::FromErrno("open", tmp, errno);
  size_t written = 0;
  Status s = WriteAll(fd, contents.data(), contents.size(), tmp, &written);
  if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno("fsync", tmp, errno);
  if (::close(fd) != 0 && s.ok()) s = Status::FromErrno("close", tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    s = Status::FromErrno("rename", tmp + " to " + path, errno);
  }
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  return SyncDirectory(DirName(path));
}

Status SyncDirectory(const std::string& dir) {
  int fd = OpenRetrying(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd < 0) return Status::FromErrno("open", dir, errno);
  Status s;
  if (::fsync(fd) != 0) s = Status::FromErrno("fsync", dir, errno);
  ::close(fd);
  return s;
}

Status CreateDirectories(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::FromErrno("mkdir", dir, ec.value());
  return Status::OK();
}

Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return Status::FromErrno("unlink", path, errno);
  }
  return Status::OK();
}

Status RenameFile(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return Status::FromErrno("rename", from + " to " + to, errno);
  }
  return Status::OK();
}

Status TruncateFile(const std::string& path, uint64_t size) {
  int fd = OpenRetrying(path.c_str(), O_WRONLY);
  if (fd < 0) return Status::FromErrno("open", path, errno);
  Status s;
  int r;
  do {
    r = ::ftruncate(fd, static_cast<off_t>(size));
  } while (r != 0 && errno == EINTR);
  if (r != 0) s = Status::FromErrno("ftruncate", path, errno);
  // The new length must survive a crash too, or a torn tail could reappear.
  if (s.ok() && ::fsync(fd) != 0) s = Status::FromErrno("fsync", path, errno);
  ::close(fd);
  return s;
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("stat", path, errno);
  return static_cast<uint64_t>(st.st_size);
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Result<std::vector<std::string>> ListDirectory(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return Status::FromErrno("opendir", dir, errno);
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    struct dirent* e = ::readdir(d);
    if (e == nullptr) {
      if (errno != 0) {
        int err = errno;
        ::closedir(d);
        return Status::FromErrno("readdir", dir, err);
      }
      break;
    }
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Result<uint64_t> DirectorySize(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t total = 0;
  fs::recursive_directory_iterator it(dir, ec), end;
  if (ec) return Status::FromErrno("opendir", dir, ec.value());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::FromErrno("readdir", dir, ec.value());
    std::error_code fec;
    if (!it->is_regular_file(fec)) continue;
    uint64_t size = it->file_size(fec);
    if (fec) continue;  // removed while we walked: it no longer counts
    total += size;
  }
  if (ec) return Status::FromErrno("readdir", dir, ec.value());
  return total;
}

// ---------------------------------------------------------------------------
// FileLock

Result<std::unique_ptr<FileLock>> FileLock::Acquire(const std::string& path) {
  int fd = OpenRetrying(path.c_str(), O_RDWR | O_CREAT);
  if (fd < 0) return Status::FromErrno("open", path, errno);
  int r;
  do {
    r = ::flock(fd, LOCK_EX | LOCK_NB);
  } while (r != 0 && errno == EINTR);
  if (r != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::FailedPrecondition(
          fmt::format("data directory {} is in use by another process (lock file {} is held)",
                      DirName(path), path));
    }
    return Status::FromErrno("flock", path, err);
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace vigil::storage
