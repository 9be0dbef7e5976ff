// The public SDK (include/vigil/vigil.h) end to end, without a server:
// offline mode writes a run directory whose batches hold every point once;
// online mode against a closed port spills everything to the spool.
#include <vigil/vigil.h>

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "client/sdk/json_value.h"
#include "client/sdk/run_dir.h"
#include "client/sdk/run_dir_format.h"
#include "testing/testing.h"

namespace vigil {
namespace {

using client::JsonValue;
using client::ParseJson;
using vigil::testing::ReadFileOrDie;
using vigil::testing::TempDir;

// (metric, labels JSON, step) -> value, from every line of batches.jsonl;
// fails on a point seen twice.
std::map<std::tuple<std::string, std::string, int64_t>, double> ReadPoints(const std::string& dir) {
  std::map<std::tuple<std::string, std::string, int64_t>, double> out;
  auto r = client::BatchFileReader::Open(dir + "/" + client::kBatchesFile);
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return out;
  std::string line;
  while (*(*r)->Next(&line) == client::BatchFileReader::Line::kComplete) {
    auto doc = ParseJson(line);
    EXPECT_TRUE(doc.ok()) << line;
    for (const JsonValue& s : doc->Find("series")->items) {
      const auto& steps = s.Find("steps")->items;
      const auto& times = s.Find("times")->items;
      const auto& values = s.Find("values")->items;
      EXPECT_EQ(steps.size(), values.size());
      EXPECT_EQ(times.size(), values.size());
      for (size_t i = 0; i < steps.size(); ++i) {
        EXPECT_GT(times[i].number, 1.6e12);  // stamped with the wall clock
        auto key = std::make_tuple(*s.GetString("metric"), s.Find("labels")->raw,
                                   static_cast<int64_t>(steps[i].number));
        EXPECT_TRUE(out.emplace(key, values[i].number).second) << "duplicate point";
      }
    }
  }
  return out;
}

Options Offline(const TempDir& tmp) {
  Options o;
  o.project = "p";
  o.mode = Mode::kOffline;
  o.offline_dir = tmp.path();
  o.quiet = true;
  return o;
}

TEST(SdkTest, OfflineManyThreadsNothingLostOrRepeated) {
  TempDir tmp;
  Options o = Offline(tmp);
  o.buffer_capacity = 256;  // small: the rings wrap many times
  o.flush_interval = std::chrono::milliseconds(5);
  o.config = {{"lr", 0.01}, {"opt", "adam"}, {"layers", 3}};
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  constexpr int kThreads = 4, kSteps = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&run, t] {
      std::string rank = std::to_string(t);
      Series s = run.series("loss", {{"rank", rank}});
      for (int i = 0; i < kSteps; ++i) {
        run.log("t" + rank + "/x", i * 0.5, i);
        s.log(static_cast<double>(i), i);
        run.log({{"a/one", 1.0}, {"a/two", 2.0}}, i, {{"rank", rank}});
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_TRUE(run.finish());
  Stats st = run.stats();
  EXPECT_EQ(st.logged, uint64_t{kThreads} * kSteps * 4);
  EXPECT_EQ(st.delivered, st.logged);
  EXPECT_EQ(st.dropped + st.invalid + st.rejected + st.pending, 0u);

  std::string dir = tmp.Join(run.id());
  auto points = ReadPoints(dir);
  EXPECT_EQ(points.size(), size_t{kThreads} * kSteps * 4);
  for (int t = 0; t < kThreads; ++t) {
    std::string rank = std::to_string(t);
    for (int i = 0; i < kSteps; i += 997) {
      EXPECT_EQ((points[{"t" + rank + "/x", "{}", i}]), i * 0.5);
      EXPECT_EQ((points[{"loss", "{\"rank\":\"" + rank + "\"}", i}]), i);
      EXPECT_EQ((points[{"a/two", "{\"rank\":\"" + rank + "\"}", i}]), 2.0);
    }
  }
  auto run_json = ParseJson(ReadFileOrDie(dir + "/" + client::kRunJsonFile));
  ASSERT_TRUE(run_json.ok());
  EXPECT_EQ(run_json->GetString("id"), run.id());
  EXPECT_EQ(run_json->GetString("project"), "p");
  EXPECT_EQ(run_json->Find("config")->GetNumber("lr"), 0.01);
  EXPECT_EQ(run_json->Find("config")->GetString("opt"), "adam");
  auto finish = ParseJson(ReadFileOrDie(dir + "/" + client::kFinishJsonFile));
  ASSERT_TRUE(finish.ok());
  EXPECT_EQ(finish->GetString("state"), "finished");
}

TEST(SdkTest, OfflineConfigAndSummaryUpdates) {
  TempDir tmp;
  Options o = Offline(tmp);
  o.config_json = R"({"lr": 0.1, "nested": {"a": [1, 2]}})";
  o.config = {{"lr", 0.2}};
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  run.set_config({{"batch", 32}});
  run.set_summary(R"({"best": 0.9})");
  run.set_summary({{"final", "ok"}});
  run.finish("failed");
  std::string dir = tmp.Join(run.id());
  auto rj = ParseJson(ReadFileOrDie(dir + "/run.json"));
  ASSERT_TRUE(rj.ok());
  const JsonValue* cfg = rj->Find("config");
  EXPECT_EQ(cfg->GetNumber("lr"), 0.2);
  EXPECT_EQ(cfg->GetNumber("batch"), 32);
  EXPECT_EQ(cfg->Find("nested")->raw, R"({"a": [1, 2]})");
  auto fj = ParseJson(ReadFileOrDie(dir + "/finish.json"));
  ASSERT_TRUE(fj.ok());
  EXPECT_EQ(fj->GetString("state"), "failed");
  EXPECT_EQ(fj->Find("summary")->GetNumber("best"), 0.9);
  EXPECT_EQ(fj->Find("summary")->GetString("final"), "ok");
}

TEST(SdkTest, GivenIdIsKept) {
  TempDir tmp;
  Options o = Offline(tmp);
  o.id = "my-run_1";
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run.id(), "my-run_1");
}

TEST(SdkTest, GeneratedIdsAreEightBase36Chars) {
  TempDir tmp;
  std::set<std::string> ids;
  for (int i = 0; i < 3; ++i) {
    vigil::Run run = init(Offline(tmp));
    ASSERT_TRUE(run.ok());
    ASSERT_EQ(run.id().size(), 8u);
    for (char c : run.id()) EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
    ids.insert(run.id());
  }
  EXPECT_EQ(ids.size(), 3u);
}

TEST(SdkTest, BadOptionsFailInit) {
  TempDir tmp;
  Options o = Offline(tmp);
  o.project = "";
  EXPECT_FALSE(init(o).ok());
  o.project = "bad project";
  EXPECT_FALSE(init(o).ok());
  o.project = "p";
  o.id = "bad/id";
  EXPECT_FALSE(init(o).ok());
  o.id = "";
  o.config_json = "[1]";
  vigil::Run r = init(o);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.error().find("config_json"), std::string::npos);
  // An inert run accepts calls and does nothing.
  r.log("x", 1, 1);
  EXPECT_FALSE(r.finish());
  EXPECT_EQ(r.stats().logged, 0u);
}

TEST(SdkTest, InvalidNamesAndLogsAfterFinishAreCounted) {
  TempDir tmp;
  vigil::Run run = init(Offline(tmp));
  ASSERT_TRUE(run.ok());
  run.log("ok", 1, 0);
  run.log("bad name", 1, 0);
  run.log("bad name", 1, 1);
  run.log("m", 1, 0, {{"__reserved", "x"}});
  Series bad = run.series("1nope");
  bad.log(1, 0);
  EXPECT_FALSE(run.finish());  // something was not logged
  run.log("ok", 2, 1);
  Stats s = run.stats();
  EXPECT_EQ(s.logged, 1u);
  EXPECT_EQ(s.delivered, 1u);
  EXPECT_EQ(s.invalid, 5u);
}

// A tiny buffer that may fill: whatever happens, every point is accounted
// for exactly once (delivered or dropped), never silently lost.
TEST(SdkTest, FullBufferDropsAreCounted) {
  TempDir tmp;
  Options o = Offline(tmp);
  o.buffer_capacity = 64;
  o.max_block = std::chrono::milliseconds(0);
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok());
  constexpr uint64_t kPoints = 200'000;
  for (uint64_t i = 0; i < kPoints; ++i) run.log("m", 1.0, static_cast<int64_t>(i));
  run.finish();
  Stats s = run.stats();
  EXPECT_EQ(s.logged + s.dropped, kPoints);
  EXPECT_EQ(s.delivered, s.logged);
  EXPECT_EQ(ReadPoints(tmp.Join(run.id())).size(), s.logged);
}

