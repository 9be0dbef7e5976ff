// The transport, after Boost.Beast's example/advanced/server: one listener,
// one Session per connection, every connection on a strand of one
// io_context run by N threads.
//
// A Session reads one request at a time (header, then body), hands it to the
// handler and reads the next only once the answer is written, so at most one
// answer per connection is ever in flight. Answers come back through a
// Responder whose Sink posts onto the session's strand from any thread (or,
// for a handler answering before it returns, runs at once on that strand).
//
// Lifetime (the part that is easy to get wrong):
//  1. Core owns the io_context; a Session is owned by Core::sessions while
//     open and by the handlers pending on its strand. Sinks and stream
//     writers hold only weak references to it, plus a strong one to Core.
//  2. A post onto a strand happens under Core::post_mu (shared) after
//     checking Core::stopped; Stop() sets `stopped` (exclusive) after the
//     I/O threads are joined and before the io_context is destroyed, so no
//     post can race with that destruction. (Work run at once on the strand
//     needs no lock: it runs on an I/O thread, which Stop() joins first.)
//  3. Destroying the io_context destroys the handlers still queued on it,
//     and with them the last Sessions (Asio documents this as the way to
//     release connection objects owned by handlers).
#include "server/http_server.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/url.h"

namespace vigil::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

// simdjson reads up to SIMDJSON_PADDING (64) bytes past the end of its input;
// a body with that much spare capacity is parsed in place, without a copy.
constexpr size_t kBodyPadding = 64;
// Read-buffer capacity an idle connection may keep between requests.
constexpr size_t kIdleBufferBytes = 16 * 1024;
// Request line plus headers; a bearer token and a few headers fit many times.
constexpr uint32_t kHeaderLimit = 16 * 1024;
// A stream's queue (messages written but not yet sent): past either bound the
// client is not keeping up and is disconnected.
constexpr size_t kStreamMaxMessages = 1000;
constexpr size_t kStreamMaxBytes = 8u << 20;
// After an error answer (400, 413, 503) the server stops sending and drains
// what the client still sends for this long before closing, so the client
// reads the answer instead of a reset.
constexpr auto kLingerTime = std::chrono::milliseconds(1000);
// A failed accept (EMFILE, ENFILE) is retried after this pause rather than in
// a busy loop.
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(50);
// The request headers handlers may read (HttpRequest::headers); others are
// dropped during conversion.
constexpr std::string_view kKeptHeaders[] = {
    "authorization",   "content-type",  "content-encoding", "accept",
    "accept-encoding", "last-event-id", "user-agent",
};

std::string_view View(beast::string_view s) {
  return {s.data(), s.size()};
}

// ASCII case-insensitive equality (header names and tokens).
bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] + 32) : a[i];
    char y = b[i] >= 'A' && b[i] <= 'Z' ? static_cast<char>(b[i] + 32) : b[i];
    if (x != y) return false;
  }
  return true;
}

// string_body with spare capacity: reserves Content-Length + kBodyPadding up
// front (one allocation, one copy out of the read buffer), and keeps the
// padding while a chunked body grows.
struct PaddedStringBody {
  using value_type = std::string;

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    // The parser has already checked `length` against body_limit.
    void init(const boost::optional<uint64_t>& length, beast::error_code& ec) {
      ec = {};
      if (length) body_.reserve(static_cast<size_t>(*length) + kBodyPadding);
    }

    template <class ConstBufferSequence>
    size_t put(const ConstBufferSequence& buffers, beast::error_code& ec) {
      ec = {};
      size_t extra = net::buffer_size(buffers);
      size_t size = body_.size();
      if (body_.capacity() < size + extra + kBodyPadding) {
        body_.reserve(std::max(body_.capacity() * 2, size + extra + kBodyPadding));
      }
      body_.resize(size + extra);
      net::buffer_copy(net::buffer(body_.data() + size, extra), buffers);
      return extra;
    }

    void finish(beast::error_code& ec) { ec = {}; }

   private:
    value_type& body_;
  };
};

using RequestParser = http::request_parser<PaddedStringBody>;

bool HasLineBreak(std::string_view s) {
  return s.find_first_of("\r\n") != std::string_view::npos;
}

