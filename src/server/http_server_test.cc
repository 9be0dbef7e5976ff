#include "server/http_server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include "server/http_test_support.h"

namespace vigil::server {
namespace {

using std::chrono::milliseconds;
using testing::RawClient;
using testing::RawResponse;
using Clock = std::chrono::steady_clock;

HttpServerOptions TestOptions() {
  HttpServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.threads = 2;
  o.request_timeout = milliseconds(5000);
  o.idle_timeout = milliseconds(5000);
  return o;
}

// Answers "<method> <path>" with the body appended.
void Echo(HttpRequest& req, Responder responder) {
  responder.Send(HttpResponse::Text(200, req.method + " " + req.path + "\n" + req.body));
}

std::unique_ptr<HttpServer> StartServer(HttpServerOptions options, Handler handler) {
  auto server = std::make_unique<HttpServer>(std::move(options), std::move(handler));
  Status st = server->Start();
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_NE(server->port(), 0);
  return server;
}

// Polls `cond` until it holds or `timeout` passes.
template <class F>
bool WaitFor(F cond, milliseconds timeout = milliseconds(5000)) {
  auto deadline = Clock::now() + timeout;
  while (!cond()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

// Keeps what a handler received, for the test thread to inspect.
struct Captured {
  std::mutex mu;
  std::vector<HttpRequest> requests;
  size_t count() {
    std::lock_guard lock(mu);
    return requests.size();
  }
};

TEST(HttpServerTest, EchoRoundTrip) {
  Captured captured;
  auto server = StartServer(TestOptions(), [&](HttpRequest& req, Responder responder) {
    {
      std::lock_guard lock(captured.mu);
      captured.requests.push_back(req);
    }
    Echo(req, std::move(responder));
  });
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("POST", "/echo/a%20b?x=1&y=a+b&z=%2F", "hello",
                            "Authorization: Bearer tok\r\nX-Other: dropped\r\n"
                            "Content-Type: application/json\r\nUser-Agent: test/1\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->version, "HTTP/1.1");
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /echo/a b\nhello");
  EXPECT_EQ(r->Header("server"), "vigil");
  EXPECT_EQ(r->Header("content-length"), std::to_string(r->body.size()));
  EXPECT_EQ(r->Header("content-type"), "text/plain; charset=utf-8");
  EXPECT_FALSE(r->Header("connection").has_value());  // 1.1 keeps alive by default

  ASSERT_EQ(captured.count(), 1u);
  const HttpRequest& req = captured.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.target, "/echo/a%20b?x=1&y=a+b&z=%2F");
  EXPECT_EQ(req.path, "/echo/a b");
  EXPECT_EQ(req.query, (std::vector<std::pair<std::string, std::string>>{
                           {"x", "1"}, {"y", "a b"}, {"z", "/"}}));
  EXPECT_EQ(req.Header("authorization"), "Bearer tok");
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(req.Header("user-agent"), "test/1");
  EXPECT_FALSE(req.Header("x-other").has_value());
  EXPECT_FALSE(req.Header("host").has_value());
  EXPECT_EQ(req.body, "hello");
  EXPECT_EQ(req.remote.rfind("127.0.0.1:", 0), 0u) << req.remote;
}

TEST(HttpServerTest, BodyKeepsPaddingForParsers) {
  size_t size = 0, capacity = 0;
  auto server = StartServer(TestOptions(), [&](HttpRequest& req, Responder responder) {
    size = req.body.size();
    capacity = req.body.capacity();
    responder.Send(HttpResponse::Json(200, "{}"));
  });
  RawClient c(server->port());
  std::string body(1 << 20, 'x');
  ASSERT_TRUE(c.SendRequest("POST", "/", body));
  ASSERT_EQ(c.ReadResponse()->status, 200);
  EXPECT_EQ(size, body.size());
  EXPECT_GE(capacity, size + 64);
}

TEST(HttpServerTest, ChunkedRequestBodyKeepsPadding) {
  std::string got;
  size_t capacity = 0;
  auto server = StartServer(TestOptions(), [&](HttpRequest& req, Responder responder) {
    got = req.body;
    capacity = req.body.capacity();
    responder.Send(HttpResponse::Json(200, "{}"));
  });
  RawClient c(server->port());
  ASSERT_TRUE(
      c.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  ASSERT_EQ(c.ReadResponse()->status, 200);
  EXPECT_EQ(got, "hello world");
  EXPECT_GE(capacity, got.size() + 64);
}

TEST(HttpServerTest, KeepAliveReusesOneConnection) {
  std::mutex mu;
  std::set<std::string> remotes;
  auto server = StartServer(TestOptions(), [&](HttpRequest& req, Responder responder) {
    {
      std::lock_guard lock(mu);
      remotes.insert(req.remote);
    }
    Echo(req, std::move(responder));
  });
  RawClient c(server->port());
  for (int i = 0; i < 200; ++i) {
    std::string body = "n=" + std::to_string(i);
    ASSERT_TRUE(c.SendRequest("POST", "/k", body));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.has_value()) << i;
    ASSERT_EQ(r->body, "POST /k\n" + body);
  }
  EXPECT_EQ(remotes.size(), 1u);
  EXPECT_EQ(server->open_connections(), 1u);
}

TEST(HttpServerTest, PipelinedRequestsAnsweredInOrder) {
  auto server = StartServer(TestOptions(), Echo);
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(c.ReadResponse()->body, "GET /one\n");
  EXPECT_EQ(c.ReadResponse()->body, "GET /two\n");
}

TEST(HttpServerTest, ConnectionCloseHonoured) {
  auto server = StartServer(TestOptions(), Echo);
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(c.WaitClosed(milliseconds(2000)));
}

TEST(HttpServerTest, Http10ClosesByDefault) {
  auto server = StartServer(TestOptions(), Echo);
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("GET /old HTTP/1.0\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->version, "HTTP/1.0");
  EXPECT_EQ(r->body, "GET /old\n");
  EXPECT_TRUE(c.WaitClosed(milliseconds(2000)));
}

TEST(HttpServerTest, Http10KeepAlive) {
  auto server = StartServer(TestOptions(), Echo);
  RawClient c(server->port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(c.Send("GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    auto r = c.ReadResponse();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->version, "HTTP/1.0");
    EXPECT_EQ(r->Header("connection"), "keep-alive");
  }
}

TEST(HttpServerTest, HeadAnswerHasLengthButNoBody) {
  auto server = StartServer(TestOptions(), [](HttpRequest&, Responder responder) {
    responder.Send(HttpResponse::Text(200, "twelve bytes"));
  });
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto head = c.ReadHead(Clock::now() + milliseconds(5000));
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->Header("content-length"), "12");
  // The next bytes are the second answer, not a body.
  auto get = c.ReadResponse();
  ASSERT_TRUE(get.has_value());
  EXPECT_EQ(get->body, "twelve bytes");
}

TEST(HttpServerTest, NoContentHasNoLength) {
  auto server = StartServer(TestOptions(), [](HttpRequest&, Responder responder) {
    responder.Send(HttpResponse::Json(204, ""));
  });
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 204);
  EXPECT_FALSE(r->Header("content-length").has_value());
}

TEST(HttpServerTest, Expect100Continue) {
  auto server = StartServer(TestOptions(), Echo);
  RawClient c(server->port());
  ASSERT_TRUE(
      c.Send("POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
             "Content-Length: 4\r\n\r\n"));
  auto interim = c.ReadHead(Clock::now() + milliseconds(2000));
  ASSERT_TRUE(interim.has_value());
  EXPECT_EQ(interim->status, 100);
  ASSERT_TRUE(c.Send("body"));
  EXPECT_EQ(c.ReadResponse()->body, "POST /e\nbody");
}

TEST(HttpServerTest, HeaderWithLineBreakIsDropped) {
  auto server = StartServer(TestOptions(), [](HttpRequest&, Responder responder) {
    HttpResponse r = HttpResponse::Json(200, "{}");
    r.headers.emplace_back("X-Evil", "a\r\nSet-Cookie: x=1");
    r.headers.emplace_back("X-Fine", "ok");
    responder.Send(std::move(r));
  });
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->Header("x-evil").has_value());
  EXPECT_FALSE(r->Header("set-cookie").has_value());
  EXPECT_EQ(r->Header("x-fine"), "ok");
}

TEST(HttpServerTest, AsyncResponderFromAnotherThread) {
  std::mutex mu;
  std::vector<std::thread> workers;
  auto server = StartServer(TestOptions(), [&](HttpRequest& req, Responder responder) {
    std::lock_guard lock(mu);
    workers.emplace_back([r = std::move(responder), body = std::move(req.body)]() mutable {
      std::this_thread::sleep_for(milliseconds(100));
      r.Send(HttpResponse::Text(200, "late:" + body));
    });
  });
  RawClient c(server->port());
  auto start = Clock::now();
  ASSERT_TRUE(c.SendRequest("POST", "/async", "x"));
  auto r = c.ReadResponse();
  auto elapsed = Clock::now() - start;
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "late:x");
  EXPECT_GE(elapsed, milliseconds(90));
  // The connection stays usable after an asynchronous answer.
  ASSERT_TRUE(c.SendRequest("POST", "/async", "y"));
  EXPECT_EQ(c.ReadResponse()->body, "late:y");
  std::lock_guard lock(mu);
  for (auto& t : workers) t.join();
}

TEST(HttpServerTest, DroppedResponderAnswers500) {
  auto server = StartServer(TestOptions(), [](HttpRequest&, Responder) {});
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"error":{"code":"internal","message":"handler did not answer"}})");
}

TEST(HttpServerTest, ThrowingHandlerAnswers500AndServerSurvives) {
  auto server = StartServer(TestOptions(), [](HttpRequest& req, Responder responder) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    responder.Send(HttpResponse::Json(200, "{}"));
  });
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/throw"));
  EXPECT_EQ(c.ReadResponse()->status, 500);
  ASSERT_TRUE(c.SendRequest("GET", "/fine"));
  EXPECT_EQ(c.ReadResponse()->status, 200);
}

