#include "analysis/detectors/detector.h"

#include <gtest/gtest.h>

#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_state_format.h"
#include "analysis/detectors/detector_test_util.h"
#include "testing/testing.h"

namespace vigil::analysis {
namespace {

using testing::Feed;
using testing::Make;

TEST(FindingKindTest, NamesRoundTrip) {
  for (int i = 0; i < kFindingKindCount; ++i) {
    auto k = static_cast<FindingKind>(i);
    std::optional<FindingKind> back = ParseFindingKind(FindingKindName(k));
    ASSERT_TRUE(back.has_value()) << FindingKindName(k);
    EXPECT_EQ(*back, k);
  }
  EXPECT_EQ(FindingKindName(FindingKind::kGradExplosion), "grad_explosion");
  EXPECT_FALSE(ParseFindingKind("Spike").has_value());
}

TEST(SeverityTest, NamesRoundTrip) {
  for (Severity s : {Severity::kInfo, Severity::kWarning, Severity::kCritical}) {
    EXPECT_EQ(ParseSeverity(SeverityName(s)), s);
  }
  EXPECT_FALSE(ParseSeverity("fatal").has_value());
}

TEST(DetectorParamsTest, ParseAndTypedGetters) {
  auto p = DetectorParams::Parse(" threshold = 3.5, warmup=10 ,direction=up, on=yes");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(*p->GetDouble("threshold", 0), 3.5);
  EXPECT_EQ(*p->GetInt("warmup", 0), 10);
  EXPECT_EQ(p->GetString("direction", ""), "up");
  EXPECT_TRUE(*p->GetBool("on", false));
  EXPECT_EQ(*p->GetDouble("missing", 7), 7);
  EXPECT_EQ(p->ToString(), "direction=up,on=yes,threshold=3.5,warmup=10");
}

TEST(DetectorParamsTest, MalformedValuesAreInvalidArgument) {
  DetectorParams p{{"a", "x1"}, {"b", "2.5"}, {"c", "maybe"}};
  EXPECT_TRUE(p.GetDouble("a", 0).status().IsInvalidArgument());
  EXPECT_TRUE(p.GetInt("b", 0).status().IsInvalidArgument());
  EXPECT_TRUE(p.GetBool("c", false).status().IsInvalidArgument());
}

TEST(DetectorParamsTest, IntegralDoubleIsAnInt) {
  DetectorParams p{{"n", "300.0"}, {"m", "1e3"}};
  EXPECT_EQ(*p.GetInt("n", 0), 300);
  EXPECT_EQ(*p.GetInt("m", 0), 1000);
}

TEST(DetectorParamsTest, ParseRejectsDuplicatesAndMissingEquals) {
  EXPECT_FALSE(DetectorParams::Parse("a=1,a=2").ok());
  EXPECT_FALSE(DetectorParams::Parse("a").ok());
  EXPECT_FALSE(DetectorParams::Parse("=1").ok());
  EXPECT_TRUE(DetectorParams::Parse("").ok());
}

TEST(DetectorParamsTest, SetReplaces) {
  DetectorParams p;
  p.Set("k", 1.5);
  p.Set("k", "2");
  EXPECT_EQ(p.items().size(), 1u);
  EXPECT_EQ(*p.GetDouble("k", 0), 2);
}

TEST(MakeDetectorTest, EveryNameBuildsWithDefaults) {
  for (std::string_view name : DetectorNames()) {
    DetectorParams p;
    if (name == "threshold") p.Set("above", "1");
    auto d = MakeDetector(name, p, "s");
    ASSERT_TRUE(d.ok()) << name << ": " << d.status().ToString();
    EXPECT_EQ((*d)->name(), name);
    EXPECT_EQ(FindingKindName((*d)->kind()), name);
    EXPECT_EQ((*d)->last_score(), 0);
    EXPECT_FALSE((*d)->active());
    EXPECT_GT((*d)->ReplayPointsHint(), 0);
  }
}

TEST(MakeDetectorTest, UnknownNameIsInvalidArgument) {
  auto d = MakeDetector("sparkle", {}, "s");
  ASSERT_FALSE(d.ok());
  EXPECT_TRUE(d.status().IsInvalidArgument());
  EXPECT_NE(d.status().message().find("spike"), std::string::npos);  // lists the known ones
}

TEST(MakeDetectorTest, StallIsNotASeriesDetector) {
  EXPECT_TRUE(MakeDetector("stall", {}, "s").status().IsInvalidArgument());
}

TEST(MakeDetectorTest, UnknownParameterNamesTheKey) {
  auto d = MakeDetector("spike", {{"treshold", "3"}}, "s");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("treshold"), std::string::npos);
}

TEST(MakeDetectorTest, SeverityOverride) {
  auto d = Make("non_finite", {{"severity", "info"}});
  auto hits = Feed(d.get(), {1, NAN});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].finding.severity, Severity::kInfo);
  EXPECT_FALSE(MakeDetector("non_finite", {{"severity", "loud"}}, "s").ok());
}

