#include "server/stream_hub.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

namespace vigil::server {
namespace {

// A StreamWriter that records what is written; `open` can be turned off to
// play a browser that went away.
class FakeWriter : public StreamWriter {
 public:
  bool Write(std::string data) override {
    if (!open) return false;
    written.push_back(std::move(data));
    return true;
  }
  void Close() override {
    open = false;
    closed = true;
  }
  bool IsOpen() const override { return open; }

  bool open = true;
  bool closed = false;
  std::vector<std::string> written;
};

WriteBatch Batch(const std::string& run, std::vector<double> values) {
  WriteBatch b;
  b.run = run;
  SeriesColumns s;
  s.key.run = run;
  s.key.metric = "train/loss";
  for (size_t i = 0; i < values.size(); ++i) {
    s.steps.push_back(static_cast<int64_t>(i) + 1);
    s.times.push_back(1000 + static_cast<int64_t>(i));
    s.values.push_back(values[i]);
  }
  b.series.push_back(std::move(s));
  return b;
}

StreamHubOptions Quiet() {
  StreamHubOptions o;
  o.ping_interval = std::chrono::hours(1);  // tests call Ping() themselves
  return o;
}

TEST(StreamHub, FormatsOneEventPerBatch) {
  std::string e = StreamHub::FormatPointsEvent(Batch("r1", {0.5, 0.25}));
  EXPECT_EQ(e,
            "event: points\ndata: {\"run\":\"r1\",\"series\":[{\"metric\":\"train/loss\","
            "\"labels\":{},\"steps\":[1,2],\"times\":[1000,1001],\"values\":[0.5,0.25]}]}\n\n");
}

TEST(StreamHub, NonFiniteValuesStayOnOneDataLine) {
  std::string e = StreamHub::FormatPointsEvent(
      Batch("r1", {std::nan(""), std::numeric_limits<double>::infinity()}));
  // Exactly the two newlines that end the event and one after the event name.
  EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 3);
  EXPECT_NE(e.find("\"NaN\""), std::string::npos);
  EXPECT_NE(e.find("\"Infinity\""), std::string::npos);
}

TEST(StreamHub, SendsOnlyToSubscribersOfThatRun) {
  StreamHub hub(Quiet());
  auto a = std::make_shared<FakeWriter>();
  auto b = std::make_shared<FakeWriter>();
  hub.Subscribe("r1", a);
  hub.Subscribe("r2", b);
  hub.OnBatchCommitted({"r1", "p", "running"}, Batch("r1", {1.0}));
  EXPECT_EQ(a->written.size(), 1u);
  EXPECT_TRUE(b->written.empty());
}

TEST(StreamHub, DropsClosedStreamOnWrite) {
  StreamHub hub(Quiet());
  auto a = std::make_shared<FakeWriter>();
  auto b = std::make_shared<FakeWriter>();
  hub.Subscribe("r1", a);
  hub.Subscribe("r1", b);
  a->open = false;
  hub.OnBatchCommitted({"r1", "p", "running"}, Batch("r1", {1.0}));
  EXPECT_EQ(hub.subscribers(), 1u);
  EXPECT_EQ(b->written.size(), 1u);
}

TEST(StreamHub, PingWritesCommentAndForgetsClosedStreams) {
  StreamHub hub(Quiet());
  auto a = std::make_shared<FakeWriter>();
  auto b = std::make_shared<FakeWriter>();
  hub.Subscribe("r1", a);
  hub.Subscribe("r2", b);
  b->open = false;
  hub.Ping();
  ASSERT_EQ(a->written.size(), 1u);
  EXPECT_EQ(a->written[0], ": ping\n\n");
  EXPECT_EQ(hub.subscribers(), 1u);
}

TEST(StreamHub, LargeBatchBecomesRefetchEvent) {
  StreamHubOptions o = Quiet();
  o.max_event_points = 2;
  StreamHub hub(o);
  auto a = std::make_shared<FakeWriter>();
  hub.Subscribe("r1", a);
  hub.OnBatchCommitted({"r1", "p", "running"}, Batch("r1", {1, 2, 3}));
  ASSERT_EQ(a->written.size(), 1u);
  EXPECT_EQ(a->written[0], "event: refetch\ndata: {\"run\":\"r1\"}\n\n");
}

TEST(StreamHub, SubscriberLimit) {
  StreamHubOptions o = Quiet();
  o.max_subscribers = 1;
  StreamHub hub(o);
  EXPECT_TRUE(hub.CanSubscribe());
  hub.Subscribe("r1", std::make_shared<FakeWriter>());
  EXPECT_FALSE(hub.CanSubscribe());
}

TEST(StreamHub, CloseAllClosesEveryStream) {
  StreamHub hub(Quiet());
  auto a = std::make_shared<FakeWriter>();
  hub.Subscribe("r1", a);
  hub.CloseAll();
  EXPECT_TRUE(a->closed);
  EXPECT_EQ(hub.subscribers(), 0u);
}

}  // namespace
}  // namespace vigil::server