TEST(HttpServerTest, OversizeBodyAnswers413AndCloses) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 1024;
  std::atomic<int> calls{0};
  auto server = StartServer(o, [&](HttpRequest& req, Responder responder) {
    ++calls;
    Echo(req, std::move(responder));
  });
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("POST", "/big", std::string(4096, 'b')));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("content-type"), "application/json");
  EXPECT_EQ(
      r->body,
      R"({"error":{"code":"resource_exhausted","message":"request body exceeds the limit of 1024 bytes"}})");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
  EXPECT_EQ(calls.load(), 0);
}

TEST(HttpServerTest, OversizeChunkedBodyAnswers413) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 1024;
  auto server = StartServer(o, Echo);
  RawClient c(server->port());
  std::string chunk(800, 'c');
  ASSERT_TRUE(c.Send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  ASSERT_TRUE(c.Send("320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 413);
}

TEST(HttpServerTest, BodyAtTheLimitAccepted) {
  HttpServerOptions o = TestOptions();
  o.max_body_bytes = 1024;
  auto server = StartServer(o, Echo);
  RawClient c(server->port());
  std::string body(1024, 'a');
  ASSERT_TRUE(c.SendRequest("POST", "/ok", body));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /ok\n" + body);
}

TEST(HttpServerTest, GarbageAnswers400AndCloses) {
  auto server = StartServer(TestOptions(), Echo);
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("THIS IS NOT HTTP AT ALL\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find(R"("code":"invalid_argument")"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("malformed HTTP request"), std::string::npos) << r->body;
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
}

TEST(HttpServerTest, BadHeaderLineAnswers400) {
  auto server = StartServer(TestOptions(), Echo);
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
}

TEST(HttpServerTest, OversizeHeadersAnswer400) {
  auto server = StartServer(TestOptions(), Echo);
  RawClient c(server->port());
  ASSERT_TRUE(
      c.Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') + "\r\n\r\n"));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->body.find("request headers exceed"), std::string::npos) << r->body;
}

TEST(HttpServerTest, RequestTimeoutClosesSlowClient) {
  HttpServerOptions o = TestOptions();
  o.request_timeout = milliseconds(200);
  std::atomic<int> calls{0};
  auto server = StartServer(o, [&](HttpRequest& req, Responder responder) {
    ++calls;
    Echo(req, std::move(responder));
  });
  RawClient c(server->port());
  auto start = Clock::now();
  ASSERT_TRUE(c.Send("GET /slow HTTP/1.1\r\nHost: x\r\n"));  // never finished
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(150));
  EXPECT_LT(elapsed, milliseconds(2000));
  EXPECT_EQ(calls.load(), 0);
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == 0; }));
}

