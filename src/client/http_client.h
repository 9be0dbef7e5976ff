// HttpClient: a small blocking HTTP/1.1 client (plain http://, no TLS) for
// the CLI (`vigil runs`, `vigil export`, `vigil sync`), the C++ SDK's
// background sender and tests. It keeps one connection alive between
// requests and, when a kept connection turns out to be closed by the server
// (an idle timeout on the other side), reconnects and retries once.
//
// Any HTTP status is a successful Request(); only transport failures
// (cannot resolve, cannot connect, reset, timeout) are errors, all
// Unavailable with a message such as
// "cannot connect to 127.0.0.1:7070: Connection refused".
//
// Thread-safety: none; use one HttpClient per thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace vigil::client {

// A parsed base URL: "http://host:port[/prefix]".
struct BaseUrl {
  std::string host;  // "127.0.0.1", "localhost", "::1" (no brackets)
  uint16_t port = 80;
  std::string path_prefix;  // "" or "/prefix" (no trailing slash)
};

// Parses "http://127.0.0.1:7070", "http://localhost:7070/",
// "http://[::1]:7070/vigil" or, without a scheme, "127.0.0.1:7070".
// https:// is NotSupported; anything else malformed is InvalidArgument.
Result<BaseUrl> ParseBaseUrl(std::string_view url);

struct HttpClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string body;

  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

struct HttpClientOptions {
  // Bounds connecting, and each request from first byte sent to last byte
  // received.
  std::chrono::milliseconds timeout{30'000};
  // Sent as "Authorization: Bearer <token>" when set. (Every member has an
  // initializer so that designated initializers compile warning-free.)
  std::string bearer_token{};
  std::string user_agent = "vigil-client/0.1";
};

class HttpClient {
 public:
  using Options = HttpClientOptions;

  // A malformed base URL is reported by every Request().
  explicit HttpClient(std::string base_url, Options options = {});
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `target` is a path and query ("/api/v1/runs?project=p"), appended to the
  // base URL's path prefix. `content_type` is sent only with a body (or for
  // POST, PUT and PATCH).
  Result<HttpClientResponse> Request(std::string_view method, std::string_view target,
                                     std::string body = {},
                                     std::string_view content_type = "application/json");
  Result<HttpClientResponse> Get(std::string_view target) { return Request("GET", target); }
  Result<HttpClientResponse> Post(std::string_view target, std::string body,
                                  std::string_view content_type = "application/json") {
    return Request("POST", target, std::move(body), content_type);
  }

  // Drops the kept connection (the next request connects again).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::client