TEST(SdkTest, DisabledModeKeepsNothing) {
  TempDir tmp;
  Options o = Offline(tmp);
  o.mode = Mode::kDisabled;
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok());
  for (int i = 0; i < 1000; ++i) run.log("m", 1.0, i);
  EXPECT_TRUE(run.finish());
  EXPECT_EQ(run.stats().logged, 1000u);
  EXPECT_EQ(run.stats().pending, 0u);
  EXPECT_TRUE(run.local_dir().empty());
}

// Online, but nothing listens: init succeeds, and finish leaves a complete
// run directory in the spool for `vigil sync`.
TEST(SdkTest, UnreachableServerSpillsEverything) {
  TempDir tmp;
  Options o;
  o.project = "p";
  o.mode = Mode::kOnline;
  o.server = "http://127.0.0.1:1";
  o.spool_dir = tmp.Join("spool");
  o.spill_after = std::chrono::milliseconds(50);
  o.finish_timeout = std::chrono::milliseconds(200);
  o.flush_interval = std::chrono::milliseconds(5);
  o.quiet = true;
  vigil::Run run = init(o);
  ASSERT_TRUE(run.ok()) << run.error();
  for (int i = 0; i < 1000; ++i) run.log("m", i, i);
  run.set_summary({{"best", 1}});
  EXPECT_FALSE(run.finish());
  Stats s = run.stats();
  EXPECT_EQ(s.logged, 1000u);
  EXPECT_EQ(s.spilled, 1000u);
  EXPECT_EQ(s.pending, 1000u);
  std::string dir = tmp.Join("spool/" + run.id());
  EXPECT_EQ(run.local_dir(), dir);
  EXPECT_EQ(ReadPoints(dir).size(), 1000u);
  auto rj = ParseJson(ReadFileOrDie(dir + "/run.json"));
  ASSERT_TRUE(rj.ok());
  EXPECT_EQ(rj->GetString("id"), run.id());
  auto fj = ParseJson(ReadFileOrDie(dir + "/finish.json"));
  ASSERT_TRUE(fj.ok());
  EXPECT_EQ(fj->GetString("state"), "finished");
}

TEST(SdkTest, ConfigValueJson) {
  EXPECT_EQ(ConfigValue(true).json(), "true");
  EXPECT_EQ(ConfigValue(3).json(), "3");
  EXPECT_EQ(ConfigValue(0.5).json(), "0.5");
  EXPECT_EQ(ConfigValue("a\"b").json(), R"("a\"b")");
  EXPECT_EQ(ConfigValue(std::string("s")).json(), R"("s")");
  EXPECT_EQ(ConfigValue::Json("[1,2]").json(), "[1,2]");
}

TEST(SdkTest, CommandArgs) {
  Command c{"1", "set", R"({"name": "lr", "value": 0.001})"};
  EXPECT_EQ(c.string_arg("name"), "lr");
  EXPECT_EQ(c.number_arg("value"), 0.001);
  EXPECT_EQ(c.number_arg("name"), std::nullopt);
}

}  // namespace
}  // namespace vigil
