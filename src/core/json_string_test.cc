#include "core/json_string.h"

#include <gtest/gtest.h>

namespace vigil {
namespace {

// Decodes `literal` (which starts after its opening quote).
Status Decode(std::string_view literal, std::string* out, size_t* pos) {
  *pos = 0;
  return DecodeJsonStringBody(literal, pos, out);
}

TEST(JsonStringBody, PlainAndEscapes) {
  std::string out;
  size_t pos;
  ASSERT_TRUE(Decode(R"(a\"b\\c\/d\b\f\n\r\t" tail)", &out, &pos).ok());
  EXPECT_EQ("a\"b\\c/d\b\f\n\r\t", out);
  EXPECT_EQ(' ', R"(a\"b\\c\/d\b\f\n\r\t" tail)"[pos]);
}

TEST(JsonStringBody, UnicodeEscapesBecomeUtf8) {
  std::string out;
  size_t pos;
  ASSERT_TRUE(Decode(R"(\u0041\u00e9\u20AC\ud83d\ude80")", &out, &pos).ok());
  EXPECT_EQ("A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x9A\x80", out);
}

TEST(JsonStringBody, ErrorsNameTheProblem) {
  struct Case {
    std::string_view in, reason;
  } cases[] = {
      {"abc", "unterminated string"},
      {"a\nb\"", "control character"},
      {"\\", "unterminated escape"},
      {"\\x\"", "unknown escape"},
      {"\\u12g4\"", "bad hex digit"},
      {"\\u12", "truncated"},
      {"\\ude80\"", "lone low surrogate"},
      {"\\ud83d\"", "high surrogate without its pair"},
      {"\\ud83d\\u0041\"", "high surrogate without its pair"},
  };
  for (const Case& c : cases) {
    std::string out;
    size_t pos;
    Status s = Decode(c.in, &out, &pos);
    ASSERT_FALSE(s.ok()) << c.in;
    EXPECT_NE(std::string::npos, s.message().find(c.reason)) << c.in << ": " << s.message();
  }
}

TEST(JsonStringBody, ControlCharacterLeavesPositionAtIt) {
  std::string out;
  size_t pos;
  ASSERT_FALSE(Decode("ab\x01", &out, &pos).ok());
  EXPECT_EQ(2u, pos);
}

}  // namespace
}  // namespace vigil
