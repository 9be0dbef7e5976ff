// Blocking on top of Beast's asynchronous operations: each step starts one
// operation on a private io_context and runs it to completion, so that
// beast::tcp_stream's timeouts (which apply to asynchronous operations only)
// bound every connect, write and read.
#include "client/http_client.h"

#include <poll.h>
#include <sys/socket.h>

#include <charconv>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace vigil::client {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

std::string_view View(beast::string_view s) {
  return {s.data(), s.size()};
}

char Lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

// Errors that mean the server closed a kept connection before reading our
// request: the request was not processed and may be sent again.
bool IsStaleConnection(beast::error_code ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe ||
         ec == net::error::connection_aborted;
}

}  // namespace

Result<BaseUrl> ParseBaseUrl(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return Status::InvalidArgument(fmt::format("invalid server URL \"{}\": {}", url, why));
  };
  std::string_view rest = url;
  if (StartsWithNoCase(rest, "https://")) {
    return Status::NotSupported(
        fmt::format("invalid server URL \"{}\": https is not supported, use http://", url));
  }
  if (StartsWithNoCase(rest, "http://")) {
    rest.remove_prefix(7);
  } else if (rest.find("://") != std::string_view::npos) {
    return bad("the scheme must be http://");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  if (path.find_first_of("?#") != std::string_view::npos)
    return bad("no query or fragment allowed");
  if (authority.find('@') != std::string_view::npos) return bad("no user information allowed");

  BaseUrl out;
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated [ in host");
    out.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("unexpected text after ]");
      port_text = after.substr(1);
      if (port_text.empty()) return bad("empty port");
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad("empty port");
    }
  }
  if (out.host.empty()) return bad("no host");
  if (!port_text.empty()) {
    unsigned port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
    out.port = static_cast<uint16_t>(port);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  out.path_prefix = std::string(path);
  return out;
}

std::optional<std::string_view> HttpClientResponse::Header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers) {
    if (k == lower_name) return std::string_view(v);
  }
  return std::nullopt;
}

struct HttpClient::Impl {
  std::string base_url;
  Status url_status;
  BaseUrl url;
  Options options;
  std::string host_header;  // "host:port", IPv6 in brackets
  std::string where;        // "host:port", for messages

  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;  // engaged while connected
  beast::flat_buffer buffer;

  // Runs the io_context until the operation started by `start` completes.
  template <class Start>
  beast::error_code Run(Start start) {
    beast::error_code result;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    ioc.run();
    return result;
  }

  Status TimeoutOr(beast::error_code ec, std::string_view what) const {
    if (ec == beast::error::timeout) {
      return Status::Unavailable(
          fmt::format("{}: timed out after {} ms", what, options.timeout.count()));
    }
    return Status::Unavailable(fmt::format("{}: {}", what, ec.message()));
  }

  Status Connect() {
    Disconnect();
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
    if (ec)
      return Status::Unavailable(fmt::format("cannot resolve {}: {}", url.host, ec.message()));
    stream.emplace(ioc);
    stream->expires_after(options.timeout);
    ec = Run([&](auto handler) { stream->async_connect(endpoints, std::move(handler)); });
    if (ec) {
      stream.reset();
      return TimeoutOr(ec, fmt::format("cannot connect to {}", where));
    }
    // Requests are small and answered at once: no Nagle delay.
    stream->socket().set_option(tcp::no_delay(true), ec);
    return Status::OK();
  }

  void Disconnect() {
    if (!stream) return;
    beast::error_code ec;
    stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream->close();
    stream.reset();
    buffer.clear();
  }

  // True if the server has closed (or written unasked to) the kept
  // connection, which a request on it would only discover by failing.
  bool KeptConnectionIsDead() {
    pollfd p{stream->socket().native_handle(), POLLIN, 0};
    return ::poll(&p, 1, 0) != 0;
  }