bool HasHeader(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (IEquals(k, name)) return true;
  }
  return false;
}

struct HeadOptions {
  unsigned version = 11;   // 10 or 11, as the request's
  bool close = false;      // Connection: close
  bool has_length = true;  // Content-Length (fixed-size answers)
  size_t length = 0;
  bool chunked = false;   // Transfer-Encoding: chunked (streams over 1.1)
  bool no_cache = false;  // Cache-Control: no-cache unless the handler set one
};

// The status line and headers of an answer. Header names or values with a
// line break are dropped: a handler echoing user input must not be able to
// inject headers.
std::string BuildHead(const HttpResponse& r, const HeadOptions& o) {
  std::string h;
  h.reserve(160);
  beast::string_view reason =
      http::obsolete_reason(http::int_to_status(static_cast<unsigned>(r.status)));
  fmt::format_to(std::back_inserter(h), "HTTP/{}.{} {} {}\r\nServer: vigil\r\n", o.version / 10,
                 o.version % 10, r.status, View(reason));
  if (!r.content_type.empty() && !HasLineBreak(r.content_type)) {
    h.append("Content-Type: ").append(r.content_type).append("\r\n");
  }
  for (const auto& [name, value] : r.headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value)) continue;
    h.append(name).append(": ").append(value).append("\r\n");
  }
  if (o.no_cache && !HasHeader(r, "cache-control")) h.append("Cache-Control: no-cache\r\n");
  if (o.has_length) fmt::format_to(std::back_inserter(h), "Content-Length: {}\r\n", o.length);
  if (o.chunked) h.append("Transfer-Encoding: chunked\r\n");
  if (o.close) {
    h.append("Connection: close\r\n");
  } else if (o.version == 10) {
    h.append("Connection: keep-alive\r\n");
  }
  h.append("\r\n");
  return h;
}

// 1xx, 204 and 304 answers carry no body (RFC 9110 section 6.4.1).
bool StatusHasBody(int status) {
  return status >= 200 && status != 204 && status != 304;
}

std::string FormatEndpoint(const tcp::endpoint& ep) {
  if (ep.address().is_v6()) return fmt::format("[{}]:{}", ep.address().to_string(), ep.port());
  return fmt::format("{}:{}", ep.address().to_string(), ep.port());
}

// Lets the process hold as many sockets as the hard limit allows (the
// default soft limit, often 1,024, is below what one server must serve).
void RaiseFileLimit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  rl.rlim_cur = rl.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &rl);  // best effort: the server runs with less
}

class Session;

// What a streamed answer shares between its writer (any thread) and its
// session (the strand). All fields GUARDED_BY(mu).
struct StreamState {
  std::mutex mu;
  std::vector<std::string> queue;  // written, not yet handed to the socket
  size_t pending_bytes = 0;        // queued + being written
  size_t pending_messages = 0;
  bool open = true;             // Write() accepts more
  bool end_requested = false;   // Close(): end once the queue is sent
  bool pump_scheduled = false;  // the session will look at the queue again
};

// Everything the I/O threads share. Shared-owned by HttpServer::Impl and by
// every Sink and stream writer, so it outlives answers sent late.
struct Core : std::enable_shared_from_this<Core> {
  HttpServerOptions options;
  Handler handler;
  std::string busy_answer;  // the 503 sent past max_connections

  std::optional<net::io_context> ioc;
  std::optional<tcp::acceptor> acceptor;  // on its own strand
  std::optional<net::steady_timer> accept_retry;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  std::vector<std::thread> threads;
  uint16_t port = 0;

  std::atomic<size_t> open{0};
  std::atomic<bool> stopping{false};

  std::mutex sessions_mu;
  std::condition_variable sessions_cv;                              // signalled on Unregister
  std::unordered_map<Session*, std::shared_ptr<Session>> sessions;  // GUARDED_BY(sessions_mu)

  std::shared_mutex post_mu;
  bool stopped = false;  // GUARDED_BY(post_mu); see invariant 2 above

  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  // False if the server is stopping (the caller then drops the session).
  bool Register(const std::shared_ptr<Session>& session);
  void Unregister(Session* session);
};

