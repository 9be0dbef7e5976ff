#include "storage/metadata/metadata_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "storage/metadata/metadata_format.h"
#include "storage/metadata/metadata_test_fixture.h"
#include "testing/testing.h"

namespace vigil::storage {
namespace {

// ------------------------------------------------------------ open

TEST_F(MetadataStoreTest, OpenSetsWalModeAndSchemaVersion) {
  EXPECT_EQ("wal", RawQuery(path_, "PRAGMA journal_mode"));
  EXPECT_EQ(std::to_string(kMetadataSchemaVersion), RawQuery(path_, "PRAGMA user_version"));
}

TEST_F(MetadataStoreTest, OpenWithFullSyncWorks) {
  store_.reset();
  auto opened = MetadataStore::Open({.path = path_, .full_sync = true});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_TRUE((*opened)->CreateRun(MakeRun("r1", "p", 1)).ok());
}

TEST_F(MetadataStoreTest, FileThatIsNotSqliteIsCorruption) {
  std::string path = dir_.Join("not-a-db.sqlite");
  testing::WriteFileOrDie(path, std::string(4096, 'x'));
  auto opened = MetadataStore::Open({.path = path});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(StatusCode::kCorruption, opened.status().code()) << opened.status().ToString();
  EXPECT_NE(std::string::npos, opened.status().message().find(path));
  EXPECT_NE(std::string::npos, opened.status().message().find("file is not a database"));
}

TEST_F(MetadataStoreTest, UnopenablePathIsIOError) {
  auto opened = MetadataStore::Open({.path = dir_.Join("no/such/dir/metadata.sqlite")});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(StatusCode::kIOError, opened.status().code()) << opened.status().ToString();
  EXPECT_NE(std::string::npos, opened.status().message().find("no/such/dir"));
}

TEST_F(MetadataStoreTest, NewerSchemaVersionIsRefused) {
  store_.reset();
  RawQuery(path_, fmt::format("PRAGMA user_version = {}", kMetadataSchemaVersion + 1));
  auto opened = MetadataStore::Open({.path = path_});
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(StatusCode::kFailedPrecondition, opened.status().code());
  EXPECT_NE(std::string::npos, opened.status().message().find("newer than this vigil supports"))
      << opened.status().ToString();
}

TEST_F(MetadataStoreTest, ReopenKeepsEverything) {
  RunRecord r = MakeRun("r1", "p", 100);
  r.tags = {"a", "b"};
  r.config_json = R"({"lr":0.1})";
  Create(r);
  EventRecord e = Event().run("r1").time_ms(5).kind("state").message("m").data_json("[1]");
  auto seq = store_->AppendEvent(e);
  ASSERT_TRUE(seq.ok());
  auto updated = store_->UpdateRun("r1", Patch().state("finished").finished_ms(200), 200);
  ASSERT_TRUE(updated.ok());

  Reopen();
  auto got = store_->GetRun("r1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ExpectSameRun(*updated, *got);
  auto events = store_->ListEvents("r1", 0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(1u, events->size());
  EXPECT_EQ(*seq, (*events)[0].seq);
  EXPECT_EQ("[1]", (*events)[0].data_json);
  // A new event after reopening continues the sequence.
  auto next = store_->AppendEvent(e);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(*next, *seq);
}

// ------------------------------------------------------------ create, get

TEST_F(MetadataStoreTest, CreateGetRoundTripsEveryField) {
  RunRecord r;
  r.id = "run-1_x";
  r.project = "digits.v2";
  r.name = "résumé 学习 🚀 \"quoted\" \\ back";
  r.state = "failed";
  r.group = "sweep-7";
  r.tags = {"β", "with \"quote\"", "tab\tand\nnewline", "", "🚀"};
  r.notes = std::string("line1\nline2\0with nul", 20);
  std::string big = "{";
  for (int i = 0; i < 20000; ++i) big += fmt::format("\"k{}\":{},", i, i * 0.5);
  big += "\"end\":\"ü\"}";
  r.config_json = big;
  r.summary_json = R"({"best":{"acc":0.98}})";
  r.host_json = R"({"host":"gpu-1","pid":42})";
  r.message = "CUDA out of memory";
  r.world_size = 8;
  r.created_ms = 1732800000123;
  r.updated_ms = 1732800000999;
  r.heartbeat_ms = 1732800000500;
  r.finished_ms = 1732800001000;
  r.resumed = 3;
  Create(r);
  auto got = store_->GetRun(r.id);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ExpectSameRun(r, *got);
}

TEST_F(MetadataStoreTest, EmptyTagsRoundTrip) {
  Create(MakeRun("r1", "p", 1));
  auto got = store_->GetRun("r1");
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(got->tags.empty());
  EXPECT_EQ("[]", RawQuery(path_, "SELECT tags_json FROM runs WHERE id = 'r1'"));
}

TEST_F(MetadataStoreTest, CreateDuplicateIdIsAlreadyExists) {
  Create(MakeRun("r1", "p", 1));
  Status st = store_->CreateRun(MakeRun("r1", "other", 2));
  EXPECT_EQ(StatusCode::kAlreadyExists, st.code()) << st.ToString();
  EXPECT_EQ("run r1 already exists", st.message());
  auto got = store_->GetRun("r1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ("p", got->project);
}

TEST_F(MetadataStoreTest, CreateBadStateIsInvalidArgument) {
  RunRecord r = MakeRun("r1", "p", 1);
  r.state = "done";
  Status st = store_->CreateRun(r);
  EXPECT_EQ(StatusCode::kInvalidArgument, st.code());
  EXPECT_NE(std::string::npos,
            st.message().find("state must be one of running, finished, failed, crashed"));
  EXPECT_TRUE(store_->GetRun("r1").status().IsNotFound());
}

TEST_F(MetadataStoreTest, CreateBadIdOrProjectIsInvalidArgument) {
  EXPECT_TRUE(store_->CreateRun(MakeRun("", "p", 1)).IsInvalidArgument());
  EXPECT_TRUE(store_->CreateRun(MakeRun("a/b", "p", 1)).IsInvalidArgument());
  EXPECT_TRUE(store_->CreateRun(MakeRun("r1", "", 1)).IsInvalidArgument());
  EXPECT_TRUE(store_->CreateRun(MakeRun("r1", "bad project", 1)).IsInvalidArgument());
}

TEST_F(MetadataStoreTest, GetMissingIsNotFound) {
  auto got = store_->GetRun("nope");
  EXPECT_TRUE(got.status().IsNotFound());
  EXPECT_EQ("run nope does not exist", got.status().message());
}

// ------------------------------------------------------------ update, delete

TEST_F(MetadataStoreTest, UpdateAppliesEveryPatchField) {
  Create(MakeRun("r1", "p", 10));
  RunPatch patch;
  patch.name = "renamed ü";
  patch.state = "finished";
  patch.group = "g";
  patch.tags = std::vector<std::string>{"x", "y"};
  patch.notes = "notes";
  patch.config_json = R"({"a":1})";
  patch.summary_json = R"({"loss":0.1})";
  patch.host_json = R"({"host":"h"})";
  patch.message = "ok";
  patch.world_size = 4;
  patch.finished_ms = 50;
  patch.heartbeat_ms = 49;
  patch.increment_resumed = true;
  auto after = store_->UpdateRun("r1", patch, 60);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  RunRecord want = MakeRun("r1", "p", 10);
  want.name = "renamed ü";
  want.state = "finished";
  want.group = "g";
  want.tags = {"x", "y"};
  want.notes = "notes";
  want.config_json = R"({"a":1})";
  want.summary_json = R"({"loss":0.1})";
  want.host_json = R"({"host":"h"})";
  want.message = "ok";
  want.world_size = 4;
  want.finished_ms = 50;
  want.heartbeat_ms = 49;
  want.resumed = 1;
  want.updated_ms = 60;
  ExpectSameRun(want, *after);
  auto got = store_->GetRun("r1");
  ASSERT_TRUE(got.ok());
  ExpectSameRun(want, *got);
}

TEST_F(MetadataStoreTest, UpdateLeavesUnsetFieldsAlone) {
  RunRecord r = MakeRun("r1", "p", 10);
  r.tags = {"keep"};
  r.config_json = R"({"keep":true})";
  r.world_size = 2;
  r.heartbeat_ms = 11;
  Create(r);
  auto after = store_->UpdateRun("r1", Patch().notes("only notes"), 99);
  ASSERT_TRUE(after.ok());
  r.notes = "only notes";
  r.updated_ms = 99;
  ExpectSameRun(r, *after);
  // An empty patch only touches updated_ms; resumed counts each increment.
  ASSERT_TRUE(store_->UpdateRun("r1", Patch().increment_resumed(true), 100).ok());
  after = store_->UpdateRun("r1", Patch().increment_resumed(true), 101);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(2, after->resumed);
  EXPECT_EQ(101, after->updated_ms);
  EXPECT_EQ(std::vector<std::string>{"keep"}, after->tags);
}

TEST_F(MetadataStoreTest, UpdateCanClearTags) {
  RunRecord r = MakeRun("r1", "p", 10);
  r.tags = {"a"};
  Create(r);
  auto after = store_->UpdateRun("r1", Patch().tags(std::vector<std::string>{}), 11);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->tags.empty());
  EXPECT_TRUE(store_->GetRun("r1")->tags.empty());
}

TEST_F(MetadataStoreTest, UpdateMissingIsNotFound) {
  auto after = store_->UpdateRun("ghost", Patch().name("x"), 1);
  EXPECT_TRUE(after.status().IsNotFound());
  EXPECT_EQ("run ghost does not exist", after.status().message());
}

TEST_F(MetadataStoreTest, UpdateBadStateIsInvalidArgumentAndChangesNothing) {
  Create(MakeRun("r1", "p", 10));
  auto after = store_->UpdateRun("r1", Patch().name("new").state("paused"), 20);
  EXPECT_TRUE(after.status().IsInvalidArgument());
  EXPECT_NE(std::string::npos, after.status().message().find("paused"));
  auto got = store_->GetRun("r1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ("name-r1", got->name);
  EXPECT_EQ(10, got->updated_ms);
}

TEST_F(MetadataStoreTest, DeleteRemovesRunAndItsEvents) {
  Create(MakeRun("r1", "p", 1));
  Create(MakeRun("r2", "p", 2));
  ASSERT_TRUE(store_->AppendEvent(Event().run("r1").kind("a")).ok());
  ASSERT_TRUE(store_->AppendEvent(Event().run("r2").kind("b")).ok());
  ASSERT_TRUE(store_->DeleteRun("r1").ok());
  EXPECT_TRUE(store_->GetRun("r1").status().IsNotFound());
  EXPECT_TRUE(store_->ListEvents("r1", 0, 10).status().IsNotFound());
  EXPECT_EQ("1", RawQuery(path_, "SELECT COUNT(*) FROM events"));
  EXPECT_TRUE(store_->GetRun("r2").ok());
}

TEST_F(MetadataStoreTest, DeleteMissingIsNotFound) {
  Status st = store_->DeleteRun("ghost");
  EXPECT_TRUE(st.IsNotFound());
  EXPECT_EQ("run ghost does not exist", st.message());
}

// ------------------------------------------------------------ heartbeats

TEST_F(MetadataStoreTest, SetHeartbeatsUpdatesManyAndIgnoresUnknown) {
  Create(MakeRun("r1", "p", 1));
  Create(MakeRun("r2", "p", 1));
  ASSERT_TRUE(store_->SetHeartbeats({{"r1", 100}, {"ghost", 5}, {"r2", 200}}).ok());
  EXPECT_EQ(100, store_->GetRun("r1")->heartbeat_ms);
  EXPECT_EQ(200, store_->GetRun("r2")->heartbeat_ms);
  EXPECT_EQ(1, store_->GetRun("r1")->updated_ms);  // heartbeats are not updates
  EXPECT_TRUE(store_->SetHeartbeats({}).ok());
}

TEST_F(MetadataStoreTest, HeartbeatNeverMovesBackwards) {
  Create(MakeRun("r1", "p", 1));
  ASSERT_TRUE(store_->SetHeartbeats({{"r1", 100}}).ok());
  ASSERT_TRUE(store_->SetHeartbeats({{"r1", 90}}).ok());
  EXPECT_EQ(100, store_->GetRun("r1")->heartbeat_ms);
  ASSERT_TRUE(store_->SetHeartbeats({{"r1", 90}, {"r1", 150}}).ok());
  EXPECT_EQ(150, store_->GetRun("r1")->heartbeat_ms);
}

TEST_F(MetadataStoreTest, StaleRunningRunsSelectsSilentRunningRuns) {
  RunRecord fresh = MakeRun("fresh", "p", 10);
  fresh.heartbeat_ms = 1000;
  RunRecord stale = MakeRun("stale", "p", 10);
  stale.heartbeat_ms = 500;
  RunRecord finished = MakeRun("finished", "p", 10);
  finished.state = "finished";
  RunRecord new_silent = MakeRun("new-silent", "p", 900);  // never beat, just created
  RunRecord old_silent = MakeRun("old-silent", "p", 100);  // never beat, long ago
  for (const auto& r : {fresh, stale, finished, new_silent, old_silent}) Create(r);
  auto ids = store_->StaleRunningRuns(800);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ((std::vector<std::string>{"old-silent", "stale"}), *ids);
  // A heartbeat revives a run.
  ASSERT_TRUE(store_->SetHeartbeats({{"stale", 850}}).ok());
  EXPECT_EQ(std::vector<std::string>{"old-silent"}, *store_->StaleRunningRuns(800));
  EXPECT_TRUE(store_->StaleRunningRuns(0)->empty());
}

// ------------------------------------------------------------ events

TEST_F(MetadataStoreTest, EventsListOldestFirstWithAfterSeqPaging) {
  Create(MakeRun("r1", "p", 1));
  Create(MakeRun("r2", "p", 1));
  std::vector<int64_t> seqs;
  for (int i = 0; i < 10; ++i) {
    auto seq = store_->AppendEvent(Event()
                                       .run(i % 2 ? "r2" : "r1")
                                       .time_ms(100 + i)
                                       .kind("annotation")
                                       .message(fmt::format("e{}", i))
                                       .data_json(fmt::format(R"({{"i":{}}})", i)));
    ASSERT_TRUE(seq.ok()) << seq.status().ToString();
    if (!seqs.empty()) {
      EXPECT_GT(*seq, seqs.back());
    }
    seqs.push_back(*seq);
  }
  // r1 holds e0, e2, e4, e6, e8; page through it two at a time.
  std::vector<std::string> seen;
  int64_t after = 0;
  for (;;) {
    auto page = store_->ListEvents("r1", after, 2);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    EXPECT_LE(page->size(), 2u);
    for (const auto& e : *page) {
      EXPECT_GT(e.seq, after);
      EXPECT_EQ("r1", e.run);
      EXPECT_EQ("annotation", e.kind);
      seen.push_back(e.message);
      after = e.seq;
    }
  }
  EXPECT_EQ((std::vector<std::string>{"e0", "e2", "e4", "e6", "e8"}), seen);
  auto tail = store_->ListEvents("r2", seqs[6], 100);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(2u, tail->size());
  EXPECT_EQ("e7", (*tail)[0].message);
  EXPECT_EQ(107, (*tail)[0].time_ms);
  EXPECT_EQ(R"({"i":7})", (*tail)[0].data_json);
  EXPECT_EQ(seqs[9], (*tail)[1].seq);
}

TEST_F(MetadataStoreTest, EventForUnknownRunIsNotFound) {
  auto seq = store_->AppendEvent(Event().run("ghost").kind("x"));
  EXPECT_TRUE(seq.status().IsNotFound());
  EXPECT_EQ("run ghost does not exist", seq.status().message());
  EXPECT_TRUE(store_->ListEvents("ghost", 0, 10).status().IsNotFound());
}

TEST_F(MetadataStoreTest, EventsOfRunWithoutEventsIsEmpty) {
  Create(MakeRun("r1", "p", 1));
  auto events = store_->ListEvents("r1", 0, 10);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

TEST_F(MetadataStoreTest, EventsLimitOutOfRangeIsInvalidArgument) {
  Create(MakeRun("r1", "p", 1));
  EXPECT_TRUE(store_->ListEvents("r1", 0, 0).status().IsInvalidArgument());
  EXPECT_TRUE(store_->ListEvents("r1", 0, 10001).status().IsInvalidArgument());
  EXPECT_TRUE(store_->ListEvents("r1", 0, 10000).ok());
}

TEST_F(MetadataStoreTest, EventSeqIsNotReusedAfterDelete) {
  Create(MakeRun("r1", "p", 1));
  auto first = store_->AppendEvent(Event().run("r1").kind("x"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(store_->DeleteRun("r1").ok());
  Create(MakeRun("r1", "p", 1));
  auto second = store_->AppendEvent(Event().run("r1").kind("x"));
  ASSERT_TRUE(second.ok());
  EXPECT_GT(*second, *first);
}

// ------------------------------------------------------------ projects

TEST_F(MetadataStoreTest, ListProjectsCountsRunsAndActivity) {
  RunRecord a1 = MakeRun("a1", "alpha", 100);
  RunRecord a2 = MakeRun("a2", "alpha", 200);
  a2.state = "finished";
  a2.finished_ms = 900;
  RunRecord b1 = MakeRun("b1", "beta", 50);
  b1.heartbeat_ms = 70;
  for (const auto& r : {a1, a2, b1}) Create(r);
  auto projects = store_->ListProjects();
  ASSERT_TRUE(projects.ok());
  ASSERT_EQ(2u, projects->size());
  EXPECT_EQ("alpha", (*projects)[0].name);
  EXPECT_EQ(2, (*projects)[0].runs);
  EXPECT_EQ(1, (*projects)[0].running);
  EXPECT_EQ(900, (*projects)[0].last_activity_ms);
  EXPECT_EQ("beta", (*projects)[1].name);
  EXPECT_EQ(1, (*projects)[1].runs);
  EXPECT_EQ(1, (*projects)[1].running);
  EXPECT_EQ(70, (*projects)[1].last_activity_ms);
}

TEST_F(MetadataStoreTest, ListProjectsOfEmptyStoreIsEmpty) {
  auto projects = store_->ListProjects();
  ASSERT_TRUE(projects.ok());
  EXPECT_TRUE(projects->empty());
}

// ------------------------------------------------------------ concurrency

TEST_F(MetadataStoreTest, TwoThreadsCreatingAndUpdatingConcurrently) {
  constexpr int kPerThread = 200;
  auto work = [&](int t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string id = fmt::format("t{}-{}", t, i);
      Status st = store_->CreateRun(MakeRun(id, fmt::format("p{}", t), i));
      EXPECT_TRUE(st.ok()) << st.ToString();
      auto up = store_->UpdateRun(id, Patch().state("finished").increment_resumed(true), i + 1);
      EXPECT_TRUE(up.ok()) << up.status().ToString();
      EXPECT_TRUE(store_->AppendEvent(Event().run(id).kind("state")).ok());
      EXPECT_TRUE(store_->SetHeartbeats({{id, i + 2}}).ok());
    }
  };
  std::thread a(work, 0);
  std::thread b(work, 1);
  a.join();
  b.join();
  auto page = List(Query().state("finished").limit(10000));
  EXPECT_EQ(2 * kPerThread, page.total);
  std::set<std::string> ids;
  for (const auto& r : page.runs) {
    ids.insert(r.id);
    EXPECT_EQ(1, r.resumed);
  }
  EXPECT_EQ(static_cast<size_t>(2 * kPerThread), ids.size());
}

}  // namespace
}  // namespace vigil::storage
