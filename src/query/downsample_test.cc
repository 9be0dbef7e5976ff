#include "query/downsample.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <set>

#include <gtest/gtest.h>

#include "query/series_query.h"
#include "testing/testing.h"

namespace vigil::query {
namespace {

using storage::Axis;
using storage::Engine;
using storage::EngineOptions;
using storage::ReadRange;

class DownsampleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.dir = dir_.path();
    o.head_chunk_points = 64;
    o.block_chunk_points = 128;
    engine_ = std::move(*Engine::Open(o));
  }
  uint64_t Append(const SeriesColumns& c) {
    WriteBatch b;
    b.run = c.key.run;
    b.series = {c};
    EXPECT_TRUE(engine_->AppendSync(b).ok());
    return engine_->FindSeries(c.key)->id;
  }
  vigil::testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
};

SeriesColumns Noisy(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0, 0.05);
  SeriesColumns c;
  c.key = {"r", "loss", {}};
  for (size_t i = 0; i < n; ++i) {
    c.steps.push_back(static_cast<int64_t>(i));
    c.times.push_back(1'700'000'000'000 + static_cast<int64_t>(i) * 250);
    c.values.push_back(std::exp(-static_cast<double>(i) / 3000.0) + noise(rng));
  }
  return c;
}

// Every property that makes the answer honest: capped, sorted, made of
// stored points only, and no extreme lost: each stored point is matched by
// an answered point at least as high (and one at least as low) within two
// bucket widths.
void CheckHonest(const SeriesColumns& source, const SeriesColumns& got, size_t max_points,
                 Axis axis) {
  ASSERT_LE(got.size(), max_points);
  ASSERT_GT(got.size(), 0u);
  const auto& xs = axis == Axis::kStep ? got.steps : got.times;
  EXPECT_TRUE(std::is_sorted(xs.begin(), xs.end()));
  std::set<std::tuple<int64_t, int64_t, uint64_t>> stored;
  for (size_t i = 0; i < source.size(); ++i) {
    stored.insert({source.steps[i], source.times[i], std::bit_cast<uint64_t>(source.values[i])});
  }
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_TRUE(stored.count({got.steps[i], got.times[i], std::bit_cast<uint64_t>(got.values[i])}))
        << "point " << i << " was never stored";
  }
  const auto& sx = axis == Axis::kStep ? source.steps : source.times;
  int64_t lo = *std::min_element(sx.begin(), sx.end()),
          hi = *std::max_element(sx.begin(), sx.end());
  double width = static_cast<double>(hi - lo + 1) / static_cast<double>(max_points / 5);
  for (size_t i = 0; i < source.size(); i += 7) {
    if (std::isnan(source.values[i])) continue;
    bool high = false, low = false;
    for (size_t k = 0; k < got.size(); ++k) {
      if (std::abs(static_cast<double>(xs[k] - sx[i])) > 2 * width) continue;
      high = high || got.values[k] >= source.values[i];
      low = low || got.values[k] <= source.values[i];
    }
    ASSERT_TRUE(high && low) << "the extreme at source point " << i << " vanished";
  }
}

TEST_F(DownsampleTest, KeepsEveryExtremeFromSummaries) {
  SeriesColumns c = Noisy(100'000, 1);
  c.values[31'337] = 50;   // a spike
  c.values[77'777] = -50;  // a dip
  uint64_t id = Append(c);
  ASSERT_TRUE(engine_->CompactAll().ok());
  SeriesReadResult r;
  ASSERT_TRUE(ReadSeriesPoints(*engine_, id, ReadRange{}, 2000, &r).ok());
  EXPECT_TRUE(r.downsampled);
  EXPECT_EQ(100'000u, r.stats.source_points);
  // Nearly every chunk is answered from its summary.
  EXPECT_LT(r.stats.chunks_decoded, r.stats.chunks / 10);
  CheckHonest(c, r.points, 2000, Axis::kStep);
  EXPECT_NE(r.points.values.end(), std::find(r.points.values.begin(), r.points.values.end(), 50.0));
  EXPECT_NE(r.points.values.end(),
            std::find(r.points.values.begin(), r.points.values.end(), -50.0));
}

TEST_F(DownsampleTest, ZoomedRangesDecodeAndStayInRange) {
  SeriesColumns c = Noisy(20'000, 2);
  uint64_t id = Append(c);
  SeriesReadResult r;
  ASSERT_TRUE(ReadSeriesPoints(*engine_, id, ReadRange{Axis::kStep, 5'000, 9'999}, 400, &r).ok());
  EXPECT_TRUE(r.downsampled);
  for (int64_t s : r.points.steps) {
    ASSERT_GE(s, 5'000);
    ASSERT_LE(s, 9'999);
  }
  SeriesColumns sub;
  sub.steps.assign(c.steps.begin() + 5000, c.steps.begin() + 10000);
  sub.times.assign(c.times.begin() + 5000, c.times.begin() + 10000);
  sub.values.assign(c.values.begin() + 5000, c.values.begin() + 10000);
  CheckHonest(sub, r.points, 400, Axis::kStep);
}

TEST_F(DownsampleTest, ByTimeAxis) {
  SeriesColumns c = Noisy(10'000, 3);
  uint64_t id = Append(c);
  SeriesReadResult r;
  ASSERT_TRUE(ReadSeriesPoints(*engine_, id, ReadRange{Axis::kTime}, 100, &r).ok());
  CheckHonest(c, r.points, 100, Axis::kTime);
}

TEST_F(DownsampleTest, NaNSurvivesAndTheCapHolds) {
  SeriesColumns c = Noisy(10'000, 4);
  c.values[4242] = std::numeric_limits<double>::quiet_NaN();
  uint64_t id = Append(c);
  SeriesReadResult r;
  ASSERT_TRUE(ReadSeriesPoints(*engine_, id, ReadRange{}, 200, &r).ok());
  EXPECT_LE(r.points.size(), 200u);
  EXPECT_TRUE(std::any_of(r.points.values.begin(), r.points.values.end(),
                          [](double v) { return std::isnan(v); }));
  CheckHonest(c, r.points, 200, Axis::kStep);
}

TEST_F(DownsampleTest, OutOfOrderStepsAreHandled) {
  SeriesColumns c = Noisy(5'000, 5);
  std::mt19937_64 rng(9);
  std::shuffle(c.steps.begin(), c.steps.end(), rng);
  uint64_t id = Append(c);
  SeriesReadResult r;
  ASSERT_TRUE(ReadSeriesPoints(*engine_, id, ReadRange{}, 100, &r).ok());
  CheckHonest(c, r.points, 100, Axis::kStep);
}

TEST_F(DownsampleTest, SmallSeriesComeBackWhole) {
  SeriesColumns c = Noisy(1'000, 6);
  uint64_t id = Append(c);
  SeriesReadResult r;
  ASSERT_TRUE(ReadSeriesPoints(*engine_, id, ReadRange{}, 2000, &r).ok());
  EXPECT_FALSE(r.downsampled);
  ASSERT_EQ(c.size(), r.points.size());
  for (size_t i = 0; i < c.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint64_t>(c.values[i]), std::bit_cast<uint64_t>(r.points.values[i]));
  }
}

}  // namespace
}  // namespace vigil::query