// Posts f(session) onto the session's strand, unless the server has stopped
// or the session is gone. See invariant 2.
template <class F>
bool PostToSession(Core& core, const std::weak_ptr<Session>& weak, F&& f);

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Core* core, tcp::socket&& socket) : core_(core), stream_(std::move(socket)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = FormatEndpoint(ep);
    // Each answer is one write; nothing is gained by Nagle's delay.
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }
  ~Session() { MarkStreamClosed(); }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  net::any_io_executor get_executor() { return stream_.get_executor(); }
  // True on the thread now running this session's strand.
  bool RunningInThisThread() {
    net::any_io_executor ex = stream_.get_executor();
    auto* strand = ex.target<net::strand<net::io_context::executor_type>>();
    return strand != nullptr && strand->running_in_this_thread();
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
  }

  // The handler's answer (on the strand).
  void OnResponse(HttpResponse response) {
    if (state_ != State::kHandling) return;  // closed meanwhile
    bool close = !keep_alive_ || close_after_response_ || core_->stopping.load();
    WriteResponse(std::move(response), close, /*linger=*/false);
  }

  void OnStartStream(HttpResponse head, std::shared_ptr<StreamState> st);
  void Pump();
  // Server shutdown: close when idle, after the answer in flight, or end the
  // stream.
  void BeginShutdown();
  // Closes the connection. With `abort`, the bytes still in the kernel's
  // send buffer are dropped (a reset), for a client that stopped reading.
  void DoClose(bool abort = false);

 private:
  enum class State { kIdle, kReading, kHandling, kWriting, kStreaming, kLingering, kClosed };

  void WaitForRequest();
  void ReadHeader();
  void OnHeader(beast::error_code ec);
  void ReadBody();
  void OnReadError(beast::error_code ec);
  void Dispatch();
  void WriteResponse(HttpResponse response, bool close, bool linger);
  void OnWritten(beast::error_code ec, bool close, bool linger);
  void FailRequest(const Status& status);
  void LingerClose();
  void DrainRead();
  void GracefulClose();
  void StartDiscardRead();
  void OnStreamWritten(beast::error_code ec, bool end, size_t bytes, size_t messages);
  void MarkStreamClosed() {
    if (!stream_state_) return;
    std::lock_guard lock(stream_state_->mu);
    stream_state_->open = false;
  }
  std::chrono::milliseconds WriteTimeout() const { return core_->options.idle_timeout; }

  // All below: touched only on the strand.
  Core* core_;  // outlives every Session (see invariant 1)
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<RequestParser> parser_;
  State state_ = State::kIdle;
  bool first_request_ = true;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  bool head_request_ = false;
  bool close_after_response_ = false;
  bool closed_ = false;
  Clock::time_point deadline_;  // for the request being read
  std::string remote_;
  std::string out_head_;  // the answer being written
  std::string out_body_;
  std::array<char, 1024> discard_{};  // bytes read only to notice a close

  std::shared_ptr<StreamState> stream_state_;
  bool chunked_ = false;
  bool writing_ = false;
  bool stream_ended_ = false;
  std::vector<std::string> out_batch_;
  std::vector<std::string> out_frames_;  // chunk-size lines for out_batch_
  std::vector<net::const_buffer> out_buffers_;
};

// Hands a handler's answer to its session.
class SessionSink final : public Responder::Sink {
 public:
  SessionSink(std::shared_ptr<Core> core, std::weak_ptr<Session> session)
      : core_(std::move(core)), session_(std::move(session)) {}

  void Send(HttpResponse response) override {
    PostToSession(*core_, session_,
                  [r = std::move(response)](Session& s) mutable { s.OnResponse(std::move(r)); });
  }

  std::shared_ptr<StreamWriter> StartStream(HttpResponse head) override;

 private:
  std::shared_ptr<Core> core_;
  std::weak_ptr<Session> session_;
};

class StreamWriterImpl final : public StreamWriter {
 public:
  StreamWriterImpl(std::shared_ptr<Core> core, std::weak_ptr<Session> session,
                   std::shared_ptr<StreamState> st)
      : core_(std::move(core)), session_(std::move(session)), st_(std::move(st)) {}

