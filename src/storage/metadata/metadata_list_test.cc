// ListRuns: each filter, each sort, paging and totals, and its speed.
#include <algorithm>
#include <chrono>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "storage/metadata/metadata_store.h"
#include "storage/metadata/metadata_test_fixture.h"

namespace vigil::storage {
namespace {

class MetadataListTest : public MetadataStoreTest {
 protected:
  std::vector<std::string> IdsOf(const RunQuery& q) {
    RunPage page = List(q);
    std::vector<std::string> ids = Ids(page);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  // Creates runs c1..c<n> whose config holds `key` with the JSON values given.
  void CreateWithConfig(const std::vector<std::string>& configs) {
    for (size_t i = 0; i < configs.size(); ++i) {
      RunRecord r = MakeRun(fmt::format("c{}", i + 1), "p", static_cast<int64_t>(i));
      r.config_json = configs[i];
      Create(r);
    }
  }
};

using Strings = std::vector<std::string>;

// ------------------------------------------------------------ filters

TEST_F(MetadataListTest, FilterByProject) {
  Create(MakeRun("a1", "alpha", 1));
  Create(MakeRun("a2", "alpha", 2));
  Create(MakeRun("b1", "beta", 3));
  EXPECT_EQ((Strings{"a1", "a2"}), IdsOf(Query().project("alpha")));
  EXPECT_EQ((Strings{"b1"}), IdsOf(Query().project("beta")));
  EXPECT_TRUE(IdsOf(Query().project("gamma")).empty());
  EXPECT_EQ((Strings{"a1", "a2", "b1"}), IdsOf({}));
}

TEST_F(MetadataListTest, FilterByState) {
  RunRecord f = MakeRun("f", "p", 1);
  f.state = "failed";
  Create(f);
  Create(MakeRun("r", "p", 2));
  EXPECT_EQ((Strings{"f"}), IdsOf(Query().state("failed")));
  EXPECT_EQ((Strings{"r"}), IdsOf(Query().state("running")));
  EXPECT_TRUE(IdsOf(Query().state("crashed")).empty());
}

TEST_F(MetadataListTest, BadStateFilterIsInvalidArgument) {
  auto page = store_->ListRuns(Query().state("zombie"));
  EXPECT_TRUE(page.status().IsInvalidArgument());
  EXPECT_NE(std::string::npos, page.status().message().find(
                                   "state must be one of running, finished, failed, crashed"));
}

TEST_F(MetadataListTest, FilterByTagMembership) {
  RunRecord a = MakeRun("a", "p", 1);
  a.tags = {"baseline", "lr=3e-4"};
  RunRecord b = MakeRun("b", "p", 2);
  b.tags = {"base"};  // a prefix of a tag is not the tag
  RunRecord c = MakeRun("c", "p", 3);
  c.tags = {"ü \"q\""};
  for (const auto& r : {a, b, c}) Create(r);
  EXPECT_EQ((Strings{"a"}), IdsOf(Query().tag("baseline")));
  EXPECT_EQ((Strings{"a"}), IdsOf(Query().tag("lr=3e-4")));
  EXPECT_EQ((Strings{"b"}), IdsOf(Query().tag("base")));
  EXPECT_EQ((Strings{"c"}), IdsOf(Query().tag("ü \"q\"")));
  EXPECT_TRUE(IdsOf(Query().tag("Baseline")).empty());
}

TEST_F(MetadataListTest, FilterByGroup) {
  RunRecord a = MakeRun("a", "p", 1);
  a.group = "job-1";
  RunRecord b = MakeRun("b", "p", 2);
  b.group = "job-1";
  RunRecord c = MakeRun("c", "q", 3);
  c.group = "job-1";
  for (const auto& r : {a, b, c, MakeRun("d", "p", 4)}) Create(r);
  EXPECT_EQ((Strings{"a", "b", "c"}), IdsOf(Query().group("job-1")));
  EXPECT_EQ((Strings{"a", "b"}), IdsOf(Query().project("p").group("job-1")));
}

TEST_F(MetadataListTest, FilterByTextMatchesIdOrNameIgnoringAsciiCase) {
  RunRecord a = MakeRun("resnet-1", "p", 1);
  a.name = "baseline";
  RunRecord b = MakeRun("vit-2", "p", 2);
  b.name = "ResNet ablation";
  RunRecord c = MakeRun("mlp-3", "p", 3);
  c.name = "100%_done";
  for (const auto& r : {a, b, c}) Create(r);
  EXPECT_EQ((Strings{"resnet-1", "vit-2"}), IdsOf(Query().text("resnet")));
  EXPECT_EQ((Strings{"resnet-1", "vit-2"}), IdsOf(Query().text("RESNET")));
  EXPECT_EQ((Strings{"vit-2"}), IdsOf(Query().text("t-2")));
  // LIKE's wildcards in the text are literal characters.
  EXPECT_EQ((Strings{"mlp-3"}), IdsOf(Query().text("%_")));
  EXPECT_TRUE(IdsOf(Query().text("_x")).empty());
  EXPECT_TRUE(IdsOf(Query().text("\\")).empty());
}

TEST_F(MetadataListTest, ConfigNumbersCompareByValue) {
  CreateWithConfig({R"({"lr":0.001})", R"({"lr":1e-3})", R"({"lr":0.01})", R"({"lr":"0.001"})"});
  EXPECT_EQ((Strings{"c1", "c2"}), IdsOf(Query().config_equals({{"lr", "0.001"}})));
  EXPECT_EQ((Strings{"c1", "c2"}), IdsOf(Query().config_equals({{"lr", "1.0e-3"}})));
  EXPECT_EQ((Strings{"c4"}), IdsOf(Query().config_equals({{"lr", "\"0.001\""}})));
}

TEST_F(MetadataListTest, ConfigIntegerEqualsSameReal) {
  CreateWithConfig({R"({"epochs":10})", R"({"epochs":10.0})", R"({"epochs":11})"});
  EXPECT_EQ((Strings{"c1", "c2"}), IdsOf(Query().config_equals({{"epochs", "10"}})));
  EXPECT_EQ((Strings{"c1", "c2"}), IdsOf(Query().config_equals({{"epochs", "10.0"}})));
}

TEST_F(MetadataListTest, ConfigStringsBoolsAndNullKeepTheirType) {
  CreateWithConfig({R"({"v":"adam"})", R"({"v":true})", R"({"v":1})", R"({"v":null})",
                    R"({"v":false})", R"({"v":"1"})", R"({"w":1})"});
  EXPECT_EQ((Strings{"c1"}), IdsOf(Query().config_equals({{"v", R"("adam")"}})));
  EXPECT_EQ((Strings{"c2"}), IdsOf(Query().config_equals({{"v", "true"}})));
  EXPECT_EQ((Strings{"c3"}), IdsOf(Query().config_equals({{"v", "1"}})));
  // null matches a key set to null, not a missing key.
  EXPECT_EQ((Strings{"c4"}), IdsOf(Query().config_equals({{"v", "null"}})));
  EXPECT_EQ((Strings{"c5"}), IdsOf(Query().config_equals({{"v", "false"}})));
  EXPECT_EQ((Strings{"c6"}), IdsOf(Query().config_equals({{"v", R"("1")"}})));
  EXPECT_TRUE(IdsOf(Query().config_equals({{"v", R"("ADAM")"}})).empty());
}

TEST_F(MetadataListTest, ConfigKeysWithDotsQuotesAndBrackets) {
  CreateWithConfig({R"({"optimizer.lr":0.1,"optimizer":{"lr":0.2}})",
                    R"({"say \"hi\"":1,"a[0]":2,"$":3,"ü":4})"});
  EXPECT_EQ((Strings{"c1"}), IdsOf(Query().config_equals({{"optimizer.lr", "0.1"}})));
  // The key is a top-level key, never a path into nested objects.
  EXPECT_TRUE(IdsOf(Query().config_equals({{"optimizer.lr", "0.2"}})).empty());
  EXPECT_EQ((Strings{"c2"}), IdsOf(Query().config_equals({{"say \"hi\"", "1"}})));
  EXPECT_EQ((Strings{"c2"}), IdsOf(Query().config_equals({{"a[0]", "2"}})));
  EXPECT_EQ((Strings{"c2"}), IdsOf(Query().config_equals({{"$", "3"}})));
  EXPECT_EQ((Strings{"c2"}), IdsOf(Query().config_equals({{"ü", "4"}})));
}

TEST_F(MetadataListTest, ConfigKeyWrittenWithEscapesMatchesItsText) {
  // Python's json.dumps writes non-ASCII as \u escapes: {"\u00fcber": 5}.
  CreateWithConfig({R"({"\u00fcber":5,"tab\tkey":6})"});
  EXPECT_EQ((Strings{"c1"}), IdsOf(Query().config_equals({{"über", "5"}})));
  EXPECT_EQ((Strings{"c1"}), IdsOf(Query().config_equals({{"tab\tkey", "6"}})));
}

TEST_F(MetadataListTest, ConfigObjectsAndArraysCompareMinified) {
  CreateWithConfig(
      {R"({"layers":[64, 32],"opt":{"name":"adam","beta":0.9}})", R"({"layers":[64,32,16]})"});
  EXPECT_EQ((Strings{"c1"}), IdsOf(Query().config_equals({{"layers", "[64,32]"}})));
  EXPECT_EQ((Strings{"c1"}), IdsOf(Query().config_equals({{"layers", " [ 64 , 32 ] "}})));
  EXPECT_EQ((Strings{"c1"}),
            IdsOf(Query().config_equals({{"opt", R"({"name":"adam","beta":0.9})"}})));
}

TEST_F(MetadataListTest, SeveralConfigFiltersMustAllHold) {
  CreateWithConfig({R"({"lr":0.1,"bs":32})", R"({"lr":0.1,"bs":64})", R"({"lr":0.2,"bs":32})"});
  EXPECT_EQ((Strings{"c1"}), IdsOf(Query().config_equals({{"lr", "0.1"}, {"bs", "32"}})));
  EXPECT_EQ((Strings{"c1", "c2"}), IdsOf(Query().config_equals({{"lr", "0.1"}})));
}

TEST_F(MetadataListTest, ConfigFilterValueThatIsNotJsonIsInvalidArgument) {
  CreateWithConfig({R"({"opt":"adam"})"});
  auto page = store_->ListRuns(Query().config_equals({{"opt", "adam"}}));
  EXPECT_TRUE(page.status().IsInvalidArgument());
  EXPECT_NE(std::string::npos, page.status().message().find("not valid JSON"));
}

TEST_F(MetadataListTest, FiltersCombine) {
  RunRecord a = MakeRun("a", "p", 1);
  a.tags = {"t"};
  a.group = "g";
  a.config_json = R"({"x":1})";
  RunRecord b = a;
  b.id = "b";
  b.state = "finished";
  RunRecord c = a;
  c.id = "c";
  c.project = "q";
  for (const auto& r : {a, b, c}) Create(r);
  EXPECT_EQ((Strings{"a"}),
            IdsOf(Query().project("p").state("running").tag("t").group("g").text("A").config_equals(
                {{"x", "1"}})));
}

// ------------------------------------------------------------ sort

TEST_F(MetadataListTest, SortByEachFieldBothWays) {
  // Each field orders the runs differently: created b<c<a, updated c<a<b,
  // name a<b<c ("alpha", "beta", "gamma"), state (failed, finished,
  // running) c<b<a, heartbeat a<c<b.
  RunRecord a = MakeRun("a", "p", 30);
  a.updated_ms = 20;
  a.name = "alpha";
  a.heartbeat_ms = 1;
  RunRecord b = MakeRun("b", "p", 10);
  b.updated_ms = 30;
  b.name = "beta";
  b.state = "finished";
  b.heartbeat_ms = 3;
  RunRecord c = MakeRun("c", "p", 20);
  c.updated_ms = 10;
  c.name = "gamma";
  c.state = "failed";
  c.heartbeat_ms = 2;
  for (const auto& r : {a, b, c}) Create(r);
  struct Case {
    RunSortField field;
    Strings ascending;
  };
  for (const Case& k :
       {Case{RunSortField::kCreated, {"b", "c", "a"}},
        Case{RunSortField::kUpdated, {"c", "a", "b"}}, Case{RunSortField::kName, {"a", "b", "c"}},
        Case{RunSortField::kState, {"c", "b", "a"}},
        Case{RunSortField::kHeartbeat, {"a", "c", "b"}}}) {
    EXPECT_EQ(k.ascending, Ids(List(Query().sort(k.field).descending(false))))
        << static_cast<int>(k.field);
    Strings descending(k.ascending.rbegin(), k.ascending.rend());
    EXPECT_EQ(descending, Ids(List(Query().sort(k.field).descending(true))))
        << static_cast<int>(k.field);
  }
}

TEST_F(MetadataListTest, SortTiesAreBrokenById) {
  for (const char* id : {"b", "d", "a", "c"}) Create(MakeRun(id, "p", 5));
  EXPECT_EQ((Strings{"d", "c", "b", "a"}), Ids(List({})));
  EXPECT_EQ((Strings{"a", "b", "c", "d"}), Ids(List(Query().descending(false))));
  EXPECT_EQ((Strings{"a", "b", "c", "d"}),
            Ids(List(Query().project("p").sort(RunSortField::kState).descending(false))));
}

TEST_F(MetadataListTest, DefaultIsNewestFirst) {
  Create(MakeRun("old", "p", 1));
  Create(MakeRun("new", "p", 2));
  EXPECT_EQ((Strings{"new", "old"}), Ids(List({})));
}

// ------------------------------------------------------------ pages

TEST_F(MetadataListTest, PagesCoverEveryRunOnceWithTotals) {
  auto rng = testing::SeededRng();
  std::vector<std::string> all;
  for (int i = 0; i < 57; ++i) {
    // Few distinct times, so that many ties must be broken consistently.
    RunRecord r =
        MakeRun(fmt::format("r{:02}", i), i % 3 ? "p" : "q", static_cast<int64_t>(rng() % 5));
    Create(r);
    if (r.project == "p") all.push_back(r.id);
  }
  for (bool descending : {true, false}) {
    std::vector<std::string> seen;
    for (int64_t offset = 0;; offset += 10) {
      RunPage page = List(Query().project("p").descending(descending).limit(10).offset(offset));
      EXPECT_EQ(static_cast<int64_t>(all.size()), page.total) << offset;
      if (page.runs.empty()) break;
      for (const auto& r : page.runs) seen.push_back(r.id);
    }
    // The pages, concatenated, are the whole sorted listing.
    EXPECT_EQ(Ids(List(Query().project("p").descending(descending).limit(1000))), seen);
    std::set<std::string> unique(seen.begin(), seen.end());
    EXPECT_EQ(all.size(), unique.size());
    EXPECT_EQ(all.size(), seen.size());
  }
}

TEST_F(MetadataListTest, OffsetPastTheEndIsEmptyWithTotal) {
  for (int i = 0; i < 5; ++i) Create(MakeRun(fmt::format("r{}", i), "p", i));
  RunPage page = List(Query().limit(10).offset(100));
  EXPECT_TRUE(page.runs.empty());
  EXPECT_EQ(5, page.total);
  page = List(Query().limit(2).offset(4));
  EXPECT_EQ((Strings{"r0"}), Ids(page));
  EXPECT_EQ(5, page.total);
  page = List(Query().limit(5));
  EXPECT_EQ(5u, page.runs.size());
  EXPECT_EQ(5, page.total);
}

TEST_F(MetadataListTest, TotalCountsFilteredRunsOnly) {
  for (int i = 0; i < 6; ++i) {
    RunRecord r = MakeRun(fmt::format("r{}", i), "p", i);
    if (i % 2) r.tags = {"odd"};
    Create(r);
  }
  RunPage page = List(Query().tag("odd").limit(2));
  EXPECT_EQ((Strings{"r5", "r3"}), Ids(page));
  EXPECT_EQ(3, page.total);
}

TEST_F(MetadataListTest, LimitAndOffsetOutOfRangeAreInvalidArgument) {
  for (int64_t limit : {int64_t{0}, int64_t{-1}, int64_t{10001}}) {
    auto page = store_->ListRuns(Query().limit(limit));
    EXPECT_TRUE(page.status().IsInvalidArgument()) << limit;
    EXPECT_NE(std::string::npos, page.status().message().find("limit must be between 1 and 10000"));
  }
  EXPECT_TRUE(store_->ListRuns(Query().limit(10000)).ok());
  EXPECT_TRUE(store_->ListRuns(Query().limit(1)).ok());
  EXPECT_TRUE(store_->ListRuns(Query().offset(-1)).status().IsInvalidArgument());
}

TEST_F(MetadataListTest, ReturnsFullRecords) {
  RunRecord r = MakeRun("r1", "p", 1);
  r.tags = {"x"};
  r.config_json = R"({"a":[1,2]})";
  r.summary_json = R"({"acc":1})";
  r.world_size = 3;
  Create(r);
  RunPage page = List({});
  ASSERT_EQ(1u, page.runs.size());
  ExpectSameRun(r, page.runs[0]);
}

// ------------------------------------------------------------ speed

// The dashboard's run table: a page of 100 of 20,000 runs, newest first,
// should take a few milliseconds (figures printed for the record).
TEST_F(MetadataListTest, PageOf100SortedByCreatedAmong20000RunsIsFast) {
  constexpr int kRuns = 20000;
  std::string config = "{";
  for (int i = 0; i < 40; ++i) config += fmt::format("\"param_{}\":{},", i, i * 0.25);
  config += "\"optimizer\":\"adam\"}";
  // The rows go in through a second connection in one transaction: 20,000
  // CreateRun calls would commit 20,000 times and make this test slow; what
  // it measures is reading.
  RawQuery(
      path_,
      fmt::format("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {}) "
                  "INSERT INTO runs (id, project, name, state, tags_json, config_json, "
                  "created_ms, updated_ms) "
                  "SELECT printf('run-%05d', i), CASE WHEN i % 4 THEN 'big' ELSE 'small' END, "
                  "printf('name-%05d', i), 'running', "
                  "'[\"sweep\",\"seed-' || (i % 10) || '\"]', '{}', 1000 + i, 1000 + i FROM n",
                  kRuns - 1, config));
  int64_t big_seed3 = 0;
  for (int i = 0; i < kRuns; ++i) {
    if (i % 4 != 0 && i % 10 == 3) ++big_seed3;
  }
  // The store reads what the other connection wrote, newest first.
  ASSERT_EQ("run-19999", List(Query().limit(1)).runs.at(0).id);

  auto time_ms = [&](const RunQuery& q, int64_t want_total) {
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      auto t0 = std::chrono::steady_clock::now();
      auto page = store_->ListRuns(q);
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      EXPECT_TRUE(page.ok());
      EXPECT_EQ(want_total, page->total);
      EXPECT_EQ(static_cast<size_t>(std::min<int64_t>(q.limit, want_total)), page->runs.size());
      best = std::min(best, ms);
    }
    return best;
  };
  double all_first = time_ms(Query().limit(100), kRuns);
  double all_late = time_ms(Query().limit(100).offset(15000), kRuns);
  double project_first = time_ms(Query().project("big").limit(100), kRuns * 3 / 4);
  double by_name =
      time_ms(Query().project("big").sort(RunSortField::kName).limit(100), kRuns * 3 / 4);
  double by_tag = time_ms(Query().project("big").tag("seed-3").limit(100), big_seed3);
  double by_config = time_ms(Query().project("big").config_equals({{"param_7", "1.75"}}).limit(100),
                             kRuns * 3 / 4);
  std::printf(
      "[ metrics  ] %d runs, page of 100: all %.2f ms, all offset 15000 %.2f ms, project %.2f "
      "ms, project by name %.2f ms, tag %.2f ms, config %.2f ms\n",
      kRuns, all_first, all_late, project_first, by_name, by_tag, by_config);
  // Generous bounds (a loaded CI machine, sanitizers), still far below what
  // a plan that reads and sorts every run would need.
  EXPECT_LT(all_first, 50.0);
  EXPECT_LT(project_first, 50.0);
}

}  // namespace
}  // namespace vigil::storage
