#include "client/sdk/columnarizer.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <string>

#include "client/sdk/json_value.h"

namespace vigil::client {
namespace {

double ValueOf(const JsonValue& v) {
  if (v.kind == JsonValue::Kind::kString) {
    if (v.string == "NaN") return std::numeric_limits<double>::quiet_NaN();
    return v.string == "Infinity" ? INFINITY : -INFINITY;
  }
  return v.number;
}

TEST(ColumnarizerTest, GroupsPointsPerSeriesInOrder) {
  SeriesTable t;
  uint32_t a = *t.Intern("a", nullptr, 0);
  SeriesTable::LabelView l[] = {{"rank", "1"}};
  uint32_t b = *t.Intern("b", l, 1);
  Columnarizer c;
  c.Add({b, 0, 100, 1.0});
  c.Add({a, 5, 101, 2.0});
  c.Add({b, 1, 102, 3.0});
  EXPECT_EQ(c.points(), 3u);
  std::vector<EncodedBatch> out;
  c.Encode(t, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].points, 3u);
  EXPECT_EQ(
      out[0].body,
      R"({"series":[{"metric":"b","labels":{"rank":"1"},"steps":[0,1],"times":[100,102],)"
      R"("values":[1,3]},{"metric":"a","labels":{},"steps":[5],"times":[101],"values":[2]}]})");
  EXPECT_EQ(c.points(), 0u);
  out.clear();
  c.Encode(t, &out);
  EXPECT_TRUE(out.empty());
}

TEST(ColumnarizerTest, NonFiniteAndBitExactValues) {
  SeriesTable t;
  uint32_t a = *t.Intern("a", nullptr, 0);
  const double values[] = {
      std::numeric_limits<double>::quiet_NaN(), INFINITY, -INFINITY, -0.0, 0.1, 1e-310,
      std::numeric_limits<double>::max()};
  Columnarizer c;
  for (int i = 0; i < 7; ++i) c.Add({a, i, 0, values[i]});
  std::vector<EncodedBatch> out;
  c.Encode(t, &out);
  ASSERT_EQ(out.size(), 1u);
  auto doc = ParseJson(out[0].body);
  ASSERT_TRUE(doc.ok()) << out[0].body;
  const JsonValue& vals = *doc->Find("series")->items[0].Find("values");
  ASSERT_EQ(vals.items.size(), 7u);
  EXPECT_TRUE(std::isnan(ValueOf(vals.items[0])));
  for (int i = 1; i < 7; ++i) {
    EXPECT_EQ(std::bit_cast<uint64_t>(ValueOf(vals.items[i])), std::bit_cast<uint64_t>(values[i]))
        << i;
  }
}

TEST(ColumnarizerTest, SplitsAtMaxPoints) {
  SeriesTable t;
  uint32_t a = *t.Intern("a", nullptr, 0);
  uint32_t b = *t.Intern("b", nullptr, 0);
  Columnarizer c(/*max_points=*/4, /*max_series=*/100);
  for (int i = 0; i < 7; ++i) c.Add({a, i, i, 1.0});
  for (int i = 0; i < 2; ++i) c.Add({b, i, i, 2.0});
  EXPECT_TRUE(c.full());
  std::vector<EncodedBatch> out;
  c.Encode(t, &out);
  ASSERT_EQ(out.size(), 3u);
  size_t total = 0;
  std::vector<int64_t> a_steps;
  for (const auto& batch : out) {
    EXPECT_LE(batch.points, 4u);
    total += batch.points;
    auto doc = ParseJson(batch.body);
    ASSERT_TRUE(doc.ok());
    size_t in_body = 0;
    for (const auto& s : doc->Find("series")->items) {
      in_body += s.Find("steps")->items.size();
      if (s.GetString("metric") == "a") {
        for (const auto& st : s.Find("steps")->items)
          a_steps.push_back(static_cast<int64_t>(st.number));
      }
    }
    EXPECT_EQ(in_body, batch.points);
  }
  EXPECT_EQ(total, 9u);
  EXPECT_EQ(a_steps, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
}

TEST(ColumnarizerTest, SplitsAtMaxSeries) {
  SeriesTable t;
  Columnarizer c(/*max_points=*/1000, /*max_series=*/2);
  for (int i = 0; i < 5; ++i) {
    uint32_t id = *t.Intern("m" + std::to_string(i), nullptr, 0);
    c.Add({id, 0, 0, 1.0});
  }
  std::vector<EncodedBatch> out;
  c.Encode(t, &out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].points, 2u);
  EXPECT_EQ(out[2].points, 1u);
}

}  // namespace
}  // namespace vigil::client
