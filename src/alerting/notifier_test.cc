#include "alerting/notifier.h"

#include <deque>
#include <mutex>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::alerting {
namespace {

// Answers each POST with the next scripted status (then 200), recording
// what it was sent.
class ScriptedPoster final : public HttpPoster {
 public:
  explicit ScriptedPoster(std::deque<int> script) : script_(std::move(script)) {}
  Result<int> Post(const std::string& url, std::string_view, const std::string& body,
                   std::chrono::milliseconds) override {
    std::lock_guard lock(mu_);
    urls.push_back(url);
    bodies.push_back(body);
    if (script_.empty()) return 200;
    int s = script_.front();
    script_.pop_front();
    if (s == 0) return Status::Unavailable("connection refused");
    return s;
  }
  std::mutex mu_;
  std::vector<std::string> urls, bodies;

 private:
  std::deque<int> script_;
};

AlertRecord SampleAlert() {
  AlertRecord a;
  a.id = 3;
  a.run = "r1";
  a.rule = "builtin/non_finite";
  a.kind = "non_finite";
  a.metric = "train/loss";
  a.series = "train/loss";
  a.severity = "critical";
  a.step = 42;
  a.value = std::numeric_limits<double>::quiet_NaN();
  a.message = "train/loss is NaN at step 42";
  return a;
}

NotifierOptions FastRetries() {
  NotifierOptions o;
  o.first_backoff_ms = 1;
  o.max_backoff_ms = 4;
  o.max_attempts = 3;
  return o;
}

TEST(WebhookBody, JsonCarriesTheAlert) {
  std::string body = RenderWebhookBody(SampleAlert(), "firing", WebhookFormat::kJson);
  EXPECT_NE(body.find(R"("event":"alert.firing")"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("step":42)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"("value":"NaN")"), std::string::npos) << body;
  EXPECT_NE(body.find("train/loss is NaN at step 42"), std::string::npos) << body;
}

TEST(WebhookBody, SlackHasOnlyText) {
  std::string body = RenderWebhookBody(SampleAlert(), "resolved", WebhookFormat::kSlack);
  EXPECT_EQ(body.rfind(R"({"text":"[critical] RESOLVED train/loss is NaN at step 42)", 0), 0u)
      << body;
}

TEST(Notifier, RetriesAfterServerErrorAndRecordsEachAttempt) {
  testing::TempDir dir;
  auto store = AlertStore::Open(dir.Join("a.sqlite"));
  ASSERT_TRUE(store.ok());
  ScriptedPoster poster({500, 0});
  Notifier n(&poster, store->get(), &SystemClock::Get(), FastRetries());
  Webhook hook{"ops", "http://127.0.0.1:1/h", WebhookFormat::kJson, analysis::Severity::kInfo};
  n.Enqueue(SampleAlert(), "firing", hook);
  ASSERT_TRUE(n.WaitIdle(std::chrono::seconds(5)));
  EXPECT_EQ(n.delivered(), 1u);
  auto d = (*store)->ListDeliveries(3, 10);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 3u);
  EXPECT_EQ((*d)[0].http_status, 500);
  EXPECT_FALSE((*d)[0].final);
  EXPECT_EQ((*d)[1].http_status, 0);
  EXPECT_NE((*d)[1].error.find("refused"), std::string::npos);
  EXPECT_TRUE((*d)[2].ok);
  EXPECT_TRUE((*d)[2].final);
  EXPECT_EQ((*d)[2].attempt, 3);
  EXPECT_EQ(poster.bodies[0], poster.bodies[2]);
}

TEST(Notifier, GivesUpAfterMaxAttempts) {
  testing::TempDir dir;
  auto store = AlertStore::Open(dir.Join("a.sqlite"));
  ASSERT_TRUE(store.ok());
  ScriptedPoster poster({503, 503, 503, 503});
  Notifier n(&poster, store->get(), &SystemClock::Get(), FastRetries());
  n.Enqueue(
      SampleAlert(), "firing",
      Webhook{"ops", "http://127.0.0.1:1/h", WebhookFormat::kJson, analysis::Severity::kInfo});
  ASSERT_TRUE(n.WaitIdle(std::chrono::seconds(5)));
  EXPECT_EQ(n.delivered(), 0u);
  EXPECT_EQ(n.given_up(), 1u);
  auto d = (*store)->ListDeliveries(3, 10);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 3u);
  EXPECT_TRUE(d->back().final);
  EXPECT_FALSE(d->back().ok);
}

TEST(Notifier, BelowMinSeverityIsNotSent) {
  ScriptedPoster poster({});
  Notifier n(&poster, nullptr, &SystemClock::Get(), FastRetries());
  AlertRecord a = SampleAlert();
  a.severity = "warning";
  n.Enqueue(a, "firing",
            Webhook{"ops", "http://x/", WebhookFormat::kJson, analysis::Severity::kCritical});
  ASSERT_TRUE(n.WaitIdle(std::chrono::seconds(1)));
  EXPECT_TRUE(poster.urls.empty());
}

}  // namespace
}  // namespace vigil::alerting
