#include "server/http_types.h"

#include <cassert>

#include "core/json_writer.h"

namespace vigil::server {

std::optional<std::string_view> HttpRequest::Query(std::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return std::string_view(value);
  }
  return std::nullopt;
}

std::string_view HttpRequest::PathParam(std::string_view name) const {
  for (const auto& [key, value] : path_params) {
    if (key == name) return value;
  }
  assert(false && "PathParam: the matched route declares no such parameter");
  return {};
}

std::optional<std::string_view> HttpRequest::Header(std::string_view lower_name) const {
  for (const auto& [key, value] : headers) {
    if (key == lower_name) return std::string_view(value);
  }
  return std::nullopt;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Text(int status, std::string body, std::string content_type) {
  HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

int HttpStatusFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kNotSupported:
      return 501;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kCorruption:
    case StatusCode::kIOError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse ErrorResponse(const Status& status) {
  assert(!status.ok());
  JsonWriter w;
  w.BeginObject().Key("error").BeginObject();
  w.Field("code", StatusCodeName(status.code())).Field("message", status.message());
  w.EndObject().EndObject();
  HttpResponse response = HttpResponse::Json(HttpStatusFor(status), w.Take());
  // RFC 6750: a 401 names the scheme the client should use.
  if (status.code() == StatusCode::kUnauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"vigil\"");
  }
  return response;
}

Responder::~Responder() {
  // A handler that returns (or throws) without answering still owes the
  // client an answer; without this the connection would hang until a timeout.
  if (sink_) Send(ErrorResponse(Status::Internal("handler did not answer")));
}

void Responder::Send(HttpResponse response) {
  assert(sink_ && "Responder used twice");
  if (!sink_) return;
  std::shared_ptr<Sink> sink = std::move(sink_);
  sink_.reset();
  sink->Send(std::move(response));
}

std::shared_ptr<StreamWriter> Responder::StartStream(HttpResponse head) {
  assert(sink_ && "Responder used twice");
  if (!sink_) return nullptr;
  std::shared_ptr<Sink> sink = std::move(sink_);
  sink_.reset();
  return sink->StartStream(std::move(head));
}

}  // namespace vigil::server
