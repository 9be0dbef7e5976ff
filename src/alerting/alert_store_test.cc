#include "alerting/alert_store.h"

#include <cmath>
#include <thread>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::alerting {
namespace {

class AlertStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = AlertStore::Open(dir_.Join("alerts.sqlite"));
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  AlertRecord Alert(std::string run, std::string rule, std::string series) {
    AlertRecord a;
    a.run = std::move(run);
    a.project = "p";
    a.rule = std::move(rule);
    a.kind = "spike";
    a.metric = "train/loss";
    a.series = std::move(series);
    a.step = 10;
    a.time_ms = 1000;
    a.value = 8.5;
    a.message = "train/loss spiked";
    return a;
  }
  testing::TempDir dir_;
  std::unique_ptr<AlertStore> store_;
};

TEST_F(AlertStoreTest, OpenAlertRoundTrips) {
  AlertRecord a = Alert("r1", "builtin/spike", "train/loss");
  a.value = std::numeric_limits<double>::quiet_NaN();
  auto id = store_->OpenAlert(a);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto got = store_->GetAlert(*id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->run, "r1");
  EXPECT_EQ(got->state, "firing");
  EXPECT_EQ(got->step, 10);
  EXPECT_EQ(got->last_step, 10);
  EXPECT_TRUE(std::isnan(got->value));
  EXPECT_EQ(got->count, 1);
}

TEST_F(AlertStoreTest, SecondFiringAlertOfSameKeyIsRefused) {
  ASSERT_TRUE(store_->OpenAlert(Alert("r1", "builtin/spike", "train/loss")).ok());
  auto dup = store_->OpenAlert(Alert("r1", "builtin/spike", "train/loss"));
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  // Another series, rule or run is a different key.
  EXPECT_TRUE(store_->OpenAlert(Alert("r1", "builtin/spike", "val/loss")).ok());
  EXPECT_TRUE(store_->OpenAlert(Alert("r1", "mine", "train/loss")).ok());
  EXPECT_TRUE(store_->OpenAlert(Alert("r2", "builtin/spike", "train/loss")).ok());
}

TEST_F(AlertStoreTest, ResolvedAlertFreesTheKey) {
  auto id = store_->OpenAlert(Alert("r1", "builtin/spike", "train/loss"));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store_->ResolveAlert(*id, 60, 2000).ok());
  EXPECT_EQ(store_->ResolveAlert(*id, 61, 2001).code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->OpenAlert(Alert("r1", "builtin/spike", "train/loss")).ok());
  auto firing = store_->CountFiring();
  ASSERT_TRUE(firing.ok());
  EXPECT_EQ(*firing, 1);
}

TEST_F(AlertStoreTest, BumpCountsFindings) {
  auto id = store_->OpenAlert(Alert("r1", "builtin/spike", "train/loss"));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store_->BumpAlert(*id, 12, 1200).ok());
  ASSERT_TRUE(store_->BumpAlert(*id, 15, 1500).ok());
  auto got = store_->GetAlert(*id);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->count, 3);
  EXPECT_EQ(got->step, 10);
  EXPECT_EQ(got->last_step, 15);
  auto found = store_->FindFiring("r1", "builtin/spike", "train/loss");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, *id);
}

