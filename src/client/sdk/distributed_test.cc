// The C++ SDK as one rank of a distributed job (docs/distributed.md): rank,
// world size, local rank and node from options or the environment; the
// create body, the series labels, the directory name and the finish body
// offline; heartbeats, `?commands=none` and the finish PATCH online,
// against a loopback server that records every request.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <vigil/vigil.h>

#include "client/sdk/json_value.h"
#include "client/sdk/run_core.h"
#include "client/sdk/run_dir.h"
#include "client/sdk/run_dir_format.h"
#include "testing/testing.h"

namespace vigil {
namespace {

using client::JsonValue;
using client::ParseJson;
using vigil::testing::ReadFileOrDie;
using vigil::testing::TempDir;

// Sets environment variables for a test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
    for (const auto& [name, value] : vars) {
      const char* old = std::getenv(name);
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value) {
        ::setenv(name, value, 1);
      } else {
        ::unsetenv(name);
      }
    }
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// None of the distributed variables: tests start from a clean slate.
ScopedEnv NoRankEnv() {
  return ScopedEnv({{"RANK", nullptr},
                    {"WORLD_SIZE", nullptr},
                    {"LOCAL_RANK", nullptr},
                    {"VIGIL_NODE", nullptr}});
}

Options Offline(const TempDir& tmp) {
  Options o;
  o.project = "p";
  o.id = "job1";
  o.mode = Mode::kOffline;
  o.offline_dir = tmp.path();
  o.quiet = true;
  return o;
}

// Every distinct labels object of the series in batches.jsonl.
std::set<std::string> LabelSets(const std::string& dir) {
  std::set<std::string> out;
  auto r = client::BatchFileReader::Open(dir + "/" + client::kBatchesFile);
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return out;
  std::string line;
  while (*(*r)->Next(&line) == client::BatchFileReader::Line::kComplete) {
    auto doc = ParseJson(line);
    EXPECT_TRUE(doc.ok()) << line;
    for (const JsonValue& s : doc->Find("series")->items) out.insert(s.Find("labels")->raw);
  }
  return out;
}

TEST(DistributedTest, EnvironmentGivesRankWorldSizeLocalRankAndNode) {
  TempDir tmp;
  ScopedEnv env(
      {{"RANK", "2"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "0"}, {"VIGIL_NODE", "gpu-07"}});
  vigil::Run run = init(Offline(tmp));
  ASSERT_TRUE(run.ok()) << run.error();
  EXPECT_EQ(run.rank(), 2);
  run.log("train/loss", 0.5, 0);
  run.log("time/data", 0.01, 0, {{"split", "val"}});
  EXPECT_TRUE(run.finish());

  // The ranks of a job on one host share the id: one directory per rank.
  std::string dir = tmp.Join("job1-rank2");
  EXPECT_EQ(run.local_dir(), dir);
  auto rj = ParseJson(ReadFileOrDie(dir + "/" + client::kRunJsonFile));
  ASSERT_TRUE(rj.ok());
  EXPECT_EQ(rj->GetString("id"), "job1");
  EXPECT_EQ(rj->GetNumber("rank"), 2);
  EXPECT_EQ(rj->GetNumber("world_size"), 4);
  EXPECT_EQ(rj->GetNumber("local_rank"), 0);
  EXPECT_EQ(rj->GetString("node"), "gpu-07");
  EXPECT_EQ(LabelSets(dir),
            (std::set<std::string>{R"({"node":"gpu-07","rank":"2"})",
                                   R"({"node":"gpu-07","rank":"2","split":"val"})"}));
  auto fj = ParseJson(ReadFileOrDie(dir + "/" + client::kFinishJsonFile));
  ASSERT_TRUE(fj.ok());
  EXPECT_EQ(fj->GetString("state"), "finished");
  EXPECT_EQ(fj->GetNumber("rank"), 2);
}

TEST(DistributedTest, OptionsWinOverEnvironment) {
  TempDir tmp;
  ScopedEnv env({{"RANK", "2"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}, {"VIGIL_NODE", "env"}});
  Options o = Offline(tmp);
  o.rank = 5;
  o.world_size = 8;
  o.local_rank = 3;
  o.node = "opt";
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  EXPECT_EQ(run.rank(), 5);
  run.finish();
  auto rj = ParseJson(ReadFileOrDie(tmp.Join("job1-rank5/run.json")));
  ASSERT_TRUE(rj.ok());
  EXPECT_EQ(rj->GetNumber("rank"), 5);
  EXPECT_EQ(rj->GetNumber("world_size"), 8);
  EXPECT_EQ(rj->GetNumber("local_rank"), 3);
  EXPECT_EQ(rj->GetString("node"), "opt");
}

TEST(DistributedTest, NodeDefaultsToHostName) {
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  Options o = Offline(tmp);
  o.rank = 1;
  o.world_size = 2;
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  run.finish();
  char host[256] = {};
  ::gethostname(host, sizeof(host) - 1);
  auto rj = ParseJson(ReadFileOrDie(tmp.Join("job1-rank1/run.json")));
  ASSERT_TRUE(rj.ok());
  EXPECT_EQ(rj->GetString("node"), std::string(host));
  EXPECT_EQ(rj->Find("local_rank"), nullptr);  // not set, not sent
}

// A world of one is a single process: rank and world_size go to the server
// as given, but no labels, no node, no per-rank directory.
TEST(DistributedTest, WorldSizeOneIsNotDistributed) {
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  Options o = Offline(tmp);
  o.rank = 0;
  o.world_size = 1;
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  EXPECT_EQ(run.rank(), std::nullopt);
  run.log("m", 1, 0);
  run.finish();
  std::string dir = tmp.Join("job1");
  auto rj = ParseJson(ReadFileOrDie(dir + "/run.json"));
  ASSERT_TRUE(rj.ok());
  EXPECT_EQ(rj->GetNumber("rank"), 0);
  EXPECT_EQ(rj->GetNumber("world_size"), 1);
  EXPECT_EQ(rj->Find("node"), nullptr);
  EXPECT_EQ(LabelSets(dir), std::set<std::string>{"{}"});
  auto fj = ParseJson(ReadFileOrDie(dir + "/finish.json"));
  ASSERT_TRUE(fj.ok());
  EXPECT_EQ(fj->Find("rank"), nullptr);
}

TEST(DistributedTest, RankWithoutWorldSizeIsNotDistributed) {
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  Options o = Offline(tmp);
  o.rank = 3;
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  EXPECT_EQ(run.rank(), std::nullopt);
}

TEST(DistributedTest, NoRankAnywhereSendsNoRankFields) {
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  vigil::Run run = init(Offline(tmp));
  ASSERT_TRUE(run.ok()) << run.error();
  run.finish();
  auto rj = ParseJson(ReadFileOrDie(tmp.Join("job1/run.json")));
  ASSERT_TRUE(rj.ok());
  EXPECT_EQ(rj->Find("rank"), nullptr);
  EXPECT_EQ(rj->Find("world_size"), nullptr);
}

TEST(DistributedTest, NonIntegerEnvironmentFailsInit) {
  TempDir tmp;
  for (const char* bad : {"abc", "", "3x", "1.5", "99999999999999999999"}) {
    ScopedEnv env({{"RANK", bad}, {"WORLD_SIZE", "4"}});
    vigil::Run run = init(Offline(tmp));
    EXPECT_FALSE(run.ok()) << bad;
    EXPECT_NE(run.error().find("$RANK"), std::string::npos) << run.error();
  }
  ScopedEnv env({{"RANK", "0"}, {"WORLD_SIZE", "four"}});
  vigil::Run run = init(Offline(tmp));
  EXPECT_FALSE(run.ok());
  EXPECT_NE(run.error().find("$WORLD_SIZE"), std::string::npos) << run.error();
}

TEST(DistributedTest, RankOutsideWorldFailsInit) {
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  Options o = Offline(tmp);
  o.world_size = 4;
  o.rank = 4;
  EXPECT_FALSE(init(o).ok());
  o.rank = -1;
  EXPECT_FALSE(init(o).ok());
  o.rank = 0;
  o.world_size = -2;
  EXPECT_FALSE(init(o).ok());
  o.world_size = 4;
  o.local_rank = -1;
  EXPECT_FALSE(init(o).ok());
}

TEST(DistributedTest, BadNodeFailsInit) {
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  Options o = Offline(tmp);
  o.rank = 0;
  o.world_size = 2;
  o.node = std::string(client::kMaxNodeBytes + 1, 'n');
  vigil::Run run = init(o);
  EXPECT_FALSE(run.ok());
  EXPECT_NE(run.error().find("node"), std::string::npos) << run.error();
}

TEST(DistributedTest, HeartbeatBody) {
  EXPECT_EQ(client::RankHeartbeatBody(3, 1204, "gpu-07"),
            R"({"rank":3,"step":1204,"node":"gpu-07"})");
  EXPECT_EQ(client::RankHeartbeatBody(0, 0, "n"), R"({"rank":0,"step":0,"node":"n"})");
  // Nothing logged yet: no step.
  EXPECT_EQ(client::RankHeartbeatBody(0, -1, "a\"b"), R"({"rank":0,"node":"a\"b"})");
}

