// Test-only helpers for the server layer: a Responder sink that captures the
// answer (for handler and router tests without sockets) and a raw blocking
// HTTP/1.1 client on POSIX sockets that can also send what a well-behaved
// client never would (garbage, half a request, a body over the limit).
//
// Thread-safety: CapturingSink may be answered from any thread; RawClient is
// used from one thread.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/http_types.h"

namespace vigil::server::testing {

// Captures what a handler answers. Use with Responder(sink).
class CapturingSink : public Responder::Sink {
 public:
  void Send(HttpResponse response) override {
    std::lock_guard lock(mu_);
    responses_.push_back(std::move(response));
    cv_.notify_all();
  }
  std::shared_ptr<StreamWriter> StartStream(HttpResponse head) override {
    std::lock_guard lock(mu_);
    stream_heads_.push_back(std::move(head));
    cv_.notify_all();
    return nullptr;
  }
  // Waits for the first answer; nullopt if none comes within `timeout`.
  std::optional<HttpResponse> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, timeout, [&] { return !responses_.empty(); })) return std::nullopt;
    return responses_.front();
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return responses_.size() + stream_heads_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<HttpResponse> responses_;
  std::vector<HttpResponse> stream_heads_;
};

// Raises this process's open-file soft limit to the hard limit; returns the
// soft limit now in force.
inline rlim_t RaiseOpenFileLimit() {
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur;
}

struct RawResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;                                          // de-chunked

  std::optional<std::string> Header(std::string_view lower_name) const {
    for (const auto& [k, v] : headers) {
      if (k == lower_name) return v;
    }
    return std::nullopt;
  }
};

class RawClient {
 public:
  RawClient() = default;
  explicit RawClient(uint16_t port) { Connect(port); }
  ~RawClient() { Close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  RawClient(RawClient&& o) noexcept : fd_(std::exchange(o.fd_, -1)), buf_(std::move(o.buf_)) {}

  bool Connect(uint16_t port) {
    Close();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return false;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      Close();
      return false;
    }
    return true;
  }
  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  void Close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buf_.clear();
  }

  // Sets a small receive buffer (before Connect has no effect; call after).
  void SetReceiveBuffer(int bytes) {
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
  }

  bool Send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }

  // Sends a request with Host and, when `body` is set, Content-Length.
  bool SendRequest(std::string_view method, std::string_view target, std::string_view body = {},
                   std::string_view extra_headers = {}) {
    std::string req;
    req.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    req.append(extra_headers);
    if (!body.empty() || method == "POST") {
      req.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
    }
    req.append("\r\n").append(body);
    return Send(req);
  }

  // Reads one response; nullopt on timeout, close or a malformed answer.
  std::optional<RawResponse> ReadResponse(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::optional<RawResponse> r = ReadHead(deadline);
    if (!r) return std::nullopt;
    auto length = r->Header("content-length");
    auto te = r->Header("transfer-encoding");
    if (r->status == 204 || r->status == 304 || (r->status >= 100 && r->status < 200)) return r;
    if (length) {
      size_t n = std::strtoull(length->c_str(), nullptr, 10);
      if (!Fill(n, deadline)) return std::nullopt;
      r->body = buf_.substr(0, n);
      buf_.erase(0, n);
    } else if (te && *te == "chunked") {
      for (;;) {
        std::optional<std::string> chunk = ReadChunk(deadline);
        if (!chunk) return std::nullopt;
        if (chunk->empty()) break;
        r->body += *chunk;
      }
    } else {
      r->body = ReadUntilClose(deadline);
    }
    return r;
  }

  // Reads a status line and headers (used directly for streams).
  std::optional<RawResponse> ReadHead(std::chrono::steady_clock::time_point deadline) {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!ReadSome(deadline)) return std::nullopt;
    }
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    RawResponse r;
    size_t line_end = head.find("\r\n");
    std::string status_line = head.substr(0, line_end);
    size_t sp = status_line.find(' ');
    if (sp == std::string::npos) return std::nullopt;
    r.version = status_line.substr(0, sp);
    r.status = std::atoi(status_line.c_str() + sp + 1);
    size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
    while (pos < head.size()) {
      size_t e = head.find("\r\n", pos);
      if (e == std::string::npos) e = head.size();
      std::string line = head.substr(pos, e - pos);
      pos = e + 2;
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = colon + 1;
      while (v < line.size() && line[v] == ' ') ++v;
      r.headers.emplace_back(name, line.substr(v));
    }
    return r;
  }

  // One chunk of a chunked body; "" for the last chunk, nullopt on failure.
  std::optional<std::string> ReadChunk(std::chrono::steady_clock::time_point deadline) {
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos) {
      if (!ReadSome(deadline)) return std::nullopt;
    }
    size_t n = std::strtoull(buf_.c_str(), nullptr, 16);
    buf_.erase(0, eol + 2);
    if (!Fill(n + 2, deadline)) return std::nullopt;
    std::string chunk = buf_.substr(0, n);
    buf_.erase(0, n + 2);
    if (n == 0) return std::string();
    return chunk;
  }

  std::optional<std::string> ReadChunk(
      std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    return ReadChunk(std::chrono::steady_clock::now() + timeout);
  }

  // Everything until the peer closes (or the deadline passes).
  std::string ReadUntilClose(std::chrono::steady_clock::time_point deadline) {
    while (ReadSome(deadline)) {
    }
    return std::exchange(buf_, std::string());
  }

  // True if the server closes the connection (EOF or reset) within `timeout`,
  // discarding whatever it sends first.
  bool WaitClosed(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int wait = RemainingMs(deadline);
      if (wait <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, wait);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return false;
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (n <= 0) return true;
    }
  }

  std::string& buffered() { return buf_; }

 private:
  static int RemainingMs(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  }

  bool Fill(size_t n, std::chrono::steady_clock::time_point deadline) {
    while (buf_.size() < n) {
      if (!ReadSome(deadline)) return false;
    }
    return true;
  }

  // Appends what arrives next to buf_; false on close, error or timeout.
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      int wait = RemainingMs(deadline);
      if (wait <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      int rc = ::poll(&p, 1, wait);
      if (rc < 0 && errno == EINTR) continue;
      if (rc <= 0) return false;
      char tmp[65536];
      ssize_t n = ::recv(fd_, tmp, sizeof(tmp), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      buf_.append(tmp, static_cast<size_t>(n));
      return true;
    }
  }

  int fd_ = -1;
  std::string buf_;
};

}  // namespace vigil::server::testing