TEST(HttpServerTest, RequestTimeoutCoversSlowBody) {
  HttpServerOptions o = TestOptions();
  o.request_timeout = milliseconds(200);
  auto server = StartServer(o, Echo);
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
}

TEST(HttpServerTest, SilentConnectionClosedAfterRequestTimeout) {
  HttpServerOptions o = TestOptions();
  o.request_timeout = milliseconds(200);
  auto server = StartServer(o, Echo);
  RawClient c(server->port());
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
}

TEST(HttpServerTest, IdleKeepAliveClosedAfterIdleTimeout) {
  HttpServerOptions o = TestOptions();
  o.idle_timeout = milliseconds(200);
  auto server = StartServer(o, Echo);
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/"));
  ASSERT_TRUE(c.ReadResponse().has_value());
  auto start = Clock::now();
  EXPECT_TRUE(c.WaitClosed(milliseconds(3000)));
  EXPECT_GE(Clock::now() - start, milliseconds(150));
}

TEST(HttpServerTest, ThousandConcurrentConnections) {
  constexpr int kClients = 1000;
  ASSERT_GE(testing::RaiseOpenFileLimit(), static_cast<rlim_t>(2 * kClients + 100));
  auto server = StartServer(TestOptions(), Echo);
  std::vector<RawClient> clients(kClients);
  for (int i = 0; i < kClients; ++i) ASSERT_TRUE(clients[i].Connect(server->port())) << i;
  for (int i = 0; i < kClients; ++i) {
    ASSERT_TRUE(clients[i].SendRequest("POST", "/c", std::to_string(i))) << i;
  }
  // Every connection is open at once on the server.
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == kClients; }))
      << server->open_connections();
  for (int i = 0; i < kClients; ++i) {
    auto r = clients[i].ReadResponse();
    ASSERT_TRUE(r.has_value()) << i;
    ASSERT_EQ(r->body, "POST /c\n" + std::to_string(i));
  }
  EXPECT_EQ(server->open_connections(), static_cast<size_t>(kClients));
  clients.clear();
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == 0; }));
}

