#include "client/sdk/point_ring.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace vigil::client {
namespace {

TEST(PointRingTest, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(PointRing(100).capacity(), 128u);
  EXPECT_EQ(PointRing(64).capacity(), 64u);
  EXPECT_EQ(PointRing(0).capacity(), 2u);
}

TEST(PointRingTest, FullRingRefusesUntilDrained) {
  PointRing ring(4);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.TryPush({1, i, 0, 0.5}));
  EXPECT_FALSE(ring.TryPush({1, 4, 0, 0.5}));
  EXPECT_EQ(ring.SizeApprox(), 4u);
  std::vector<int64_t> steps;
  EXPECT_EQ(ring.Drain([&](const BufferedPoint& p) { steps.push_back(p.step); }, 3), 3u);
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(ring.TryPush({1, 4, 0, 0.5}));
  steps.clear();
  ring.Drain([&](const BufferedPoint& p) { steps.push_back(p.step); });
  EXPECT_EQ(steps, (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(ring.SizeApprox(), 0u);
}

TEST(PointRingTest, WrapsAroundManyTimes) {
  PointRing ring(8);
  int64_t next_out = 0;
  for (int64_t i = 0; i < 1000; ++i) {
    ASSERT_TRUE(ring.TryPush({0, i, i, static_cast<double>(i)}));
    if (i % 5 == 4) {
      ring.Drain([&](const BufferedPoint& p) { EXPECT_EQ(p.step, next_out++); });
    }
  }
  ring.Drain([&](const BufferedPoint& p) { EXPECT_EQ(p.step, next_out++); });
  EXPECT_EQ(next_out, 1000);
}

// One producer, one consumer, concurrently: every point arrives once, in
// order, with its fields intact.
TEST(PointRingTest, ConcurrentProducerAndConsumer) {
  PointRing ring(64);
  constexpr int64_t kPoints = 200'000;
  std::thread producer([&] {
    for (int64_t i = 0; i < kPoints;) {
      if (ring.TryPush({7, i, i * 2, static_cast<double>(i) / 3})) ++i;
    }
  });
  int64_t next = 0;
  while (next < kPoints) {
    ring.Drain([&](const BufferedPoint& p) {
      ASSERT_EQ(p.series, 7u);
      ASSERT_EQ(p.step, next);
      ASSERT_EQ(p.time_ms, next * 2);
      ASSERT_EQ(p.value, static_cast<double>(next) / 3);
      ++next;
    });
  }
  producer.join();
  EXPECT_EQ(ring.SizeApprox(), 0u);
}

}  // namespace
}  // namespace vigil::client