// ---- online, against a recording server ----

struct Request {
  std::string method, target, body;
};

// Serves HTTP/1.1 with keep-alive on 127.0.0.1 (one thread per
// connection, Content-Length bodies only) and records every request. The
// answer is 200 with a body the vigil server would give.
class RecordingServer {
 public:
  RecordingServer() {
    listen_fd_ = testing::ListenOnLoopback(&port_);
    accept_thread_ = std::thread([this] { Accept(); });
  }
  ~RecordingServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    accept_thread_.join();
    {
      std::lock_guard lock(mu_);
      for (int fd : conns_) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& t : threads_) t.join();
    for (int fd : conns_) ::close(fd);
    ::close(listen_fd_);
  }

  std::string url() const { return fmt::format("http://127.0.0.1:{}", port_); }
  std::vector<Request> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  // The requests whose target starts with `prefix`.
  std::vector<Request> With(const std::string& method, const std::string& prefix) {
    std::vector<Request> out;
    for (auto& r : requests()) {
      if (r.method == method && r.target.starts_with(prefix)) out.push_back(r);
    }
    return out;
  }

 private:
  void Accept() {
    while (true) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      std::lock_guard lock(mu_);
      conns_.push_back(fd);
      threads_.emplace_back([this, fd] { Serve(fd); });
    }
  }

  void Serve(int fd) {
    std::string buf;
    while (true) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!ReadMore(fd, &buf)) return;
      }
      std::string head = buf.substr(0, end);
      buf.erase(0, end + 4);
      Request r;
      size_t sp1 = head.find(' '), sp2 = head.find(' ', sp1 + 1);
      r.method = head.substr(0, sp1);
      r.target = head.substr(sp1 + 1, sp2 - sp1 - 1);
      std::string lower = head;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t at = lower.find("content-length: ");
      size_t length =
          at == std::string::npos ? 0 : std::strtoull(lower.c_str() + at + 16, nullptr, 10);
      while (buf.size() < length) {
        if (!ReadMore(fd, &buf)) return;
      }
      r.body = buf.substr(0, length);
      buf.erase(0, length);
      std::string answer = Answer(r);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(std::move(r));
      }
      std::string raw = fmt::format(
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
          answer.size(), answer);
      if (::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL) < 0) return;
    }
  }

  static std::string Answer(const Request& r) {
    if (r.target.find("/log") != std::string::npos) {
      size_t points = 0;
      auto doc = ParseJson(r.body);
      if (doc.ok()) {
        for (const JsonValue& s : doc->Find("series")->items)
          points += s.Find("steps")->items.size();
      }
      return fmt::format(R"({{"accepted":{},"duplicates":0,"commands":[]}})", points);
    }
    if (r.target.find("/heartbeat") != std::string::npos) {
      return R"({"state":"running","commands":[]})";
    }
    return R"({"id":"job1","state":"running"})";
  }

  static bool ReadMore(int fd, std::string* buf) {
    char tmp[65536];
    ssize_t n = ::recv(fd, tmp, sizeof(tmp), 0);
    if (n <= 0) return false;
    buf->append(tmp, static_cast<size_t>(n));
    return true;
  }

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread accept_thread_;
  std::mutex mu_;
  std::vector<int> conns_;            // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;  // GUARDED_BY(mu_)
  std::vector<Request> requests_;     // GUARDED_BY(mu_)
};

