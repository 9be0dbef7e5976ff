#include "alerting/alerting_service.h"

#include <cmath>
#include <deque>
#include <limits>
#include <mutex>
#include <random>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::alerting {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

class RecordingPoster final : public HttpPoster {
 public:
  Result<int> Post(const std::string&, std::string_view, const std::string& body,
                   std::chrono::milliseconds) override {
    std::lock_guard lock(mu);
    bodies.push_back(body);
    return 200;
  }
  size_t count() {
    std::lock_guard lock(mu);
    return bodies.size();
  }
  std::mutex mu;
  std::vector<std::string> bodies;
};

class AlertingServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::MetadataOptions mo;
    mo.path = dir_.Join("metadata.sqlite");
    auto md = storage::MetadataStore::Open(mo);
    ASSERT_TRUE(md.ok()) << md.status().ToString();
    metadata_ = std::move(*md);
    storage::RunRecord run;
    run.id = "r1";
    run.project = "p";
    run.created_ms = clock_.NowMillis();
    ASSERT_TRUE(metadata_->CreateRun(run).ok());
    Open("");
  }
  void Open(const std::string& rules_file) {
    service_.reset();
    AlertingOptions o;
    o.store_path = dir_.Join("alerts.sqlite");
    o.rules_file = rules_file;
    o.tick_interval_ms = 3'600'000;  // ticks only by TickNow
    auto s = AlertingService::Open(o, metadata_.get(), &poster_, &clock_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(*s);
  }
  // Logs `values` at steps first_step, first_step+1, ... and waits for the
  // worker.
  void Log(std::string_view metric, int64_t first_step, const std::vector<double>& values) {
    std::vector<int64_t> steps, times;
    for (size_t i = 0; i < values.size(); ++i) {
      steps.push_back(first_step + static_cast<int64_t>(i));
      times.push_back(clock_.NowMillis());
    }
    service_->OnPoints("r1", "p", metric, {}, steps, times, values);
    ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(10)));
  }
  std::vector<AlertRecord> Alerts(std::string state = "") {
    AlertQuery q;
    q.run = "r1";
    q.state = std::move(state);
    auto a = service_->ListAlerts(q);
    EXPECT_TRUE(a.ok());
    return a.ok() ? *a : std::vector<AlertRecord>{};
  }
  std::vector<storage::EventRecord> Events(std::string_view kind) {
    auto ev = metadata_->ListEvents("r1", 0, 1000);
    EXPECT_TRUE(ev.ok());
    std::vector<storage::EventRecord> out;
    for (auto& e : *ev) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }
  void WriteRules(const std::string& text) {
    testing::WriteFileOrDie(dir_.Join("rules.toml"), text);
  }

  testing::TempDir dir_;
  testing::FakeClock clock_{1'700'000'000'000};
  RecordingPoster poster_;
  std::unique_ptr<storage::MetadataStore> metadata_;
  std::unique_ptr<AlertingService> service_;
};

TEST_F(AlertingServiceTest, NaNFiresAtItsStepWithAnEvent) {
  Log("train/loss", 0, {1.0, 0.9, 0.8, kNaN});
  auto firing = Alerts("firing");
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].rule, "builtin/non_finite");
  EXPECT_EQ(firing[0].kind, "non_finite");
  EXPECT_EQ(firing[0].step, 3);
  EXPECT_EQ(firing[0].metric, "train/loss");
  EXPECT_NE(firing[0].message.find("NaN"), std::string::npos) << firing[0].message;
  EXPECT_EQ(service_->firing(), 1);
  auto events = Events("alert");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].message, firing[0].message);
  EXPECT_NE(events[0].data_json.find("\"state\":\"firing\""), std::string::npos);
}