TEST(DetectorStateTest, RoundTripContinuesIdentically) {
  auto rng = vigil::testing::SeededRng();
  std::vector<double> v = testing::LossCurve(600, 0.01, rng);
  v[500] *= 4;  // a spike after the restore point
  for (std::string_view name : DetectorNames()) {
    DetectorParams p;
    if (name == "threshold") p.Set("above", "3");
    auto a = Make(std::string(name), p);
    auto b = Make(std::string(name), p);
    std::vector<double> head(v.begin(), v.begin() + 300), tail(v.begin() + 300, v.end());
    Feed(a.get(), head);
    ASSERT_TRUE(b->RestoreState(a->SaveState()).ok()) << name;
    EXPECT_EQ(a->SaveState(), b->SaveState()) << name;
    auto ha = Feed(a.get(), tail, 300);
    auto hb = Feed(b.get(), tail, 300);
    ASSERT_EQ(ha.size(), hb.size()) << name;
    for (size_t i = 0; i < ha.size(); ++i) {
      EXPECT_EQ(ha[i].index, hb[i].index) << name;
      EXPECT_EQ(ha[i].finding.message, hb[i].finding.message) << name;
    }
    EXPECT_EQ(a->last_score(), b->last_score()) << name;
  }
}

TEST(DetectorStateTest, CorruptBytesAreRejectedAndLeaveStateUnchanged) {
  auto d = Make("spike");
  Feed(d.get(), {1, 1.1, 0.9, 1, 1.05});
  std::string good = d->SaveState();
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] ^= 0x40;
    EXPECT_FALSE(d->RestoreState(bad).ok()) << "byte " << i;
  }
  EXPECT_FALSE(d->RestoreState(good.substr(0, good.size() - 1)).ok());
  EXPECT_FALSE(d->RestoreState("").ok());
  EXPECT_EQ(d->SaveState(), good);
}

TEST(DetectorStateTest, OtherDetectorsStateIsInvalidArgument) {
  auto spike = Make("spike");
  auto div = Make("divergence");
  Status s = div->RestoreState(spike->SaveState());
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

TEST(DetectorStateTest, EnvelopeLayout) {
  auto d = Make("non_finite");
  Feed(d.get(), {NAN}, 7);
  std::string s = d->SaveState();
  ASSERT_EQ(s.size(), state_format::kHeaderSize + state_format::kTrailerSize);
  EXPECT_EQ(s.substr(0, 4), "vdet");
  EXPECT_EQ(static_cast<uint8_t>(s[4]), state_format::kStateVersion);
  EXPECT_EQ(static_cast<uint8_t>(s[5]), static_cast<uint8_t>(FindingKind::kNonFinite));
  EXPECT_EQ(s[6], 1);   // has_last_step
  EXPECT_EQ(s[7], 7);   // last_step, little-endian
  EXPECT_EQ(s[23], 1);  // active
}

TEST(FormatTest, StepsHaveThousandsSeparators) {
  EXPECT_EQ(internal::FormatStep(4120), "4,120");
  EXPECT_EQ(internal::FormatStep(999), "999");
  EXPECT_EQ(internal::FormatStep(1000000), "1,000,000");
  EXPECT_EQ(internal::FormatStep(-1234), "-1,234");
  EXPECT_EQ(internal::FormatStep(INT64_MIN), "-9,223,372,036,854,775,808");
}

TEST(FormatTest, ValuesAndRatios) {
  EXPECT_EQ(internal::FormatValue(8.3), "8.3");
  EXPECT_EQ(internal::FormatValue(NAN), "NaN");
  EXPECT_EQ(internal::FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(internal::FormatRatio(14.2), "14×");
  EXPECT_EQ(internal::FormatBytes(1.5 * 1024 * 1024 * 1024), "1.5 GiB");
  EXPECT_EQ(internal::FormatSeconds(42), "42 s");
  EXPECT_EQ(internal::FormatSeconds(17 * 60), "17 min");
}

TEST(ScoreTest, HalfAtThresholdAndMonotone) {
  EXPECT_EQ(internal::ScoreFromRatio(0), 0);
  EXPECT_EQ(internal::ScoreFromRatio(1), 0.5);
  EXPECT_GT(internal::ScoreFromRatio(9), internal::ScoreFromRatio(2));
  EXPECT_LE(internal::ScoreFromRatio(1e300), 1);
  EXPECT_EQ(internal::ScoreFromRatio(NAN), 0);
  EXPECT_EQ(internal::ScoreFromRatio(INFINITY), 1);
}

TEST(RollingMedianTest, WindowSlides) {
  internal::RollingMedian m(3);
  m.Push(5);
  EXPECT_EQ(m.Median(), 5);
  m.Push(1);
  EXPECT_EQ(m.Median(), 3);
  m.Push(9);
  EXPECT_EQ(m.Median(), 5);
  m.Push(2);  // drops 5: {1, 9, 2}
  EXPECT_EQ(m.Median(), 2);
  EXPECT_EQ(m.Window(), (std::vector<double>{1, 9, 2}));
  internal::RollingMedian r(3);
  ASSERT_TRUE(r.Restore(m.Window()));
  r.Push(10);  // drops 1
  m.Push(10);
  EXPECT_EQ(r.Median(), m.Median());
  EXPECT_FALSE(r.Restore({1, 2, 3, 4}));
}

}  // namespace
}  // namespace vigil::analysis
