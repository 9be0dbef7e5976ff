#include "storage/metadata/json_string_array.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace vigil::storage {
namespace {

using Strings = std::vector<std::string>;

Strings DecodeOk(std::string_view json) {
  auto r = DecodeJsonStringArray(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().ToString();
  return r.ok() ? *r : Strings{};
}

void ExpectBad(std::string_view json, std::string_view what) {
  auto r = DecodeJsonStringArray(json);
  ASSERT_FALSE(r.ok()) << json;
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(std::string::npos, r.status().message().find(what)) << r.status().message();
}

TEST(JsonStringArray, EmptyArray) {
  EXPECT_EQ("[]", EncodeJsonStringArray({}));
  EXPECT_TRUE(DecodeOk("[]").empty());
  EXPECT_TRUE(DecodeOk(" [ ] ").empty());
}

TEST(JsonStringArray, RoundTripsAwkwardStrings) {
  Strings in = {"",     "plain", "q\"uote", "back\\slash", "\n\r\t\b\f", std::string("\x01\x1f", 2),
                "ü学🚀", "/",     "\x7f"};
  std::string json = EncodeJsonStringArray(in);
  EXPECT_EQ(in, DecodeOk(json));
}

TEST(JsonStringArray, EncodesCompactly) {
  EXPECT_EQ(R"(["a","b\"c"])", EncodeJsonStringArray({"a", "b\"c"}));
}

TEST(JsonStringArray, DecodesEveryEscapeAndWhitespace) {
  EXPECT_EQ((Strings{"\"\\/\b\f\n\r\t", "x"}),
            DecodeOk("\n[ \"\\\"\\\\\\/\\b\\f\\n\\r\\t\" ,\t\"x\" ]\r\n"));
}

TEST(JsonStringArray, DecodesUnicodeEscapes) {
  EXPECT_EQ((Strings{"A", "\xc3\xbc", "\xe5\xad\xa6"}),
            DecodeOk(R"(["\u0041","\u00FC","\u5b66"])"));
  // U+1F680 as a surrogate pair.
  EXPECT_EQ((Strings{"\xf0\x9f\x9a\x80"}), DecodeOk(R"(["\ud83d\ude80"])"));
}

TEST(JsonStringArray, RejectsLoneSurrogates) {
  ExpectBad(R"(["\ud83d"])", "surrogate");
  ExpectBad(R"(["\ud83dx"])", "surrogate");
  ExpectBad(R"(["\ude80"])", "lone low surrogate");
  ExpectBad(R"(["\ud83d\u0041"])", "surrogate");
}

TEST(JsonStringArray, RejectsBadEscapes) {
  ExpectBad(R"(["\x"])", "unknown escape");
  ExpectBad(R"(["\u12g4"])", "bad hex digit");
  ExpectBad(R"(["\u12)", "truncated");
  ExpectBad("[\"\\", "unterminated escape");
}

TEST(JsonStringArray, RejectsWrongShapes) {
  ExpectBad("", "expected '['");
  ExpectBad("{}", "expected '['");
  ExpectBad("[1]", "expected a string");
  ExpectBad(R"(["a" "b"])", "expected ',' or ']'");
  ExpectBad(R"(["a",])", "expected a string");
  ExpectBad(R"(["a"] x)", "after the array");
  ExpectBad(R"(["a)", "unterminated string");
  ExpectBad("[\"a\nb\"]", "control character");
}

TEST(JsonStringArray, ErrorNamesTheOffset) {
  auto r = DecodeJsonStringArray(R"(["a",1])");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(std::string::npos, r.status().message().find("offset 5")) << r.status().message();
}

}  // namespace
}  // namespace vigil::storage
