#include "client/sdk/series_table.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::client {
namespace {

using LV = SeriesTable::LabelView;

TEST(SeriesTableTest, SameSeriesSameIdWhateverTheLabelOrder) {
  SeriesTable t;
  LV ab[] = {{"a", "1"}, {"b", "2"}};
  LV ba[] = {{"b", "2"}, {"a", "1"}};
  auto x = t.Intern("m", ab, 2);
  auto y = t.Intern("m", ba, 2);
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_EQ(*x, *y);
  auto z = t.Intern("m", nullptr, 0);
  ASSERT_TRUE(z.ok());
  EXPECT_NE(*x, *z);
  EXPECT_EQ(t.size(), 2u);
  EXPECT_EQ(t.Get(*x)->json_prefix, R"("metric":"m","labels":{"a":"1","b":"2"})");
  EXPECT_EQ(t.Get(*z)->json_prefix, R"("metric":"m","labels":{})");
}

// A distributed rank's table adds its rank and node to every series.
TEST(SeriesTableTest, RunLabelsJoinEverySeries) {
  SeriesTable t({{"rank", "3"}, {"node", "gpu-07"}});
  auto plain = t.Intern("train/loss", nullptr, 0);
  LV split[] = {{"split", "val"}};
  auto labelled = t.Intern("train/loss", split, 1);
  ASSERT_TRUE(plain.ok() && labelled.ok());
  EXPECT_NE(*plain, *labelled);
  EXPECT_EQ(t.Get(*plain)->json_prefix,
            R"("metric":"train/loss","labels":{"node":"gpu-07","rank":"3"})");
  EXPECT_EQ(t.Get(*labelled)->json_prefix,
            R"("metric":"train/loss","labels":{"node":"gpu-07","rank":"3","split":"val"})");
  EXPECT_EQ(t.Get(*labelled)->labels.size(), 3u);
}

TEST(SeriesTableTest, RunLabelsInternedOncePerSeries) {
  SeriesTable t({{"rank", "0"}, {"node", "n"}});
  auto a = t.Intern("m", nullptr, 0);
  auto b = t.Intern("m", nullptr, 0);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(t.size(), 1u);
}

// A label the caller gives wins over the run's label of the same name (as
// in the Python SDK), and is not an error.
TEST(SeriesTableTest, CallerLabelOverridesRunLabel) {
  SeriesTable t({{"rank", "3"}, {"node", "n1"}});
  LV node[] = {{"node", "n2"}};
  auto id = t.Intern("m", node, 1);
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  EXPECT_EQ(t.Get(*id)->json_prefix, R"("metric":"m","labels":{"node":"n2","rank":"3"})");
}

TEST(SeriesTableTest, RunLabelsDoNotHideBadCallerLabels) {
  SeriesTable t(SeriesTable::LabelPairs{{"rank", "3"}});
  LV dup[] = {{"rank", "1"}, {"rank", "2"}};
  EXPECT_FALSE(t.Intern("m", dup, 2).ok());
  LV reserved[] = {{"run", "x"}};
  EXPECT_FALSE(t.Intern("m", reserved, 1).ok());
  EXPECT_EQ(t.size(), 0u);
}

TEST(SeriesTableTest, RejectsBadNames) {
  SeriesTable t;
  EXPECT_FALSE(t.Intern("", nullptr, 0).ok());
  EXPECT_FALSE(t.Intern("1bad", nullptr, 0).ok());
  EXPECT_FALSE(t.Intern("train/", nullptr, 0).ok());
  LV dup[] = {{"a", "1"}, {"a", "2"}};
  EXPECT_FALSE(t.Intern("m", dup, 2).ok());
  LV reserved[] = {{"run", "x"}};
  EXPECT_FALSE(t.Intern("m", reserved, 1).ok());
  LV bad_name[] = {{"__x", "1"}};
  EXPECT_FALSE(t.Intern("m", bad_name, 1).ok());
  EXPECT_EQ(t.size(), 0u);
}

TEST(SeriesTableTest, EscapesJsonInPrefix) {
  SeriesTable t;
  LV l[] = {{"k", "a\"b"}};
  auto id = t.Intern("m", l, 1);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(t.Get(*id)->json_prefix, R"("metric":"m","labels":{"k":"a\"b"})");
}

TEST(SeriesTableTest, FirstTimeErrorOncePerMessage) {
  SeriesTable t;
  EXPECT_TRUE(t.FirstTimeError("x"));
  EXPECT_FALSE(t.FirstTimeError("x"));
  EXPECT_TRUE(t.FirstTimeError("y"));
}

TEST(NameCacheTest, FindsWhatWasInsertedAcrossGrowth) {
  NameCache c;
  for (uint32_t i = 0; i < 1000; ++i) {
    std::string k = "metric/" + std::to_string(i);
    c.Insert(k, NameCache::Hash(k), i);
  }
  EXPECT_EQ(c.size(), 1000u);
  for (uint32_t i = 0; i < 1000; ++i) {
    std::string k = "metric/" + std::to_string(i);
    const uint32_t* id = c.Find(k, NameCache::Hash(k));
    ASSERT_NE(id, nullptr) << k;
    EXPECT_EQ(*id, i);
  }
  EXPECT_EQ(c.Find("metric/1000", NameCache::Hash("metric/1000")), nullptr);
}

TEST(NameCacheTest, KeysWithNulBytesAreDistinct) {
  NameCache c;
  std::string a(
      "m\0a\0"
      "1",
      5),
      b("m\0a\0"
        "2",
        5);
  c.Insert(a, NameCache::Hash(a), 1);
  c.Insert(b, NameCache::Hash(b), 2);
  EXPECT_EQ(*c.Find(a, NameCache::Hash(a)), 1u);
  EXPECT_EQ(*c.Find(b, NameCache::Hash(b)), 2u);
}

}  // namespace
}  // namespace vigil::client