TEST(HttpServerTest, MaxConnectionsExceededAnswers503) {
  HttpServerOptions o = TestOptions();
  o.max_connections = 2;
  auto server = StartServer(o, Echo);
  RawClient a(server->port()), b(server->port());
  for (RawClient* c : {&a, &b}) {
    ASSERT_TRUE(c->SendRequest("GET", "/"));
    ASSERT_EQ(c->ReadResponse()->status, 200);
  }
  RawClient extra(server->port());
  ASSERT_TRUE(extra.connected());
  extra.SendRequest("GET", "/");  // may fail if the answer and close came first
  auto r = extra.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(
      r->body,
      R"json({"error":{"code":"unavailable","message":"too many open connections (the limit is 2)"}})json");
  EXPECT_TRUE(extra.WaitClosed(milliseconds(3000)));
  EXPECT_EQ(server->open_connections(), 2u);

  // A slot freed is a slot available.
  a.Close();
  ASSERT_TRUE(WaitFor([&] { return server->open_connections() == 1; }));
  RawClient again(server->port());
  ASSERT_TRUE(again.SendRequest("GET", "/again"));
  EXPECT_EQ(again.ReadResponse()->status, 200);
}

TEST(HttpServerTest, PortInUseFails) {
  auto first = StartServer(TestOptions(), Echo);
  HttpServerOptions o = TestOptions();
  o.port = first->port();
  HttpServer second(o, Echo);
  Status st = second.Start();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("Address already in use"), std::string::npos) << st.ToString();
}

TEST(HttpServerTest, StartTwiceFails) {
  auto server = StartServer(TestOptions(), Echo);
  EXPECT_FALSE(server->Start().ok());
}