  bool Write(std::string data) override {
    bool post_pump = false;
    {
      std::lock_guard lock(st_->mu);
      if (!st_->open) return false;
      if (data.empty()) return true;  // an empty chunk would end the stream
      if (st_->pending_messages + 1 > kStreamMaxMessages ||
          st_->pending_bytes + data.size() > kStreamMaxBytes) {
        st_->open = false;
      } else {
        st_->pending_messages += 1;
        st_->pending_bytes += data.size();
        st_->queue.push_back(std::move(data));
        post_pump = !st_->pump_scheduled;
        st_->pump_scheduled = true;
      }
    }
    if (post_pump) {
      if (!PostToSession(*core_, session_, [](Session& s) { s.Pump(); })) Abandon();
      return true;
    }
    if (IsOpen()) return true;
    // Over the bound: the client is not reading. Drop the connection now; a
    // graceful end would wait behind the write that is stuck.
    PostToSession(*core_, session_, [](Session& s) { s.DoClose(/*abort=*/true); });
    return false;
  }

  void Close() override {
    bool post_pump = false;
    {
      std::lock_guard lock(st_->mu);
      if (!st_->open) return;
      st_->open = false;
      st_->end_requested = true;
      post_pump = !st_->pump_scheduled;
      st_->pump_scheduled = true;
    }
    if (post_pump) PostToSession(*core_, session_, [](Session& s) { s.Pump(); });
  }

  bool IsOpen() const override {
    std::lock_guard lock(st_->mu);
    return st_->open;
  }

 private:
  void Abandon() {
    std::lock_guard lock(st_->mu);
    st_->open = false;
  }

  std::shared_ptr<Core> core_;
  std::weak_ptr<Session> session_;
  std::shared_ptr<StreamState> st_;
};

template <class F>
bool PostToSession(Core& core, const std::weak_ptr<Session>& weak, F&& f) {
  std::shared_ptr<Session> s = weak.lock();
  if (!s) return false;
  // A synchronous handler answers on the session's own strand: run at once,
  // saving a trip through the queue. (This is an I/O thread, so Stop() cannot
  // be destroying the io_context meanwhile.)
  if (s->RunningInThisThread()) {
    f(*s);
    return true;
  }
  std::shared_lock lock(core.post_mu);
  if (core.stopped) return false;
  net::any_io_executor ex = s->get_executor();
  net::post(ex, [s = std::move(s), f = std::forward<F>(f)]() mutable { f(*s); });
  return true;
}

std::shared_ptr<StreamWriter> SessionSink::StartStream(HttpResponse head) {
  auto st = std::make_shared<StreamState>();
  auto writer = std::make_shared<StreamWriterImpl>(core_, session_, st);
  bool posted = PostToSession(*core_, session_, [head = std::move(head), st](Session& s) mutable {
    s.OnStartStream(std::move(head), std::move(st));
  });
  if (!posted) {
    std::lock_guard lock(st->mu);
    st->open = false;
  }
  return writer;
}

// ---- reading a request ----

void Session::WaitForRequest() {
  state_ = State::kIdle;
  if (close_after_response_) return DoClose();
  if (buffer_.size() > 0) {  // a pipelined request is already here
    deadline_ = Clock::now() + core_->options.request_timeout;
    return ReadHeader();
  }
  // The first request must arrive within request_timeout of the connect; a
  // later one may wait idle_timeout for its first byte.
  if (first_request_) {
    deadline_ = Clock::now() + core_->options.request_timeout;
    stream_.expires_at(deadline_);
  } else {
    stream_.expires_after(core_->options.idle_timeout);
  }
  stream_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, size_t n) {
                            if (ec)
                              return self->DoClose();  // closed, reset or timed out while idle
                            self->buffer_.commit(n);
                            if (!self->first_request_) {
                              self->deadline_ = Clock::now() + self->core_->options.request_timeout;
                            }
                            self->ReadHeader();
                          });
}

void Session::ReadHeader() {
  state_ = State::kReading;
  parser_.emplace();
  parser_->body_limit(static_cast<uint64_t>(core_->options.max_body_bytes));
  parser_->header_limit(kHeaderLimit);
  stream_.expires_at(deadline_);
  http::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
}