TEST_F(AlertingServiceTest, ConditionOverResolvesAndANewOneOpensAnotherAlert) {
  Log("train/loss", 0, {1.0, kNaN, kNaN, 0.9});
  auto all = Alerts();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].state, "resolved");
  EXPECT_EQ(all[0].resolved_step, 3);
  EXPECT_EQ(service_->firing(), 0);
  Log("train/loss", 4, {kNaN});
  all = Alerts();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state, "firing");
  EXPECT_EQ(all[0].step, 4);
  EXPECT_EQ(Events("alert").size(), 3u);  // fired, resolved, fired
}

TEST_F(AlertingServiceTest, RetriedPointsAreNotSeenTwice) {
  Log("train/loss", 0, {1.0, kNaN});
  Log("train/loss", 0, {1.0, kNaN});  // a client retry of the same batch
  auto all = Alerts();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].count, 1);
  EXPECT_EQ(all[0].state, "firing");
}

TEST_F(AlertingServiceTest, EachEpisodeIsOneAlert) {
  WriteRules(R"(
[builtin]
enabled = false
[[rule]]
name = "high"
metric = "x"
detector = "threshold"
params = { above = 10 }
severity = "info"
)");
  Open(dir_.Join("rules.toml"));
  Log("x", 0, {1, 2, 50, 70, 1, 60, 1});
  auto all = Alerts();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].step, 2);
  EXPECT_EQ(all[1].resolved_step, 4);
  EXPECT_EQ(all[1].severity, "info");  // the rule's, not the detector's
  EXPECT_EQ(all[0].step, 5);
  EXPECT_EQ(all[0].state, "resolved");
}

TEST_F(AlertingServiceTest, ForHoldsTheAlertUntilTheConditionLasted) {
  WriteRules(R"(
[builtin]
enabled = false
[[rule]]
name = "high"
metric = "x"
detector = "threshold"
params = { above = 10 }
for = "2s"
)");
  Open(dir_.Join("rules.toml"));
  Log("x", 0, {50});
  clock_.Advance(1000);
  Log("x", 1, {1});  // over before 2s: nothing
  EXPECT_TRUE(Alerts().empty());
  Log("x", 2, {50});
  clock_.Advance(1000);
  Log("x", 3, {60});
  EXPECT_TRUE(Alerts().empty());
  clock_.Advance(1500);
  Log("x", 4, {70});
  auto firing = Alerts("firing");
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].step, 2);  // the step where the condition began
}

TEST_F(AlertingServiceTest, SeriesAreIndependent) {
  Log("train/loss", 0, {kNaN});
  Log("val/loss", 0, {kNaN});
  EXPECT_EQ(Alerts("firing").size(), 2u);
}

TEST_F(AlertingServiceTest, WebhookIsNotified) {
  WriteRules(R"(
[[webhook]]
name = "ops"
url = "http://127.0.0.1:9/hook"
)");
  Open(dir_.Join("rules.toml"));
  Log("train/loss", 0, {kNaN});
  ASSERT_TRUE(service_->notifier()->WaitIdle(std::chrono::seconds(5)));
  ASSERT_EQ(poster_.count(), 1u);
  EXPECT_NE(poster_.bodies[0].find("alert.firing"), std::string::npos);
  Log("train/loss", 1, {1.0});
  ASSERT_TRUE(service_->notifier()->WaitIdle(std::chrono::seconds(5)));
  ASSERT_EQ(poster_.count(), 2u);
  EXPECT_NE(poster_.bodies[1].find("alert.resolved"), std::string::npos);
}

TEST_F(AlertingServiceTest, RuleActionQueuesRollbackWithTheStep) {
  WriteRules(R"(
[[rule]]
name = "nan-rollback"
metric = "train/loss"
detector = "non_finite"
actions = ["rollback"]
rollback = { steps_back = 2, skip_batches = 9 }
)");
  Open(dir_.Join("rules.toml"));
  Log("train/loss", 10, {1.0, kNaN});
  auto cmds = service_->ListCommands("r1", 100);
  ASSERT_TRUE(cmds.ok());
  ASSERT_EQ(cmds->size(), 1u);
  EXPECT_EQ((*cmds)[0].type, "rollback");
  EXPECT_EQ((*cmds)[0].source, "rule:nan-rollback");
  EXPECT_EQ((*cmds)[0].args_json, R"({"steps_back":2,"skip_batches":9,"step":11})");
  EXPECT_NE((*cmds)[0].alert_id, 0);
}

