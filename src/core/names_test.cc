#include "core/names.h"

#include <string>

#include <gtest/gtest.h>

namespace vigil {
namespace {

TEST(Names, MetricNamesAccepted) {
  for (const char* n : {"train/loss", "val/acc@1", "sys/gpu.util", "_x", "a:b-c", "time/data"}) {
    EXPECT_TRUE(ValidateMetricName(n).ok()) << n;
  }
}

TEST(Names, MetricNamesRejectedWithReason) {
  EXPECT_FALSE(ValidateMetricName("").ok());
  EXPECT_FALSE(ValidateMetricName("1loss").ok());
  EXPECT_FALSE(ValidateMetricName("train loss").ok());
  EXPECT_FALSE(ValidateMetricName("train/").ok());
  EXPECT_FALSE(ValidateMetricName(std::string(257, 'a')).ok());
  EXPECT_TRUE(ValidateMetricName(std::string(256, 'a')).ok());
  Status s = ValidateMetricName("tr\"ain");
  EXPECT_NE(s.message().find("byte 2"), std::string::npos) << s.message();
}

TEST(Names, LabelNames) {
  EXPECT_TRUE(ValidateLabelName("rank").ok());
  EXPECT_TRUE(ValidateLabelName("_x9").ok());
  EXPECT_FALSE(ValidateLabelName("__reserved").ok());
  EXPECT_FALSE(ValidateLabelName("9a").ok());
  EXPECT_FALSE(ValidateLabelName("a-b").ok());
}

TEST(Names, LabelValuesMustBeUtf8WithoutControls) {
  EXPECT_TRUE(ValidateLabelValue("node-01 \xc3\xa9").ok());
  EXPECT_FALSE(ValidateLabelValue("").ok());
  EXPECT_FALSE(ValidateLabelValue("a\nb").ok());
  EXPECT_FALSE(ValidateLabelValue("\xc3").ok());          // truncated sequence
  EXPECT_FALSE(ValidateLabelValue("\xc0\xaf").ok());      // overlong '/'
  EXPECT_FALSE(ValidateLabelValue("\xed\xa0\x80").ok());  // surrogate
  EXPECT_FALSE(ValidateLabelValue(std::string(1025, 'v')).ok());
}

TEST(Names, RunIdsAndProjects) {
  EXPECT_TRUE(ValidateRunId("a1b2c3d4").ok());
  EXPECT_TRUE(ValidateRunId("my_run-2").ok());
  EXPECT_FALSE(ValidateRunId("-x").ok());
  EXPECT_FALSE(ValidateRunId("a/b").ok());
  EXPECT_FALSE(ValidateRunId(std::string(65, 'a')).ok());
  EXPECT_TRUE(ValidateProjectName("digits.v2").ok());
  EXPECT_FALSE(ValidateProjectName(".hidden").ok());
}

TEST(Names, QuoteForMessageShortensAndEscapes) {
  EXPECT_EQ("\"a\\\"b\\x0a\"", QuoteForMessage("a\"b\n"));
  std::string q = QuoteForMessage(std::string(100, 'x'));
  EXPECT_EQ(64u + 2 + 3, q.size());
}

}  // namespace
}  // namespace vigil