void Session::OnHeader(beast::error_code ec) {
  if (ec) return OnReadError(ec);
  const auto& req = parser_->get();
  auto expect = req.find(http::field::expect);
  if (expect != req.end() && req.version() >= 11 &&
      IEquals(View(expect->value()), "100-continue") && !parser_->is_done()) {
    // curl waits a second for this before sending a body of more than 1 KiB.
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    return net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                            [self = shared_from_this()](beast::error_code ec2, size_t) {
                              if (ec2) return self->DoClose();
                              self->ReadBody();
                            });
  }
  ReadBody();
}

void Session::ReadBody() {
  if (parser_->is_done()) return Dispatch();
  stream_.expires_at(deadline_);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     if (ec) return self->OnReadError(ec);
                     self->Dispatch();
                   });
}

void Session::OnReadError(beast::error_code ec) {
  if (ec == http::error::body_limit) {
    return FailRequest(Status::ResourceExhausted(
        fmt::format("request body exceeds the limit of {} bytes", core_->options.max_body_bytes)));
  }
  if (ec == http::error::header_limit) {
    return FailRequest(Status::InvalidArgument(
        fmt::format("request headers exceed the limit of {} bytes", kHeaderLimit)));
  }
  // The client went away, stalled past the deadline or stopped mid-message:
  // nobody is left to read an answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec.category() != http::make_error_code(http::error::bad_method).category()) {
    return DoClose();
  }
  FailRequest(Status::InvalidArgument(fmt::format("malformed HTTP request: {}", ec.message())));
}

void Session::FailRequest(const Status& status) {
  state_ = State::kHandling;
  keep_alive_ = false;
  head_request_ = false;
  WriteResponse(ErrorResponse(status), /*close=*/true, /*linger=*/true);
}

// ---- handing it to the handler ----

void Session::Dispatch() {
  state_ = State::kHandling;
  first_request_ = false;
  http::request<PaddedStringBody> msg = parser_->release();
  parser_.reset();
  // A large body passed through the read buffer; an idle connection should
  // not keep that memory.
  if (buffer_.size() == 0 && buffer_.capacity() > kIdleBufferBytes) buffer_.shrink_to_fit();
  keep_alive_ = msg.keep_alive();
  version_ = msg.version() == 10 ? 10 : 11;
  head_request_ = msg.method() == http::verb::head;

  HttpRequest request;
  request.method = std::string(View(msg.method_string()));
  request.target = std::string(View(msg.target()));
  auto [raw_path, raw_query] = SplitTarget(request.target);
  request.path = PercentDecode(raw_path, false);
  request.query = ParseQueryString(raw_query);
  for (const auto& field : msg) {
    std::string_view name = View(field.name_string());
    for (std::string_view kept : kKeptHeaders) {
      if (IEquals(name, kept)) {
        request.headers.emplace_back(std::string(kept), std::string(View(field.value())));
        break;
      }
    }
  }
  request.body = std::move(msg.body());  // keeps its padded capacity
  request.remote = remote_;

  auto sink = std::make_shared<SessionSink>(core_->shared_from_this(), weak_from_this());
  try {
    core_->handler(request, Responder(std::move(sink)));
  } catch (const std::exception& e) {
    // The Responder, destroyed while unwinding, has answered 500 if needed.
    std::fprintf(stderr, "vigil: handler for %s %s threw: %s\n", request.method.c_str(),
                 request.path.c_str(), e.what());
  } catch (...) {
    std::fprintf(stderr, "vigil: handler for %s %s threw\n", request.method.c_str(),
                 request.path.c_str());
  }
}

// ---- writing the answer ----

void Session::WriteResponse(HttpResponse response, bool close, bool linger) {
  state_ = State::kWriting;
  if (response.status < 100 || response.status > 999) response.status = 500;
  bool has_body = StatusHasBody(response.status);
  HeadOptions o;
  o.version = version_;
  o.close = close;
  o.has_length = has_body;
  o.length = response.body.size();
  out_head_ = BuildHead(response, o);
  out_body_.clear();
  if (has_body && !head_request_) out_body_ = std::move(response.body);
  std::array<net::const_buffer, 2> buffers{net::buffer(out_head_), net::buffer(out_body_)};
  stream_.expires_after(WriteTimeout());
  net::async_write(stream_, buffers,
                   [self = shared_from_this(), close, linger](beast::error_code ec, size_t) {
                     self->OnWritten(ec, close, linger);
                   });
}