  // One exchange on the current connection. Sets *stale when it failed
  // before any byte of an answer arrived in a way that means the server had
  // closed the connection.
  Result<HttpClientResponse> Exchange(const http::request<http::string_body>& req, bool* stale) {
    *stale = false;
    std::string what =
        fmt::format("{} http://{}{}", View(req.method_string()), where, View(req.target()));
    stream->expires_after(options.timeout);
    beast::error_code ec =
        Run([&](auto handler) { http::async_write(*stream, req, std::move(handler)); });
    if (ec) {
      *stale = IsStaleConnection(ec);
      Disconnect();
      return TimeoutOr(ec, what);
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);  // exports can be large; the caller asked for them
    if (req.method() == http::verb::head) parser.skip(true);
    ec = Run([&](auto handler) { http::async_read(*stream, buffer, parser, std::move(handler)); });
    if (ec) {
      *stale = !parser.got_some() && IsStaleConnection(ec);
      Disconnect();
      return TimeoutOr(ec, what);
    }
    auto& msg = parser.get();
    HttpClientResponse out;
    out.status = static_cast<int>(msg.result_int());
    for (const auto& field : msg) {
      std::string name(View(field.name_string()));
      for (char& c : name) c = Lower(c);
      out.headers.emplace_back(std::move(name), std::string(View(field.value())));
    }
    bool keep = msg.keep_alive();
    out.body = std::move(msg.body());
    if (!keep) Disconnect();
    return out;
  }
};

HttpClient::HttpClient(std::string base_url, Options options) : impl_(std::make_unique<Impl>()) {
  impl_->base_url = std::move(base_url);
  impl_->options = std::move(options);
  Result<BaseUrl> parsed = ParseBaseUrl(impl_->base_url);
  if (!parsed.ok()) {
    impl_->url_status = parsed.status();
    return;
  }
  impl_->url = std::move(parsed).value();
  const BaseUrl& u = impl_->url;
  bool v6 = u.host.find(':') != std::string::npos;
  impl_->where = v6 ? fmt::format("[{}]:{}", u.host, u.port) : fmt::format("{}:{}", u.host, u.port);
  impl_->host_header = impl_->where;
}

HttpClient::~HttpClient() = default;
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;

void HttpClient::Close() {
  impl_->Disconnect();
}

Result<HttpClientResponse> HttpClient::Request(std::string_view method, std::string_view target,
                                               std::string body, std::string_view content_type) {
  Impl& impl = *impl_;
  if (!impl.url_status.ok()) return impl.url_status;

  http::request<http::string_body> req;
  http::verb verb = http::string_to_verb(beast::string_view(method.data(), method.size()));
  if (verb == http::verb::unknown) {
    req.method_string(beast::string_view(method.data(), method.size()));
  } else {
    req.method(verb);
  }
  std::string full_target = impl.url.path_prefix;
  if (target.empty() || target.front() != '/') full_target += '/';
  full_target.append(target);
  req.target(full_target);
  req.version(11);
  req.set(http::field::host, impl.host_header);
  req.set(http::field::user_agent, impl.options.user_agent);
  if (!impl.options.bearer_token.empty()) {
    req.set(http::field::authorization, "Bearer " + impl.options.bearer_token);
  }
  bool sends_body = !body.empty() || verb == http::verb::post || verb == http::verb::put ||
                    verb == http::verb::patch;
  if (sends_body) {
    req.set(http::field::content_type,
            beast::string_view(content_type.data(), content_type.size()));
    req.body() = std::move(body);
  }
  req.keep_alive(true);
  req.prepare_payload();

  // A kept connection may have been closed by the server while idle; the
  // request then goes again, once, on a fresh connection.
  for (int attempt = 0;; ++attempt) {
    bool reused = impl.stream.has_value();
    if (reused && impl.KeptConnectionIsDead()) {
      impl.Disconnect();
      reused = false;
    }
    if (!impl.stream) VIGIL_RETURN_IF_ERROR(impl.Connect());
    bool stale = false;
    Result<HttpClientResponse> r = impl.Exchange(req, &stale);
    if (r.ok() || !reused || !stale || attempt > 0) return r;
  }
}

}  // namespace vigil::client