TEST(HttpServerTest, StopWithoutStartIsHarmless) {
  HttpServer server(TestOptions(), Echo);
  server.Stop();
  server.Stop();
}

// ---- streams ----

// Holds the stream writer a handler started, for the test to drive.
struct StreamHolder {
  std::mutex mu;
  std::condition_variable cv;
  std::shared_ptr<StreamWriter> writer;

  Handler MakeHandler() {
    return [this](HttpRequest&, Responder responder) {
      HttpResponse head;
      head.content_type = "text/event-stream";
      auto w = responder.StartStream(std::move(head));
      std::lock_guard lock(mu);
      writer = std::move(w);
      cv.notify_all();
    };
  }
  std::shared_ptr<StreamWriter> Wait() {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(5), [&] { return writer != nullptr; });
    return writer;
  }
};

TEST(HttpServerStreamTest, EventsArriveInOrder) {
  StreamHolder holder;
  auto server = StartServer(TestOptions(), holder.MakeHandler());
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/api/v1/stream"));
  auto writer = holder.Wait();
  ASSERT_NE(writer, nullptr);
  std::string expected;
  std::thread producer([&] {
    for (int i = 0; i < 500; ++i) {
      std::string event = "data: " + std::to_string(i) + "\n\n";
      ASSERT_TRUE(writer->Write(event)) << i;
    }
    writer->Close();
  });
  for (int i = 0; i < 500; ++i) expected += "data: " + std::to_string(i) + "\n\n";
  auto r = c.ReadResponse();
  producer.join();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type"), "text/event-stream");
  EXPECT_EQ(r->Header("cache-control"), "no-cache");
  EXPECT_EQ(r->Header("transfer-encoding"), "chunked");
  EXPECT_FALSE(r->Header("content-length").has_value());
  EXPECT_EQ(r->body, expected);
  EXPECT_TRUE(c.WaitClosed(milliseconds(2000)));
  EXPECT_FALSE(writer->IsOpen());
  EXPECT_FALSE(writer->Write("data: late\n\n"));
}

TEST(HttpServerStreamTest, EventsArriveWhileStreamStaysOpen) {
  StreamHolder holder;
  auto server = StartServer(TestOptions(), holder.MakeHandler());
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/s"));
  auto writer = holder.Wait();
  ASSERT_NE(writer, nullptr);
  auto head = c.ReadHead(Clock::now() + milliseconds(5000));
  ASSERT_TRUE(head.has_value());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(writer->Write("data: " + std::to_string(i) + "\n\n"));
    EXPECT_EQ(c.ReadChunk(), "data: " + std::to_string(i) + "\n\n");
  }
  EXPECT_TRUE(writer->IsOpen());
  EXPECT_TRUE(writer->Write(""));  // nothing to send, not an end
  EXPECT_TRUE(writer->IsOpen());
}

TEST(HttpServerStreamTest, Http10StreamRunsToClose) {
  StreamHolder holder;
  auto server = StartServer(TestOptions(), holder.MakeHandler());
  RawClient c(server->port());
  ASSERT_TRUE(c.Send("GET /s HTTP/1.0\r\n\r\n"));
  auto writer = holder.Wait();
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Write("data: a\n\n"));
  ASSERT_TRUE(writer->Write("data: b\n\n"));
  writer->Close();
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->Header("transfer-encoding").has_value());
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_EQ(r->body, "data: a\n\ndata: b\n\n");
}

TEST(HttpServerStreamTest, SlowReaderIsDisconnected) {
  StreamHolder holder;
  auto server = StartServer(TestOptions(), holder.MakeHandler());
  RawClient c(server->port());
  c.SetReceiveBuffer(4096);
  ASSERT_TRUE(c.SendRequest("GET", "/s"));
  auto writer = holder.Wait();
  ASSERT_NE(writer, nullptr);
  // The client reads nothing: socket buffers fill, then the bounded queue.
  std::string event(64 << 10, 'e');
  int accepted = 0;
  while (accepted < 4000 && writer->Write(event)) ++accepted;
  EXPECT_LT(accepted, 4000);
  EXPECT_FALSE(writer->IsOpen());
  EXPECT_TRUE(c.WaitClosed(milliseconds(5000)));
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == 0; }));
}

