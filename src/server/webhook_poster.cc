#include "server/webhook_poster.h"

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace vigil::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct ParsedUrl {
  std::string host, port, target;
};

Result<ParsedUrl> ParseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return Status::InvalidArgument(fmt::format("webhook url {} is not http://", url));
  }
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  ParsedUrl u;
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (!authority.empty() && authority.front() == '[') {  // [::1]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument(fmt::format("webhook url {}: bad host", url));
    }
    u.host = std::string(authority.substr(1, close - 1));
    authority = authority.substr(close + 1);
    u.port =
        authority.size() > 1 && authority.front() == ':' ? std::string(authority.substr(1)) : "80";
  } else {
    size_t colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
    u.port = colon == std::string_view::npos ? "80" : std::string(authority.substr(colon + 1));
  }
  if (u.host.empty() || u.port.empty()) {
    return Status::InvalidArgument(fmt::format("webhook url {}: no host", url));
  }
  return u;
}

}  // namespace

Result<int> WebhookPoster::Post(const std::string& url, std::string_view content_type,
                                const std::string& body, std::chrono::milliseconds timeout) {
  VIGIL_ASSIGN_OR_RETURN(ParsedUrl u, ParseHttpUrl(url));
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  http::request<http::string_body> req{http::verb::post, u.target, 11};
  req.set(http::field::host, u.host + ":" + u.port);
  req.set(http::field::user_agent, "vigil-webhook/0.1");
  req.set(http::field::content_type, std::string(content_type));
  req.set(http::field::connection, "close");
  req.body() = body;
  req.prepare_payload();
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  beast::error_code result = net::error::timed_out;
  std::string stage = "resolve";
  // One absolute deadline for every step (tcp_stream's timer covers
  // connect, write and read; a numeric host resolves at once).
  stream.expires_after(timeout);
  resolver.async_resolve(u.host, u.port, [&](beast::error_code ec, tcp::resolver::results_type r) {
    if (ec) {
      result = ec;
      return;
    }
    stage = "connect";
    stream.async_connect(r, [&](beast::error_code ec, const tcp::endpoint&) {
      if (ec) {
        result = ec;
        return;
      }
      stage = "send";
      http::async_write(stream, req, [&](beast::error_code ec, size_t) {
        if (ec) {
          result = ec;
          return;
        }
        stage = "read the answer";
        http::async_read(stream, buffer, res, [&](beast::error_code ec, size_t) { result = ec; });
      });
    });
  });
  ioc.run_for(timeout + std::chrono::milliseconds(100));
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (result) {
    return Status::Unavailable(
        fmt::format("webhook {}: cannot {}: {}", url, stage, result.message()));
  }
  return static_cast<int>(res.result_int());
}

}  // namespace vigil::server