Options Online(const RecordingServer& server, const TempDir& tmp) {
  Options o;
  o.project = "p";
  o.id = "job1";
  o.mode = Mode::kOnline;
  o.server = server.url();
  o.spool_dir = tmp.Join("spool");
  o.flush_interval = std::chrono::milliseconds(5);
  o.heartbeat_interval = std::chrono::milliseconds(20);
  o.quiet = true;
  return o;
}

// Logs one step every few milliseconds for `ms`, so that batches keep the
// connection busy.
void LogFor(vigil::Run& run, int ms, int64_t* step) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < end) {
    run.log("train/loss", 1.0, (*step)++);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

TEST(DistributedOnlineTest, RankAboveZeroTakesNoCommandsAndBeatsItsPosition) {
  RecordingServer server;
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  Options o = Online(server, tmp);
  o.rank = 1;
  o.world_size = 2;
  o.local_rank = 1;
  o.node = "n0";
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  int64_t step = 0;
  LogFor(run, 300, &step);
  EXPECT_TRUE(run.finish());

  auto creates = server.With("POST", "/api/v1/runs");
  ASSERT_FALSE(creates.empty());
  auto create = ParseJson(creates.front().body);
  ASSERT_TRUE(create.ok());
  EXPECT_EQ(create->GetNumber("rank"), 1);
  EXPECT_EQ(create->GetNumber("world_size"), 2);
  EXPECT_EQ(create->GetNumber("local_rank"), 1);
  EXPECT_EQ(create->GetString("node"), "n0");

  auto logs = server.With("POST", "/api/v1/runs/job1/log");
  ASSERT_FALSE(logs.empty());
  for (const Request& r : logs) {
    EXPECT_EQ(r.target, "/api/v1/runs/job1/log?commands=none");
    EXPECT_NE(r.body.find(R"("labels":{"node":"n0","rank":"1"})"), std::string::npos) << r.body;
  }
  // Heartbeats go out every interval although batches flow all the time.
  auto beats = server.With("POST", "/api/v1/runs/job1/heartbeat");
  ASSERT_GE(beats.size(), 2u);
  int64_t last = -1;
  for (const Request& r : beats) {
    EXPECT_EQ(r.target, "/api/v1/runs/job1/heartbeat?commands=none");
    auto b = ParseJson(r.body);
    ASSERT_TRUE(b.ok()) << r.body;
    EXPECT_EQ(b->GetNumber("rank"), 1);
    EXPECT_EQ(b->GetString("node"), "n0");
    EXPECT_EQ(b->Find("phase"), nullptr);
    ASSERT_TRUE(b->GetNumber("step").has_value()) << r.body;
    int64_t s = static_cast<int64_t>(*b->GetNumber("step"));
    EXPECT_GE(s, last);  // the highest step logged: never goes back
    EXPECT_LT(s, step);
    last = s;
  }
  EXPECT_GT(last, 0);

  auto patches = server.With("PATCH", "/api/v1/runs/job1");
  ASSERT_EQ(patches.size(), 1u);
  auto fin = ParseJson(patches.front().body);
  ASSERT_TRUE(fin.ok());
  EXPECT_EQ(fin->GetString("state"), "finished");
  EXPECT_EQ(fin->GetNumber("rank"), 1);
}

TEST(DistributedOnlineTest, RankZeroTakesCommands) {
  RecordingServer server;
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  Options o = Online(server, tmp);
  o.rank = 0;
  o.world_size = 2;
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  int64_t step = 0;
  LogFor(run, 100, &step);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // idle: beats
  EXPECT_TRUE(run.finish());
  auto logs = server.With("POST", "/api/v1/runs/job1/log");
  ASSERT_FALSE(logs.empty());
  for (const Request& r : logs) EXPECT_EQ(r.target, "/api/v1/runs/job1/log");
  auto beats = server.With("POST", "/api/v1/runs/job1/heartbeat");
  ASSERT_FALSE(beats.empty());
  for (const Request& r : beats) {
    EXPECT_EQ(r.target, "/api/v1/runs/job1/heartbeat");
    EXPECT_NE(r.body.find(R"("rank":0)"), std::string::npos) << r.body;
  }
  auto patches = server.With("PATCH", "/api/v1/runs/job1");
  ASSERT_EQ(patches.size(), 1u);
  EXPECT_NE(patches.front().body.find(R"("rank":0)"), std::string::npos);
}

// The single-process path is as before: empty heartbeats, only when idle,
// no query, no rank anywhere.
TEST(DistributedOnlineTest, SingleProcessUnchanged) {
  RecordingServer server;
  TempDir tmp;
  ScopedEnv env = NoRankEnv();
  vigil::Run run = init(Online(server, tmp));
  ASSERT_TRUE(run.ok()) << run.error();
  int64_t step = 0;
  LogFor(run, 50, &step);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // idle: beats
  EXPECT_TRUE(run.finish());
  auto beats = server.With("POST", "/api/v1/runs/job1/heartbeat");
  ASSERT_FALSE(beats.empty());
  for (const Request& r : beats) {
    EXPECT_EQ(r.target, "/api/v1/runs/job1/heartbeat");
    EXPECT_EQ(r.body, "");
  }
  for (const Request& r : server.requests()) {
    EXPECT_EQ(r.body.find("\"rank\""), std::string::npos) << r.target << " " << r.body;
  }
}

}  // namespace
}  // namespace vigil