TEST(HttpServerStreamTest, IsOpenTurnsFalseWhenClientCloses) {
  StreamHolder holder;
  auto server = StartServer(TestOptions(), holder.MakeHandler());
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/s"));
  auto writer = holder.Wait();
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(c.ReadHead(Clock::now() + milliseconds(5000)).has_value());
  ASSERT_TRUE(writer->Write("data: hi\n\n"));
  EXPECT_EQ(c.ReadChunk(), "data: hi\n\n");
  EXPECT_TRUE(writer->IsOpen());
  c.Close();
  // Noticed by the pending read, with nothing being written.
  EXPECT_TRUE(WaitFor([&] { return !writer->IsOpen(); }, milliseconds(2000)));
  EXPECT_FALSE(writer->Write("data: gone\n\n"));
  EXPECT_TRUE(WaitFor([&] { return server->open_connections() == 0; }));
}

// ---- Stop ----

TEST(HttpServerStopTest, WaitsForInFlightAnswer) {
  std::atomic<bool> received{false};
  std::thread worker;
  auto server = StartServer(TestOptions(), [&](HttpRequest&, Responder responder) {
    received = true;
    worker = std::thread([r = std::move(responder)]() mutable {
      std::this_thread::sleep_for(milliseconds(300));
      r.Send(HttpResponse::Text(200, "finished"));
    });
  });
  RawClient c(server->port());
  RawClient idle(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/slow"));
  ASSERT_TRUE(WaitFor([&] { return received.load(); }));
  auto start = Clock::now();
  server->Stop(milliseconds(5000));
  auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(200));
  EXPECT_LT(elapsed, milliseconds(3000));
  auto r = c.ReadResponse();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->Header("connection"), "close");
  EXPECT_TRUE(idle.WaitClosed(milliseconds(1000)));
  worker.join();
  // Nothing is accepted any more.
  RawClient late;
  EXPECT_FALSE(late.Connect(server->port()));
}

TEST(HttpServerStopTest, GivesUpAfterGraceAndLateAnswerIsHarmless) {
  std::mutex mu;
  std::optional<Responder> held;
  auto server = StartServer(TestOptions(), [&](HttpRequest&, Responder responder) {
    std::lock_guard lock(mu);
    held.emplace(std::move(responder));
  });
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/never"));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard lock(mu);
    return held.has_value();
  }));
  auto start = Clock::now();
  server->Stop(milliseconds(200));
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  EXPECT_TRUE(c.WaitClosed(milliseconds(1000)));
  server.reset();
  std::lock_guard lock(mu);
  held->Send(HttpResponse::Text(200, "too late"));  // must not crash or hang
}

TEST(HttpServerStopTest, EndsOpenStreams) {
  StreamHolder holder;
  auto server = StartServer(TestOptions(), holder.MakeHandler());
  RawClient c(server->port());
  ASSERT_TRUE(c.SendRequest("GET", "/s"));
  auto writer = holder.Wait();
  ASSERT_NE(writer, nullptr);
  ASSERT_TRUE(writer->Write("data: 1\n\n"));
  auto start = Clock::now();
  server->Stop(milliseconds(5000));
  EXPECT_LT(Clock::now() - start, milliseconds(2000));
  auto r = c.ReadResponse();  // ends with the last chunk
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->body, "data: 1\n\n");
  EXPECT_FALSE(writer->IsOpen());
  EXPECT_FALSE(writer->Write("data: 2\n\n"));
}

TEST(HttpServerStopTest, StopFromAnotherThreadWhileBusy) {
  auto server = StartServer(TestOptions(), Echo);
  std::atomic<bool> done{false};
  std::thread load([&] {
    while (!done) {
      RawClient c(server->port());
      if (!c.connected()) break;
      c.SendRequest("GET", "/");
      c.ReadResponse(milliseconds(1000));
    }
  });
  std::this_thread::sleep_for(milliseconds(50));
  std::thread stopper([&] { server->Stop(milliseconds(1000)); });
  stopper.join();
  done = true;
  load.join();
  EXPECT_EQ(server->open_connections(), 0u);
}

}  // namespace
}  // namespace vigil::server
