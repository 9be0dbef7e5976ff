#include "analysis/detect_csv.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

namespace vigil::analysis {
namespace {

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

std::string LossCsv(size_t n, size_t spike_at, bool header) {
  std::string s = header ? "step,value\n" : "";
  for (size_t i = 0; i < n; ++i) {
    double v = (1 + 3 * std::pow(1 + static_cast<double>(i) / 100, -0.5)) *
               (1 + 0.01 * std::sin(static_cast<double>(i) * 1.7));
    if (i == spike_at) v *= 4;
    s += std::to_string(i) + "," + std::to_string(v) + "\n";
  }
  return s;
}

TEST(DetectCsvTest, HeaderKeptAndColumnsAppended) {
  DetectCsvOptions o;
  o.metric = "train/loss";
  auto r = DetectCsv(LossCsv(300, 250, true), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto lines = Lines(r->csv);
  ASSERT_EQ(lines.size(), 301u);
  EXPECT_EQ(lines[0], "step,value,score,flag");
  EXPECT_EQ(r->rows, 300u);
  EXPECT_EQ(lines[251].substr(lines[251].size() - 2), ",1");  // the spike row (step 250)
  EXPECT_EQ(lines[200].substr(lines[200].size() - 2), ",0");
  ASSERT_FALSE(r->findings.empty());
  EXPECT_EQ(r->findings[0].kind, FindingKind::kSpike);
  EXPECT_EQ(r->findings[0].step, 250);
  EXPECT_EQ(r->detectors, (std::vector<std::string>{"non_finite", "spike", "divergence"}));
}

TEST(DetectCsvTest, NoHeaderStepAxis) {
  auto r = DetectCsv(LossCsv(300, 250, false), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto lines = Lines(r->csv);
  ASSERT_EQ(lines.size(), 300u);
  EXPECT_EQ(lines[250].substr(lines[250].size() - 2), ",1");
}

TEST(DetectCsvTest, ScoresAreInUnitInterval) {
  auto r = DetectCsv(LossCsv(300, 250, true), {});
  ASSERT_TRUE(r.ok());
  auto lines = Lines(r->csv);
  for (size_t i = 1; i < lines.size(); ++i) {
    auto c = lines[i].rfind(',');
    auto b = lines[i].rfind(',', c - 1);
    double score = std::stod(lines[i].substr(b + 1, c - b - 1));
    EXPECT_GE(score, 0) << lines[i];
    EXPECT_LE(score, 1) << lines[i];
  }
}

TEST(DetectCsvTest, NanRowFlagsAtThatRow) {
  DetectCsvOptions o;
  o.detector = "non_finite";
  auto r = DetectCsv("timestamp,value\n1700000000,1\n1700000001,nan\n1700000002,2\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->csv,
            "timestamp,value,score,flag\n1700000000,1,0.0000,0\n1700000001,nan,1.0000,1\n"
            "1700000002,2,0.0000,0\n");
  ASSERT_EQ(r->findings.size(), 2u);
  EXPECT_EQ(r->findings[0].time_ms, 1'700'000'001'000);
  EXPECT_EQ(r->findings[0].step, 1);  // row index on a time axis
}

TEST(DetectCsvTest, IsoTimestampsAndCrLf) {
  DetectCsvOptions o;
  o.detector = "threshold";
  o.params = DetectorParams{{"above", "5"}};
  auto r = DetectCsv("time,value\r\n2024-05-01T12:00:00Z,1\r\n2024-05-01T12:00:01.5Z,9\r\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->csv,
            "time,value,score,flag\r\n2024-05-01T12:00:00Z,1,0.0000,0\r\n"
            "2024-05-01T12:00:01.5Z,9,1.0000,1\r\n");
  ASSERT_FALSE(r->findings.empty());
  EXPECT_EQ(r->findings[0].time_ms, 1714564801500);
}

TEST(DetectCsvTest, ValueColumnByName) {
  DetectCsvOptions o;
  o.detector = "threshold";
  o.params = DetectorParams{{"above", "5"}};
  auto r = DetectCsv("value,step\n9,1\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->csv, "value,step,score,flag\n9,1,1.0000,1\n");
}

TEST(DetectCsvTest, MalformedRowsNameTheLine) {
  auto r = DetectCsv("step,value\n1,2\n2,abc\n", {});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos);
  auto s = DetectCsv("step,value\n1.5,2\n", {});
  EXPECT_FALSE(s.ok());
  auto t = DetectCsv("step,value\n1\n", {});
  EXPECT_FALSE(t.ok());
}

TEST(DetectCsvTest, UnknownDetectorIsInvalidArgument) {
  DetectCsvOptions o;
  o.detector = "bogus";
  EXPECT_TRUE(DetectCsv("1,2\n", o).status().IsInvalidArgument());
}

TEST(DetectCsvTest, EmptyInputAndBlankLines) {
  auto r = DetectCsv("", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->csv, "");
  auto b = DetectCsv("step,value\n\n1,2", {});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->csv, "step,value,score,flag\n\n1,2,0.0000,0");
}

}  // namespace
}  // namespace vigil::analysis
