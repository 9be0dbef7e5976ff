// The request and response types that handlers see: plain structs with no
// dependency on the transport (Boost.Beast lives in http_server.cc only), so
// handlers are small functions that can be tested without sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace vigil::server {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // as received: path and query string
  std::string path;    // percent-decoded path without the query string
  // Query parameters in order, percent-decoded ('+' is a space).
  std::vector<std::pair<std::string, std::string>> query;
  // Lower-case header names; only those the handlers use are kept.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body; its capacity may exceed its size (parsers use the slack).
  std::string body;
  std::string remote;  // "127.0.0.1:53422"
  // Values of the {name} segments of the matched route, set by the Router.
  std::vector<std::pair<std::string, std::string>> path_params;

  // The first value of a query parameter, if present.
  std::optional<std::string_view> Query(std::string_view name) const;
  // A path parameter; REQUIRES: the route declares it.
  std::string_view PathParam(std::string_view name) const;
  std::optional<std::string_view> Header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra ones

  static HttpResponse Json(int status, std::string body);
  static HttpResponse Text(int status, std::string body,
                           std::string content_type = "text/plain; charset=utf-8");
};

// The HTTP status for a Status code: the one place that maps them
// (InvalidArgument 400, Unauthenticated 401, PermissionDenied 403,
// NotFound 404, AlreadyExists/FailedPrecondition 409, ResourceExhausted 413,
// NotSupported 501, Unavailable 503, everything else 500).
int HttpStatusFor(const Status& status);

// {"error": {"code": "<snake_case code>", "message": "..."}} with the
// status's HTTP code. REQUIRES: !status.ok()
HttpResponse ErrorResponse(const Status& status);

// A server-sent-events (or other streamed) answer in progress. Writes are
// queued and sent in order; the queue is bounded, and a client that does not
// keep up is disconnected rather than buffered without limit.
// Thread-safety: any thread.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues bytes; false once the connection is closed or the queue is full
  // (then the stream is closed).
  virtual bool Write(std::string data) = 0;
  virtual void Close() = 0;
  virtual bool IsOpen() const = 0;
};

// The way a handler answers: exactly one of Send or StartStream, once, from
// any thread, now or later (an asynchronous handler keeps the Responder and
// answers when its work completes). Move-only. Dropping an unused Responder
// answers 500, so a request is never left hanging.
class Responder {
 public:
  struct Sink {
    virtual ~Sink() = default;
    virtual void Send(HttpResponse response) = 0;
    virtual std::shared_ptr<StreamWriter> StartStream(HttpResponse head) = 0;
  };

  explicit Responder(std::shared_ptr<Sink> sink) : sink_(std::move(sink)) {}
  Responder(Responder&&) = default;
  Responder& operator=(Responder&&) = default;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  void Send(HttpResponse response);
  void SendError(const Status& status) { Send(ErrorResponse(status)); }
  // Sends the status line and headers of `head` (its body is ignored) and
  // returns the writer for the body.
  std::shared_ptr<StreamWriter> StartStream(HttpResponse head);

 private:
  std::shared_ptr<Sink> sink_;  // null once used
};

using Handler = std::function<void(HttpRequest&, Responder)>;

}  // namespace vigil::server
