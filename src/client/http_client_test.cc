#include "client/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "testing/testing.h"

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <thread>

#include <fmt/format.h>

namespace vigil::client {
namespace {

using std::chrono::milliseconds;

// ---- ParseBaseUrl ----

TEST(ParseBaseUrlTest, HostAndPort) {
  auto u = ParseBaseUrl("http://127.0.0.1:7070");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->host, "127.0.0.1");
  EXPECT_EQ(u->port, 7070);
  EXPECT_EQ(u->path_prefix, "");
}

TEST(ParseBaseUrlTest, TrailingSlash) {
  auto u = ParseBaseUrl("http://localhost:7070/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "localhost");
  EXPECT_EQ(u->path_prefix, "");
}

TEST(ParseBaseUrlTest, PathPrefix) {
  auto u = ParseBaseUrl("http://example:8080/vigil/v1/");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 8080);
  EXPECT_EQ(u->path_prefix, "/vigil/v1");
}

TEST(ParseBaseUrlTest, DefaultPortIs80) {
  auto u = ParseBaseUrl("http://vigil.internal");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->port, 80);
}

TEST(ParseBaseUrlTest, SchemeOptionalAndCaseInsensitive) {
  auto a = ParseBaseUrl("127.0.0.1:9");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 9);
  auto b = ParseBaseUrl("HTTP://h:1");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "h");
}

TEST(ParseBaseUrlTest, Ipv6) {
  auto u = ParseBaseUrl("http://[::1]:7070/p");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, 7070);
  EXPECT_EQ(u->path_prefix, "/p");
}

TEST(ParseBaseUrlTest, HttpsNotSupported) {
  auto u = ParseBaseUrl("https://h:443");
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), StatusCode::kNotSupported);
}

TEST(ParseBaseUrlTest, Malformed) {
  for (const char* url :
       {"", "http://", "http://:7070", "http://h:", "http://h:0", "http://h:65536", "http://h:12x",
        "ftp://h:1", "http://h:1/p?x=1", "http://[::1:7070", "http://u@h:1"}) {
    auto u = ParseBaseUrl(url);
    EXPECT_FALSE(u.ok()) << url;
    if (!u.ok()) {
      EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << url;
    }
  }
}

// ---- a scripted server on a raw socket ----

struct Received {
  int connection = 0;  // 1 for the first connection accepted
  std::string method, target, body;
  std::vector<std::pair<std::string, std::string>> headers;  // lower-case names
  std::string Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return "";
  }
};

struct Reply {
  std::string raw;           // written as is
  bool close_after = false;  // close the connection after writing
};

// Serves one connection at a time on 127.0.0.1; the script decides each
// answer. An empty Reply::raw with close_after closes without answering; an
// empty raw without it answers nothing and waits for the client to close.
class ScriptedServer {
 public:
  using Script = std::function<Reply(const Received&)>;

  explicit ScriptedServer(Script script) : script_(std::move(script)) {
    listen_fd_ = testing::ListenOnLoopback(&port_);
    thread_ = std::thread([this] { Serve(); });
  }

  ~ScriptedServer() {
    stop_ = true;
    ::shutdown(listen_fd_, SHUT_RDWR);
    int conn = conn_fd_.load();
    if (conn >= 0) ::shutdown(conn, SHUT_RDWR);
    thread_.join();
    ::close(listen_fd_);
  }

  uint16_t port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_.load(); }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  void Serve() {
    while (!stop_) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      conn_fd_ = fd;
      int id = ++connections_;
      ServeConnection(fd, id);
      conn_fd_ = -1;
      ::close(fd);
    }
  }

  void ServeConnection(int fd, int id) {
    std::string buf;
    for (;;) {
      Received r;
      r.connection = id;
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!ReadMore(fd, &buf)) return;
      }
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      size_t line_end = head.find("\r\n");
      std::string line = head.substr(0, line_end);
      size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
      r.method = line.substr(0, sp1);
      r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
      size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
      size_t length = 0;
      while (pos < head.size()) {
        size_t e = std::min(head.find("\r\n", pos), head.size());
        std::string h = head.substr(pos, e - pos);
        pos = e + 2;
        size_t colon = h.find(':');
        std::string name = h.substr(0, colon);
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value = h.substr(colon + 2);
        if (name == "content-length") length = std::strtoull(value.c_str(), nullptr, 10);
        r.headers.emplace_back(name, value);
      }
      while (buf.size() < length) {
        if (!ReadMore(fd, &buf)) return;
      }
      r.body = buf.substr(0, length);
      buf.erase(0, length);
      {
        std::lock_guard lock(mu_);
        received_.push_back(r);
      }
      Reply reply = script_(r);
      if (!reply.raw.empty()) ::send(fd, reply.raw.data(), reply.raw.size(), MSG_NOSIGNAL);
      if (reply.close_after) return;
      if (reply.raw.empty()) {  // hang: wait for the client to give up
        while (ReadMore(fd, &buf)) {
        }
        return;
      }
    }
  }

  static bool ReadMore(int fd, std::string* buf) {
    char tmp[65536];
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf->append(tmp, static_cast<size_t>(n));
    return true;
  }

  Script script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<int> conn_fd_{-1};
  std::atomic<int> connections_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Received> received_;
  std::thread thread_;
};