TEST_F(AlertingServiceTest, CommandsAreDeliveredOnceAndTheirLifeIsOnTheTimeline) {
  auto c = service_->QueueCommand("r1", "pause", "{}");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->state, CommandState::kQueued);
  auto none = service_->TakeCommands("r2");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto first = service_->TakeCommands("r1");
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].seq, c->seq);
  auto second = service_->TakeCommands("r1");
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(second->empty());
  ASSERT_TRUE(service_->AckCommand("r1", c->seq, CommandState::kAcknowledged, "").ok());
  auto done = service_->AckCommand("r1", c->seq, CommandState::kDone, "paused");
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->state, CommandState::kDone);
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(5)));
  std::vector<std::string> states;
  for (const auto& e : Events("command")) {
    auto pos = e.data_json.find("\"state\":\"");
    ASSERT_NE(pos, std::string::npos);
    states.push_back(e.data_json.substr(pos + 9, e.data_json.find('"', pos + 9) - pos - 9));
  }
  EXPECT_EQ(states, (std::vector<std::string>{"queued", "delivered", "acknowledged", "done"}));
}

TEST_F(AlertingServiceTest, QueuedCommandsSurviveReopen) {
  ASSERT_TRUE(service_->QueueCommand("r1", "stop", "{}").ok());
  Open("");
  auto taken = service_->TakeCommands("r1");
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(taken->size(), 1u);
}

TEST_F(AlertingServiceTest, FiringAlertIsAdoptedAfterRestartNotDuplicated) {
  Log("train/loss", 0, {kNaN});
  Open("");
  EXPECT_EQ(service_->firing(), 1);
  Log("train/loss", 1, {kNaN});  // a fresh detector fires again
  EXPECT_EQ(Alerts().size(), 1u);
  Log("train/loss", 2, {1.0});
  EXPECT_TRUE(Alerts("firing").empty());
  EXPECT_EQ(service_->firing(), 0);
}

TEST_F(AlertingServiceTest, BadRulesFileKeepsTheOldRules) {
  WriteRules("[builtin]\nenabled = false\n");
  Open(dir_.Join("rules.toml"));
  EXPECT_FALSE(service_->rules()->builtin.enabled);
  WriteRules("[builtin\n");
  Status s = service_->ReloadRules();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(service_->rules()->builtin.enabled);
  Log("train/loss", 0, {kNaN});
  EXPECT_TRUE(Alerts().empty());  // the pack is still off
  WriteRules("[builtin]\nenabled = true\n");
  ASSERT_TRUE(service_->ReloadRules().ok());
  Log("train/loss", 1, {kNaN});
  EXPECT_EQ(Alerts("firing").size(), 1u);
}

TEST_F(AlertingServiceTest, ReloadWithoutFileIsFailedPrecondition) {
  EXPECT_EQ(service_->ReloadRules().code(), StatusCode::kFailedPrecondition);
}

TEST_F(AlertingServiceTest, SilentRunStallsAndRecoversOnActivity) {
  for (int i = 0; i < 10; ++i) {
    service_->OnActivity("r1", "p");
    ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(5)));
    clock_.Advance(1000);
  }
  service_->TickNow();
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(5)));
  EXPECT_TRUE(Alerts().empty());
  clock_.Advance(10 * 60 * 1000);
  service_->TickNow();
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(5)));
  auto firing = Alerts("firing");
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].kind, "stall");
  EXPECT_EQ(firing[0].rule, "builtin/stall");
  service_->TickNow();  // still silent: no second alert
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(5)));
  EXPECT_EQ(Alerts().size(), 1u);
  service_->OnActivity("r1", "p");
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(5)));
  EXPECT_TRUE(Alerts("firing").empty());
}

