// Router: maps (method, path pattern) to a handler. Patterns are literal
// segments and {name} segments ("/api/v1/runs/{id}/log"); a {name} matches
// one non-empty segment and is stored in HttpRequest::path_params. An
// unknown path answers 404, a known path with another method 405 with an
// Allow header.
//
// Thread-safety: Add() before serving; Dispatch() from any thread.
#pragma once

#include <string>
#include <vector>

#include "server/http_types.h"

namespace vigil::server {

class Router {
 public:
  void Add(std::string method, std::string pattern, Handler handler);
  void Dispatch(HttpRequest& request, Responder responder) const;

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;  // "{id}" for parameters
    Handler handler;
  };
  std::vector<Route> routes_;
};

}  // namespace vigil::server
