#include "client/sdk/run_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <fmt/format.h>

#include "client/sdk/run_dir_format.h"

namespace vigil::client {
namespace {

Status WriteAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

}  // namespace

Status MakeDirs(const std::string& path) {
  if (path.empty()) return Status::InvalidArgument("empty directory path");
  for (size_t i = 1; i <= path.size(); ++i) {
    if (i != path.size() && path[i] != '/') continue;
    std::string part = path.substr(0, i);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
      return Status::FromErrno("mkdir", part, errno);
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::FromErrno("stat", path, errno);
  if (!S_ISDIR(st.st_mode)) return Status::IOError(fmt::format("{} is not a directory", path));
  return Status::OK();
}

Status WriteFileAtomically(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open", tmp, errno);
  Status s = WriteAll(fd, data, tmp);
  if (::close(fd) != 0 && s.ok()) s = Status::FromErrno("close", tmp, errno);
  if (s.ok() && ::rename(tmp.c_str(), path.c_str()) != 0)
    s = Status::FromErrno("rename", tmp, errno);
  if (!s.ok()) ::unlink(tmp.c_str());
  return s;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path));
    return Status::FromErrno("open", path, errno);
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      Status s = Status::FromErrno("read", path, errno);
      ::close(fd);
      return s;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<std::unique_ptr<RunDirWriter>> RunDirWriter::Open(std::string dir) {
  VIGIL_RETURN_IF_ERROR(MakeDirs(dir));
  std::string path = dir + "/" + kBatchesFile;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Status::FromErrno("fstat", path, errno);
    ::close(fd);
    return s;
  }
  uint64_t size = static_cast<uint64_t>(st.st_size);
  if (size > 0) {
    // A torn last line (a crash mid-append) gets its terminator now, so that
    // the next line is not glued to it; readers then skip it as bad JSON.
    char last = 0;
    if (::pread(fd, &last, 1, static_cast<off_t>(size - 1)) != 1) {
      Status s = Status::FromErrno("pread", path, errno);
      ::close(fd);
      return s;
    }
    if (last != '\n') {
      Status s = WriteAll(fd, "\n", path);
      if (!s.ok()) {
        ::close(fd);
        return s;
      }
      ++size;
    }
  }
  return std::unique_ptr<RunDirWriter>(new RunDirWriter(std::move(dir), fd, size));
}

RunDirWriter::~RunDirWriter() {
  if (fd_ >= 0) ::close(fd_);
}

Status RunDirWriter::WriteRunJson(std::string_view json) {
  return WriteFileAtomically(dir_ + "/" + kRunJsonFile, json);
}

Status RunDirWriter::WriteFinishJson(std::string_view json) {
  return WriteFileAtomically(dir_ + "/" + kFinishJsonFile, json);
}

Status RunDirWriter::AppendBatch(std::string_view body) {
  std::string line;
  line.reserve(body.size() + 1);
  line.append(body);
  line.push_back('\n');
  // One write(2) per line: with O_APPEND a line is never interleaved with
  // another writer's, and a crash leaves at most the last line torn.
  VIGIL_RETURN_IF_ERROR(WriteAll(fd_, line, dir_ + "/" + kBatchesFile));
  bytes_ += line.size();
  return Status::OK();
}

Result<std::unique_ptr<BatchFileReader>> BatchFileReader::Open(const std::string& path,
                                                               uint64_t offset) {
  std::FILE* f = std::fopen(path.c_str(), "rbe");
  if (!f) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path));
    return Status::FromErrno("open", path, errno);
  }
  if (offset > 0 && ::fseeko(f, static_cast<off_t>(offset), SEEK_SET) != 0) {
    Status s = Status::FromErrno("seek", path, errno);
    std::fclose(f);
    return s;
  }
  return std::unique_ptr<BatchFileReader>(new BatchFileReader(f, offset));
}

BatchFileReader::~BatchFileReader() {
  std::fclose(f_);
  std::free(buf_);
}

Result<BatchFileReader::Line> BatchFileReader::Next(std::string* line) {
  errno = 0;
  ssize_t n = ::getline(&buf_, &cap_, f_);
  if (n < 0) {
    if (errno != 0 && !std::feof(f_)) return Status::FromErrno("read", "batches.jsonl", errno);
    return Line::kEnd;
  }
  ++line_number_;
  size_t len = static_cast<size_t>(n);
  if (len > 0 && buf_[len - 1] == '\n') {
    line->assign(buf_, len - 1);
    offset_ += len;
    return Line::kComplete;
  }
  line->assign(buf_, len);
  return Line::kTorn;
}

}  // namespace vigil::client
