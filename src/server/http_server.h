// HttpServer: the transport. Asynchronous HTTP/1.1 (Boost.Beast on
// Boost.Asio) with keep-alive, a timer on every connection, a bounded body
// size and a bounded number of connections; hands each complete request to
// one Handler. Routing, authentication and the endpoints live above it.
//
// Thread-safety: Start/Stop from one controlling thread; the handler is
// called on the server's I/O threads, concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "server/http_types.h"

namespace vigil::server {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 7070;  // 0 picks a free port (see HttpServer::port())
  int threads = 0;       // I/O threads; 0 = hardware concurrency
  size_t max_body_bytes = 64ull << 20;
  size_t max_connections = 10'000;
  // A request's headers and body must arrive within this time.
  std::chrono::milliseconds request_timeout{30'000};
  // An idle keep-alive connection is closed after this time.
  std::chrono::milliseconds idle_timeout{120'000};
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, Handler handler);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads. Fails if the address is taken.
  Status Start();
  // Stops accepting, closes connections once their in-flight responses are
  // written (waiting at most `grace`), joins the threads.
  void Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

  uint16_t port() const;  // the bound port, after Start()
  size_t open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::server