std::string Ok(std::string_view body, std::string_view extra_headers = "") {
  return fmt::format(
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n{}\r\n{}", body.size(),
      extra_headers, body);
}

// Echoes method, target and body.
Reply EchoScript(const Received& r) {
  return {Ok(r.method + " " + r.target + " " + r.body)};
}

TEST(HttpClientTest, GetRoundTrip) {
  ScriptedServer server(EchoScript);
  HttpClient client(server.url());
  auto r = client.Get("/api/v1/runs?project=p");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /api/v1/runs?project=p ");
  EXPECT_EQ(r->Header("content-type"), "text/plain");
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Header("host"), fmt::format("127.0.0.1:{}", server.port()));
  EXPECT_EQ(got[0].Header("user-agent"), "vigil-client/0.1");
  EXPECT_EQ(got[0].Header("authorization"), "");
  EXPECT_EQ(got[0].Header("content-type"), "");
}

TEST(HttpClientTest, PostSendsBodyTokenAndContentType) {
  ScriptedServer server(EchoScript);
  HttpClient client(server.url(), {.timeout = milliseconds(5000), .bearer_token = "s3cret"});
  auto r = client.Post("/api/v1/runs", R"({"project":"p"})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, R"(POST /api/v1/runs {"project":"p"})");
  auto got = server.received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Header("authorization"), "Bearer s3cret");
  EXPECT_EQ(got[0].Header("content-type"), "application/json");
  EXPECT_EQ(got[0].Header("content-length"), "15");
}

TEST(HttpClientTest, CustomMethodAndContentType) {
  ScriptedServer server(EchoScript);
  HttpClient client(server.url());
  auto r = client.Request("PATCH", "/x", "a,b", "text/csv");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "PATCH /x a,b");
  EXPECT_EQ(server.received()[0].Header("content-type"), "text/csv");
  auto p = client.Request("PROPFIND", "/y");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->body, "PROPFIND /y ");
}

TEST(HttpClientTest, PathPrefixPrepended) {
  ScriptedServer server(EchoScript);
  HttpClient client(server.url() + "/vigil/");
  EXPECT_EQ(client.Get("/healthz")->body, "GET /vigil/healthz ");
  EXPECT_EQ(client.Get("metrics")->body, "GET /vigil/metrics ");
}

TEST(HttpClientTest, ErrorStatusIsAResponse) {
  ScriptedServer server([](const Received&) {
    std::string body = R"({"error":{"code":"not_found","message":"no run"}})";
    return Reply{
        fmt::format("HTTP/1.1 404 Not Found\r\nContent-Length: {}\r\n\r\n{}", body.size(), body)};
  });
  HttpClient client(server.url());
  auto r = client.Get("/api/v1/runs/x");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->body, R"({"error":{"code":"not_found","message":"no run"}})");
}

TEST(HttpClientTest, ChunkedResponseDecoded) {
  ScriptedServer server([](const Received&) {
    return Reply{
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"};
  });
  HttpClient client(server.url());
  auto r = client.Get("/");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "abcdefg");
  EXPECT_EQ(client.Get("/")->body, "abcdefg");  // and the connection is kept
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, LargeResponseBody) {
  std::string big(3 << 20, 'z');
  ScriptedServer server([&](const Received&) { return Reply{Ok(big)}; });
  HttpClient client(server.url());
  auto r = client.Get("/export");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body.size(), big.size());
  EXPECT_EQ(r->body, big);
}