void Session::OnWritten(beast::error_code ec, bool close, bool linger) {
  std::string().swap(out_body_);  // a large answer's memory goes back now
  if (ec) return DoClose();
  if (linger) return LingerClose();
  if (close) return GracefulClose();
  WaitForRequest();
}

// ---- closing ----

void Session::GracefulClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  DoClose();
}

void Session::LingerClose() {
  state_ = State::kLingering;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  deadline_ = Clock::now() + kLingerTime;
  DrainRead();
}

void Session::DrainRead() {
  stream_.expires_at(deadline_);
  stream_.async_read_some(net::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) return self->DoClose();
                            self->DrainRead();
                          });
}

void Session::DoClose(bool abort) {
  if (closed_) return;
  auto self = shared_from_this();  // Unregister may drop the registry's reference
  closed_ = true;
  state_ = State::kClosed;
  MarkStreamClosed();
  beast::error_code ec;
  if (abort) {
    stream_.socket().set_option(net::socket_base::linger(true, 0), ec);
  } else {
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  }
  stream_.close();
  core_->Unregister(this);
}

void Session::BeginShutdown() {
  close_after_response_ = true;
  switch (state_) {
    case State::kIdle:
    case State::kLingering:
      return DoClose();
    case State::kReading:  // the answer to this request will close
    case State::kHandling:
    case State::kWriting:
    case State::kClosed:
      return;
    case State::kStreaming: {
      {
        std::lock_guard lock(stream_state_->mu);
        stream_state_->open = false;
        stream_state_->end_requested = true;
      }
      return Pump();
    }
  }
}

// ---- streams ----

void Session::OnStartStream(HttpResponse head, std::shared_ptr<StreamState> st) {
  if (state_ != State::kHandling) {
    std::lock_guard lock(st->mu);
    st->open = false;
    return;
  }
  state_ = State::kStreaming;
  stream_state_ = std::move(st);
  if (close_after_response_ || core_->stopping.load()) {
    std::lock_guard lock(stream_state_->mu);
    stream_state_->open = false;
    stream_state_->end_requested = true;
  }
  // Over HTTP/1.1 the body is chunked so the client can tell a clean end
  // from a cut; over 1.0 it runs to the close. Either way the connection
  // closes after the stream.
  chunked_ = version_ >= 11;
  HeadOptions o;
  o.version = version_;
  o.close = true;
  o.has_length = false;
  o.chunked = chunked_;
  o.no_cache = true;
  out_head_ = BuildHead(head, o);
  writing_ = true;
  stream_.expires_after(WriteTimeout());
  net::async_write(stream_, net::buffer(out_head_),
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->writing_ = false;
                     if (ec) return self->DoClose();
                     self->StartDiscardRead();
                     self->Pump();
                   });
}

// A read that stays pending for the stream's life: its failure is how a
// client that goes away is noticed (IsOpen turns false) even when nothing is
// being written. Whatever the client sends meanwhile is discarded.
void Session::StartDiscardRead() {
  if (closed_) return;
  stream_.expires_never();
  stream_.async_read_some(net::buffer(discard_),
                          [self = shared_from_this()](beast::error_code ec, size_t) {
                            if (ec) return self->DoClose();
                            self->StartDiscardRead();
                          });
}

