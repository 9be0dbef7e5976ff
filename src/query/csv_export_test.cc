#include "query/csv_export.h"

#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::query {
namespace {

TEST(Csv, QuotesFieldsThatNeedIt) {
  std::string out;
  AppendCsvField(&out, "plain");
  out.push_back('|');
  AppendCsvField(&out, R"(a{k="v",j="w"})");
  EXPECT_EQ(R"(plain|"a{k=""v"",j=""w""}")", out);
}

TEST(Csv, ValuesRoundTripAndNonFiniteAreNamed) {
  std::string out;
  for (double v :
       {0.1, -0.0, 1e-300, std::numeric_limits<double>::quiet_NaN(),
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    AppendCsvValue(&out, v);
    out.push_back(' ');
  }
  EXPECT_EQ("0.1 -0 1e-300 NaN Infinity -Infinity ", out);
}

TEST(Csv, ExportJoinsSeriesByStep) {
  vigil::testing::TempDir dir;
  storage::EngineOptions o;
  o.dir = dir.path();
  auto engine = std::move(*storage::Engine::Open(o));
  WriteBatch b;
  b.run = "r";
  SeriesColumns loss{{"r", "train/loss", {}}, {0, 1, 2}, {1000, 1010, 1020}, {0.5, 0.25, 0.125}};
  SeriesColumns acc{
      {"r", "val/acc", {{"split", "a,b"}}}, {1, 3}, {1005, 1035}, {0.75, std::nan("")}};
  b.series = {loss, acc};
  ASSERT_TRUE(engine->AppendSync(b).ok());
  std::string csv;
  ASSERT_TRUE(ExportRunCsv(*engine, "r", &csv).ok());
  EXPECT_EQ(
      "step,time,train/loss,\"val/acc{split=\"\"a,b\"\"}\"\n"
      "0,1000,0.5,\n"
      "1,1005,0.25,0.75\n"
      "2,1020,0.125,\n"
      "3,1035,,NaN\n",
      csv);
}

TEST(Csv, SeriesForm) {
  SeriesColumns p{{}, {0, 5}, {10, 20}, {1.5, -2}};
  std::string out;
  SeriesToCsv(p, &out);
  EXPECT_EQ("step,time,value\n0,10,1.5\n5,20,-2\n", out);
}

}  // namespace
}  // namespace vigil::query
