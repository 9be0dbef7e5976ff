#include "collect/log_body.h"

#include <gtest/gtest.h>

#include <limits>

#include "core/names.h"

namespace vigil::collect {
namespace {

TEST(LogBody, OnePointPerSeriesStepIsTime) {
  SampleSet s;
  s.time_ms = 1732800000123;
  s.Add("sys/gpu/utilization", {{"gpu", "0"}, {"uuid", "GPU-a"}}, 87);
  s.Add("sys/load/1", {}, 0.5);
  EXPECT_EQ(EncodeLogBody(s),
            R"({"series":[{"metric":"sys/gpu/utilization","labels":{"gpu":"0","uuid":"GPU-a"},)"
            R"("steps":[1732800000123],"times":[1732800000123],"values":[87]},)"
            R"({"metric":"sys/load/1","labels":{},"steps":[1732800000123],)"
            R"("times":[1732800000123],"values":[0.5]}]})");
}

TEST(LogBody, NonFiniteValueAsString) {
  SampleSet s;
  s.time_ms = 1;
  s.Add("sys/x", {}, std::numeric_limits<double>::quiet_NaN());
  EXPECT_NE(EncodeLogBody(s).find(R"("values":["NaN"])"), std::string::npos);
}

TEST(LogBody, EmptySet) {
  EXPECT_EQ(EncodeLogBody(SampleSet{}), R"({"series":[]})");
}

TEST(NodeRunId, HostNameWithDots) {
  EXPECT_EQ(NodeRunId("gpu-07.cluster.local"), "node-gpu-07-cluster-local");
  EXPECT_TRUE(ValidateRunId(NodeRunId("gpu-07.cluster.local")).ok());
}

TEST(NodeRunId, LongAndEmptyNames) {
  std::string id = NodeRunId(std::string(200, 'a'));
  EXPECT_EQ(id.size(), kMaxRunIdBytes);
  EXPECT_TRUE(ValidateRunId(id).ok());
  EXPECT_EQ(NodeRunId(""), "node-unknown");
}

}  // namespace
}  // namespace vigil::collect