void Session::Pump() {
  if (closed_ || state_ != State::kStreaming || writing_ || stream_ended_) return;
  bool end = false;
  {
    std::lock_guard lock(stream_state_->mu);
    out_batch_.clear();
    out_batch_.swap(stream_state_->queue);
    end = stream_state_->end_requested;
    if (out_batch_.empty() && !end) {
      stream_state_->pump_scheduled = false;
      return;
    }
  }
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  out_frames_.clear();
  out_buffers_.clear();
  size_t bytes = 0;
  for (const std::string& m : out_batch_) bytes += m.size();
  if (chunked_) {
    out_frames_.reserve(out_batch_.size());
    for (const std::string& m : out_batch_)
      out_frames_.push_back(fmt::format("{:x}\r\n", m.size()));
  }
  for (size_t i = 0; i < out_batch_.size(); ++i) {
    if (chunked_) out_buffers_.push_back(net::buffer(out_frames_[i]));
    out_buffers_.push_back(net::buffer(out_batch_[i]));
    if (chunked_) out_buffers_.push_back(net::buffer(kCrlf.data(), kCrlf.size()));
  }
  if (end) {
    stream_ended_ = true;
    if (chunked_) out_buffers_.push_back(net::buffer(kLastChunk.data(), kLastChunk.size()));
  }
  writing_ = true;
  stream_.expires_after(WriteTimeout());  // the pending discard read keeps no deadline
  net::async_write(stream_, out_buffers_,
                   [self = shared_from_this(), end, bytes, n = out_batch_.size()](
                       beast::error_code ec, size_t) { self->OnStreamWritten(ec, end, bytes, n); });
}

void Session::OnStreamWritten(beast::error_code ec, bool end, size_t bytes, size_t messages) {
  writing_ = false;
  {
    std::lock_guard lock(stream_state_->mu);
    stream_state_->pending_bytes -= bytes;
    stream_state_->pending_messages -= messages;
  }
  out_batch_.clear();
  if (ec) return DoClose();
  if (end) return GracefulClose();
  Pump();
}

// Answers 503 to a connection over max_connections, then closes it.
class Rejecter : public std::enable_shared_from_this<Rejecter> {
 public:
  Rejecter(tcp::socket&& socket, const std::string& answer)
      : stream_(std::move(socket)), answer_(answer) {}

  void Run() {
    stream_.expires_after(kLingerTime);
    net::async_write(stream_, net::buffer(answer_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec) return self->stream_.close();
                       beast::error_code ignored;
                       self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                       self->Drain();
                     });
  }

 private:
  void Drain() {  // the deadline set in Run() still holds
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->stream_.close();
                              self->Drain();
                            });
  }

  beast::tcp_stream stream_;
  const std::string& answer_;  // Core::busy_answer, which outlives the io_context
  std::array<char, 1024> discard_{};
};

// ---- Core: accepting and the session registry ----

