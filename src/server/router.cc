#include "server/router.h"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>

#include "server/url.h"

namespace vigil::server {
namespace {

// Splits a path into its segments: "/a/b" -> {"a", "b"}. One trailing slash
// is ignored ("/a/b/" is "/a/b"); an empty segment elsewhere ("/a//b") is
// kept, so it matches no {name}. With `decode`, each segment is
// percent-decoded after the split, so an escaped slash ("%2F") stays inside
// its segment.
std::vector<std::string> SplitSegments(std::string_view path, bool decode) {
  std::vector<std::string> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.empty()) return out;
  for (;;) {
    size_t slash = path.find('/');
    std::string_view seg = path.substr(0, slash);
    out.push_back(decode ? PercentDecode(seg, false) : std::string(seg));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

bool IsParam(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(std::string method, std::string pattern, Handler handler) {
  assert(!pattern.empty() && pattern.front() == '/');
  routes_.push_back(Route{std::move(method), SplitSegments(pattern, false), std::move(handler)});
}

void Router::Dispatch(HttpRequest& request, Responder responder) const {
  // The transport fills `target` (raw) and `path` (decoded); a request built
  // by hand in a test may only have `path`, which is then taken as decoded.
  std::vector<std::string> segments = request.target.empty()
                                          ? SplitSegments(request.path, false)
                                          : SplitSegments(SplitTarget(request.target).first, true);
  // A HEAD is answered by the GET route; the transport drops the body.
  std::string_view method = request.method;
  const Route* best = nullptr;
  int best_literals = -1;
  std::vector<std::string_view> allowed;
  for (const Route& route : routes_) {
    if (route.segments.size() != segments.size()) continue;
    int literals = 0;
    bool match = true;
    for (size_t i = 0; i < segments.size() && match; ++i) {
      if (IsParam(route.segments[i])) {
        match = !segments[i].empty();
        continue;
      }
      match = route.segments[i] == segments[i];
      ++literals;
    }
    if (!match) continue;
    allowed.push_back(route.method);
    bool method_ok = route.method == method || (method == "HEAD" && route.method == "GET");
    // The most specific route wins ("/runs/latest" over "/runs/{id}"); on a
    // tie, the first added.
    if (method_ok && literals > best_literals) {
      best = &route;
      best_literals = literals;
    }
  }
  std::string_view shown_path = request.path;
  if (shown_path.empty()) shown_path = SplitTarget(request.target).first;
  if (best == nullptr && allowed.empty()) {
    responder.SendError(Status::NotFound(fmt::format("no route for {} {}", method, shown_path)));
    return;
  }
  if (best == nullptr) {
    std::sort(allowed.begin(), allowed.end());
    allowed.erase(std::unique(allowed.begin(), allowed.end()), allowed.end());
    std::string allow = fmt::format("{}", fmt::join(allowed, ", "));
    HttpResponse response = ErrorResponse(Status::InvalidArgument(
        fmt::format("method {} is not allowed on {} (allowed: {})", method, shown_path, allow)));
    response.status = 405;
    response.headers.emplace_back("Allow", std::move(allow));
    responder.Send(std::move(response));
    return;
  }
  request.path_params.clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    const std::string& seg = best->segments[i];
    if (IsParam(seg)) {
      request.path_params.emplace_back(seg.substr(1, seg.size() - 2), std::move(segments[i]));
    }
  }
  best->handler(request, std::move(responder));
}

}  // namespace vigil::server