TEST(HttpClientTest, KeepAliveReusesOneConnection) {
  ScriptedServer server(EchoScript);
  HttpClient client(server.url());
  for (int i = 0; i < 50; ++i) {
    auto r = client.Post("/log", std::to_string(i));
    ASSERT_TRUE(r.ok()) << i << " " << r.status().ToString();
    ASSERT_EQ(r->body, "POST /log " + std::to_string(i));
  }
  EXPECT_EQ(server.connections(), 1);
}

TEST(HttpClientTest, ConnectionCloseAnswerMeansNewConnection) {
  ScriptedServer server([](const Received& r) {
    return Reply{Ok(r.target, "Connection: close\r\n"), /*close_after=*/true};
  });
  HttpClient client(server.url());
  EXPECT_EQ(client.Get("/a")->body, "/a");
  EXPECT_EQ(client.Get("/b")->body, "/b");
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClientTest, ReconnectsWhenServerClosedIdleConnection) {
  // The server closes after answering, without saying so: the kept
  // connection is dead by the time of the next request.
  ScriptedServer server([](const Received& r) { return Reply{Ok(r.target), true}; });
  HttpClient client(server.url());
  EXPECT_EQ(client.Get("/a")->body, "/a");
  std::this_thread::sleep_for(milliseconds(20));
  auto r = client.Get("/b");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "/b");
  EXPECT_EQ(server.connections(), 2);
  EXPECT_EQ(server.received().size(), 2u);
}

TEST(HttpClientTest, RetriesOnceWhenKeptConnectionDropsRequest) {
  // The first connection answers once, then drops the next request unread
  // (as a server closing an idle connection at that very moment would).
  ScriptedServer server([](const Received& r) {
    if (r.connection == 1 && r.target == "/second") return Reply{"", /*close_after=*/true};
    return Reply{Ok(r.target)};
  });
  HttpClient client(server.url());
  EXPECT_EQ(client.Get("/first")->body, "/first");
  auto r = client.Get("/second");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "/second");
  EXPECT_EQ(server.connections(), 2);
  auto got = server.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].connection, 2);
  EXPECT_EQ(got[2].target, "/second");
}

TEST(HttpClientTest, NoRetryOnFreshConnection) {
  ScriptedServer server([](const Received&) { return Reply{"", /*close_after=*/true}; });
  HttpClient client(server.url());
  auto r = client.Get("/x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(server.received().size(), 1u);
}

TEST(HttpClientTest, ConnectionRefused) {
  // A port that was just free: bind, note it, close.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  uint16_t port = ntohs(addr.sin_port);
  ::close(fd);

  HttpClient client(fmt::format("http://127.0.0.1:{}", port));
  auto r = client.Get("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            fmt::format("cannot connect to 127.0.0.1:{}: Connection refused", port));
}

TEST(HttpClientTest, TimeoutWhenServerDoesNotAnswer) {
  ScriptedServer server([](const Received&) { return Reply{}; });  // hangs
  HttpClient client(server.url(), {.timeout = milliseconds(200)});
  auto start = std::chrono::steady_clock::now();
  auto r = client.Get("/slow");
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("timed out after 200 ms"), std::string::npos)
      << r.status().message();
  EXPECT_GE(elapsed, milliseconds(150));
  EXPECT_LT(elapsed, milliseconds(3000));
  // Only one attempt: a timeout is not a stale connection.
  EXPECT_EQ(server.received().size(), 1u);
}

TEST(HttpClientTest, MalformedAnswerIsAnError) {
  ScriptedServer server([](const Received&) { return Reply{"NOT HTTP\r\n\r\n", true}; });
  HttpClient client(server.url());
  auto r = client.Get("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
}

TEST(HttpClientTest, BadBaseUrlReportedByRequest) {
  HttpClient client("https://secure:443");
  auto r = client.Get("/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kNotSupported);
}

TEST(HttpClientTest, CloseThenReuse) {
  ScriptedServer server(EchoScript);
  HttpClient client(server.url());
  ASSERT_TRUE(client.Get("/a").ok());
  client.Close();
  ASSERT_TRUE(client.Get("/b").ok());
  EXPECT_EQ(server.connections(), 2);
}

TEST(HttpClientTest, MovedClientWorks) {
  ScriptedServer server(EchoScript);
  HttpClient a(server.url());
  ASSERT_TRUE(a.Get("/a").ok());
  HttpClient b = std::move(a);
  EXPECT_EQ(b.Get("/b")->body, "GET /b ");
  EXPECT_EQ(server.connections(), 1);
}

}  // namespace
}  // namespace vigil::client