TEST_F(AlertingServiceTest, FinishedRunDoesNotStall) {
  service_->OnActivity("r1", "p");
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(5)));
  storage::RunPatch patch;
  patch.state = "finished";
  ASSERT_TRUE(metadata_->UpdateRun("r1", patch, clock_.NowMillis()).ok());
  clock_.Advance(3'600'000);
  service_->TickNow();
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(5)));
  EXPECT_TRUE(Alerts().empty());
}

// A four-rank job: rank 2 stops in its data phase, the others wait in
// comm. One rank_hang alert names rank 2; the snapshot shows the ranks.
TEST_F(AlertingServiceTest, RankHangNamesTheStoppedRankOnce) {
  for (int64_t r = 0; r < 4; ++r) service_->OnRankJoined("r1", "p", r, 4, fmt::format("n{}", r));
  for (int64_t step = 0; step < 50; ++step) {
    for (int64_t r = 0; r < 4; ++r) {
      std::vector<int64_t> steps{step}, times{clock_.NowMillis()};
      std::vector<double> values{0.05};
      service_->OnPoints("r1", "p", "time/forward",
                         {{"node", fmt::format("n{}", r)}, {"rank", fmt::format("{}", r)}}, steps,
                         times, values);
    }
    clock_.Advance(50);
  }
  auto beat = [&](int64_t r, int64_t phase_ms) {
    analysis::RankBeat b;
    b.step = 49;
    b.phase = r == 2 ? "data" : "comm";
    b.phase_ms = phase_ms;
    service_->OnRankBeat("r1", "p", r, b);
    service_->OnActivity("r1", "p");  // as the heartbeat route does
  };
  for (int64_t r = 0; r < 4; ++r) beat(r, 10);
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(10)));
  service_->TickNow();
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(10)));
  EXPECT_TRUE(Alerts().empty());
  clock_.Advance(61'000);
  for (int64_t r = 0; r < 4; ++r) beat(r, 61'010);
  service_->TickNow();
  service_->TickNow();
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(10)));
  auto firing = Alerts("firing");
  ASSERT_EQ(firing.size(), 1u);
  EXPECT_EQ(firing[0].rule, "builtin/rank_hang");
  EXPECT_EQ(firing[0].severity, "critical");
  EXPECT_NE(firing[0].message.find("the first to stop was rank 2 at step 49 in phase data on "
                                   "node n2"),
            std::string::npos)
      << firing[0].message;
  auto snap = service_->RanksSnapshot("r1");
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->known, 4);
  ASSERT_TRUE(snap->hang.has_value());
  EXPECT_EQ(snap->hang->ranks, std::vector<int64_t>{2});
  EXPECT_FALSE(service_->RanksSnapshot("other").has_value());
  // The run ends: the hang resolves.
  service_->OnRunEnded("r1");
  service_->TickNow();
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(10)));
  EXPECT_TRUE(Alerts("firing").empty());
}

TEST_F(AlertingServiceTest, DisabledRankHangRaisesNothing) {
  WriteRules("[builtin]\ndisable = [\"rank_hang\", \"rank_lost\"]\n");
  Open(dir_.Join("rules.toml"));
  for (int64_t r = 0; r < 2; ++r) service_->OnRankJoined("r1", "p", r, 2, "n");
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(10)));
  clock_.Advance(3'600'000);
  service_->TickNow();
  ASSERT_TRUE(service_->WaitIdle(std::chrono::seconds(10)));
  for (const auto& a : Alerts()) EXPECT_EQ(a.rule, "builtin/stall");
}

}  // namespace
}  // namespace vigil::alerting
