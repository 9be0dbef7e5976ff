#include "client/sdk/json_value.h"

#include <gtest/gtest.h>

#include <cmath>

namespace vigil::client {
namespace {

TEST(JsonValueTest, ObjectMembersKeepRawText) {
  auto v = ParseJson(R"( {"a": 1.5e3, "b": [1, {"c": null}], "s": "x"} )");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  ASSERT_TRUE(v->is_object());
  ASSERT_EQ(v->members.size(), 3u);
  EXPECT_EQ(v->Find("a")->raw, "1.5e3");
  EXPECT_EQ(v->GetNumber("a"), 1500.0);
  EXPECT_EQ(v->Find("b")->raw, R"([1, {"c": null}])");
  EXPECT_EQ(v->GetString("s"), "x");
  EXPECT_EQ(v->Find("missing"), nullptr);
  EXPECT_EQ(v->GetString("a"), std::nullopt);
}

TEST(JsonValueTest, EscapesAndSurrogatePairs) {
  auto v = ParseJson(R"("a\"b\\c\n\u00e9\ud83d\ude00")");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->string, "a\"b\\c\n\xc3\xa9\xf0\x9f\x98\x80");
}

TEST(JsonValueTest, LastRepeatedKeyWins) {
  auto v = ParseJson(R"({"k": 1, "k": 2})");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->GetNumber("k"), 2.0);
}

TEST(JsonValueTest, Literals) {
  auto v = ParseJson("[true,false,null,-0,0.25]");
  ASSERT_TRUE(v.ok());
  ASSERT_EQ(v->items.size(), 5u);
  EXPECT_TRUE(v->items[0].boolean);
  EXPECT_EQ(v->items[1].kind, JsonValue::Kind::kBool);
  EXPECT_EQ(v->items[2].kind, JsonValue::Kind::kNull);
  EXPECT_TRUE(std::signbit(v->items[3].number));
  EXPECT_EQ(v->items[4].number, 0.25);
}

TEST(JsonValueTest, RejectsMalformed) {
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"\\ud800\"", "tru",
                          "{} x", "\"a\nb\"", "{\"a\":1,}", "-", "1e"}) {
    auto v = ParseJson(bad);
    EXPECT_FALSE(v.ok()) << bad;
    if (!v.ok()) {
      EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << bad;
    }
  }
}

TEST(JsonValueTest, DepthLimit) {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  EXPECT_FALSE(ParseJson(deep).ok());
  std::string ok(60, '[');
  ok += std::string(60, ']');
  EXPECT_TRUE(ParseJson(ok).ok());
}

}  // namespace
}  // namespace vigil::client