void Core::DoAccept() {
  acceptor->async_accept(net::make_strand(*ioc), [this](beast::error_code ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void Core::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
  if (ec) {  // out of descriptors, most likely: pause instead of spinning
    accept_retry->expires_after(kAcceptRetryDelay);
    accept_retry->async_wait([this](beast::error_code wait_ec) {
      if (!wait_ec && acceptor->is_open()) DoAccept();
    });
    return;
  }
  if (open.load() >= options.max_connections) {
    std::make_shared<Rejecter>(std::move(socket), busy_answer)->Run();
  } else {
    auto session = std::make_shared<Session>(this, std::move(socket));
    if (Register(session)) session->Start();
  }
  DoAccept();
}

bool Core::Register(const std::shared_ptr<Session>& session) {
  std::lock_guard lock(sessions_mu);
  if (stopping.load()) return false;
  sessions.emplace(session.get(), session);
  open.fetch_add(1);
  return true;
}

void Core::Unregister(Session* session) {
  std::shared_ptr<Session> dropped;  // destroyed outside the lock
  {
    std::lock_guard lock(sessions_mu);
    auto it = sessions.find(session);
    if (it == sessions.end()) return;
    dropped = std::move(it->second);
    sessions.erase(it);
    open.fetch_sub(1);
  }
  sessions_cv.notify_all();
}

}  // namespace

// ---- HttpServer ----

struct HttpServer::Impl {
  std::shared_ptr<Core> core = std::make_shared<Core>();
  bool started = false;
  bool stopped = false;
};

HttpServer::HttpServer(HttpServerOptions options, Handler handler)
    : impl_(std::make_unique<Impl>()) {
  impl_->core->options = std::move(options);
  impl_->core->handler = std::move(handler);
}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Start() {
  if (impl_->started) return Status::FailedPrecondition("HttpServer::Start called twice");
  Core& core = *impl_->core;
  const HttpServerOptions& o = core.options;
  RaiseFileLimit();
  int threads = o.threads > 0 ? o.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(threads, 1);
  core.ioc.emplace(threads);

  beast::error_code ec;
  net::ip::address address = net::ip::make_address(o.host, ec);
  if (ec) {  // a name such as "localhost"
    tcp::resolver resolver(*core.ioc);
    auto results = resolver.resolve(o.host, "", ec);
    if (ec || results.empty()) {
      core.ioc.reset();
      return Status::InvalidArgument(fmt::format("cannot resolve listen host {}: {}", o.host,
                                                 ec ? ec.message() : "no address"));
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, o.port);
  core.acceptor.emplace(net::make_strand(*core.ioc));
  auto fail = [&](std::string_view what) {
    Status st = Status::IOError(
        fmt::format("cannot listen on {}: {}: {}", FormatEndpoint(endpoint), what, ec.message()));
    core.acceptor.reset();
    core.ioc.reset();
    return st;
  };
  core.acceptor->open(endpoint.protocol(), ec);
  if (ec) return fail("open");
  core.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (ec) return fail("set_option");
  core.acceptor->bind(endpoint, ec);
  if (ec) return fail("bind");
  core.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen");
  core.port = core.acceptor->local_endpoint().port();
  core.accept_retry.emplace(core.acceptor->get_executor());

  std::string busy;
  busy = ErrorResponse(Status::Unavailable(fmt::format(
                           "too many open connections (the limit is {})", o.max_connections)))
             .body;
  core.busy_answer = fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nServer: vigil\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n{}",
      busy.size(), busy);

  core.work.emplace(core.ioc->get_executor());
  net::post(core.acceptor->get_executor(), [c = &core] { c->DoAccept(); });
  for (int i = 0; i < threads; ++i) {
    core.threads.emplace_back([c = &core] {
      for (;;) {
        try {
          c->ioc->run();
          return;
        } catch (const std::exception& e) {  // a bug in a handler: log and keep serving
          std::fprintf(stderr, "vigil: exception on an I/O thread: %s\n", e.what());
        }
      }
    });
  }
  impl_->started = true;
  return Status::OK();
}

void HttpServer::Stop(std::chrono::milliseconds grace) {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  Core& core = *impl_->core;
  for (const std::thread& t : core.threads) {
    assert(t.get_id() != std::this_thread::get_id() && "HttpServer::Stop on an I/O thread");
    (void)t;
  }
  std::vector<std::shared_ptr<Session>> open_sessions;
  {
    std::lock_guard lock(core.sessions_mu);
    core.stopping.store(true);
    for (auto& [ptr, s] : core.sessions) open_sessions.push_back(s);
  }
  net::post(core.acceptor->get_executor(), [c = &core] {
    beast::error_code ec;
    c->acceptor->close(ec);
    c->accept_retry->cancel();
  });
  for (auto& s : open_sessions) {
    net::any_io_executor ex = s->get_executor();
    net::post(ex, [s = std::move(s)] { s->BeginShutdown(); });
  }
  open_sessions.clear();
  {
    std::unique_lock lock(core.sessions_mu);
    core.sessions_cv.wait_for(lock, grace, [&] { return core.sessions.empty(); });
  }
  core.work.reset();
  core.ioc->stop();
  for (std::thread& t : core.threads) t.join();
  core.threads.clear();
  {
    std::unique_lock lock(core.post_mu);
    core.stopped = true;
  }
  std::unordered_map<Session*, std::shared_ptr<Session>> leftover;
  {
    std::lock_guard lock(core.sessions_mu);
    leftover.swap(core.sessions);
    core.open.store(0);
  }
  leftover.clear();
  core.accept_retry.reset();
  core.acceptor.reset();
  core.ioc.reset();  // destroys queued handlers and the Sessions they hold
}

uint16_t HttpServer::port() const {
  return impl_->core->port;
}

size_t HttpServer::open_connections() const {
  return impl_->core->open.load();
}

}  // namespace vigil::server