TEST_F(AlertStoreTest, ListFiltersAndOrdersNewestFirst) {
  auto a = store_->OpenAlert(Alert("r1", "x", "s1"));
  auto b = store_->OpenAlert(Alert("r2", "x", "s1"));
  auto c = store_->OpenAlert(Alert("r1", "x", "s2"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  ASSERT_TRUE(store_->ResolveAlert(*c, 20, 3000).ok());
  AlertQuery q;
  q.run = "r1";
  auto r1 = store_->ListAlerts(q);
  ASSERT_TRUE(r1.ok());
  ASSERT_EQ(r1->size(), 2u);
  EXPECT_EQ((*r1)[0].id, *c);
  EXPECT_EQ((*r1)[1].id, *a);
  q.state = "firing";
  auto f = store_->ListAlerts(q);
  ASSERT_TRUE(f.ok());
  ASSERT_EQ(f->size(), 1u);
  EXPECT_EQ((*f)[0].id, *a);
  q.state = "burning";
  EXPECT_EQ(store_->ListAlerts(q).status().code(), StatusCode::kInvalidArgument);
  q.state = "";
  q.limit = 0;
  EXPECT_EQ(store_->ListAlerts(q).status().code(), StatusCode::kInvalidArgument);
}

CommandRecord Command(std::string run, std::string type) {
  CommandRecord c;
  c.run = std::move(run);
  c.type = std::move(type);
  c.created_ms = 5;
  return c;
}

TEST_F(AlertStoreTest, CommandsAreTakenOnce) {
  auto c1 = store_->QueueCommand(Command("r1", "pause"));
  auto c2 = store_->QueueCommand(Command("r1", "rollback"));
  auto other = store_->QueueCommand(Command("r2", "stop"));
  ASSERT_TRUE(c1.ok() && c2.ok() && other.ok());
  EXPECT_LT(c1->seq, c2->seq);
  auto taken = store_->TakeQueuedCommands("r1", 100);
  ASSERT_TRUE(taken.ok());
  ASSERT_EQ(taken->size(), 2u);
  EXPECT_EQ((*taken)[0].seq, c1->seq);
  EXPECT_EQ((*taken)[0].state, CommandState::kDelivered);
  EXPECT_EQ((*taken)[0].delivered_ms, 100);
  auto again = store_->TakeQueuedCommands("r1", 101);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  auto runs = store_->RunsWithQueuedCommands();
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(*runs, std::vector<std::string>{"r2"});
}

TEST_F(AlertStoreTest, ConcurrentTakersDeliverEachCommandOnce) {
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(store_->QueueCommand(Command("r1", "checkpoint")).ok());
  std::atomic<int> total{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        auto taken = store_->TakeQueuedCommands("r1", 1);
        if (taken.ok()) total += static_cast<int>(taken->size());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(total.load(), 50);
}

TEST_F(AlertStoreTest, AckMovesThroughStates) {
  auto c = store_->QueueCommand(Command("r1", "rollback"));
  ASSERT_TRUE(c.ok());
  auto early = store_->AckCommand("r1", c->seq, CommandState::kDone, "", 1);
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->TakeQueuedCommands("r1", 2).ok());
  auto ack = store_->AckCommand("r1", c->seq, CommandState::kAcknowledged, "restoring", 3);
  ASSERT_TRUE(ack.ok());
  EXPECT_TRUE(ack->second);
  auto done = store_->AckCommand("r1", c->seq, CommandState::kDone, "restored step 90", 4);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->second);
  EXPECT_EQ(done->first.finished_ms, 4);
  EXPECT_EQ(done->first.acked_ms, 3);
  auto repeat = store_->AckCommand("r1", c->seq, CommandState::kDone, "again", 5);
  ASSERT_TRUE(repeat.ok());
  EXPECT_FALSE(repeat->second);
  auto stored = store_->GetCommand("r1", c->seq);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->state, CommandState::kDone);
  EXPECT_EQ(stored->message, "restored step 90");
  EXPECT_EQ(store_->AckCommand("r2", c->seq, CommandState::kDone, "", 6).status().code(),
            StatusCode::kNotFound);
}

TEST_F(AlertStoreTest, UnknownCommandTypeIsRefused) {
  EXPECT_EQ(store_->QueueCommand(Command("r1", "reboot")).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(AlertStoreTest, DeliveriesAreRecordedInOrder) {
  DeliveryRecord d;
  d.alert_id = 7;
  d.event = "firing";
  d.webhook = "ops";
  d.url = "http://127.0.0.1:1/x";
  d.http_status = 500;
  d.error = "HTTP status 500";
  ASSERT_TRUE(store_->RecordDelivery(d).ok());
  d.attempt = 2;
  d.http_status = 200;
  d.ok = true;
  d.final = true;
  d.error.clear();
  ASSERT_TRUE(store_->RecordDelivery(d).ok());
  auto list = store_->ListDeliveries(7, 10);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_FALSE((*list)[0].ok);
  EXPECT_EQ((*list)[0].http_status, 500);
  EXPECT_TRUE((*list)[1].ok);
  EXPECT_TRUE((*list)[1].final);
  auto none = store_->ListDeliveries(8, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_F(AlertStoreTest, ReopenKeepsEverything) {
  auto id = store_->OpenAlert(Alert("r1", "x", "s"));
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store_->QueueCommand(Command("r1", "stop")).ok());
  store_.reset();
  auto s = AlertStore::Open(dir_.Join("alerts.sqlite"));
  ASSERT_TRUE(s.ok());
  auto firing = (*s)->CountFiring();
  ASSERT_TRUE(firing.ok());
  EXPECT_EQ(*firing, 1);
  auto runs = (*s)->RunsWithQueuedCommands();
  ASSERT_TRUE(runs.ok());
  EXPECT_EQ(runs->size(), 1u);
}

TEST_F(AlertStoreTest, NotADatabaseIsCorruption) {
  testing::WriteFileOrDie(dir_.Join("junk.sqlite"), std::string(4096, 'x'));
  auto s = AlertStore::Open(dir_.Join("junk.sqlite"));
  EXPECT_EQ(s.status().code(), StatusCode::kCorruption) << s.status().ToString();
}

}  // namespace
}  // namespace vigil::alerting
