#include "ingest/decode_errors.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::ingest::internal {
namespace {

TEST(JsonPath, Renders) {
  EXPECT_EQ(JsonPath::Body().ToString(), "body");
  EXPECT_EQ(JsonPath::Top("rows").ToString(), "rows");
  const JsonPath row = JsonPath::Element("rows", 3);
  EXPECT_EQ(row.ToString(), "rows[3]");
  EXPECT_EQ(row.Field("step").ToString(), "rows[3].step");
  EXPECT_EQ(row.Field("values").Key("train/loss").ToString(), "rows[3].values[\"train/loss\"]");
  EXPECT_EQ(JsonPath::Element("series", 0).Field("steps").Item(7).ToString(), "series[0].steps[7]");
}

TEST(JsonPath, KeyIsQuotedAndEscaped) {
  const JsonPath p = JsonPath::Element("rows", 0).Field("values").Key("a\"b\\c\n");
  EXPECT_EQ(p.ToString(), "rows[0].values[\"a\\\"b\\\\c\\x0a\"]");
  EXPECT_EQ(JsonPath::Element("rows", 0).Field("values").Key("").ToString(),
            "rows[0].values[\"\"]");
}

TEST(JsonPath, LongKeyIsShortened) {
  const std::string key(100, 'k');
  EXPECT_EQ(JsonPath::Element("rows", 1).Field("values").Key(key).ToString(),
            "rows[1].values[\"" + std::string(64, 'k') + "...\"]");
}

TEST(IsJsonNumber, AcceptsTheGrammar) {
  for (const char* t : {"0", "-0", "1", "-12", "1.5", "0.25", "1e3", "1E+3", "-1.5e-300",
                        "123456789012345678901234567890"}) {
    EXPECT_TRUE(IsJsonNumber(t)) << t;
  }
}

TEST(IsJsonNumber, RejectsTheRest) {
  for (const char* t : {"", "-", "+1", "01", "-01", "1.", ".5", "1e", "1e+", "1.5.5", "0x10", "NaN",
                        "Infinity", "1 ", "1,"}) {
    EXPECT_FALSE(IsJsonNumber(t)) << t;
  }
}

TEST(Excerpt, TrimsAndShortens) {
  EXPECT_EQ(Excerpt("1.5  \n"), "1.5");
  EXPECT_EQ(Excerpt(std::string(70, '9')), std::string(64, '9') + "...");
  EXPECT_EQ(Excerpt(std::string("a\x01") + "b"), "a\\x01b");
}

TEST(LocateStageOneError, FirstInvalidUtf8Sequence) {
  EXPECT_EQ(LocateStageOneError(simdjson::UTF8_ERROR, "ab\xc3\xa9\xff"), 4u);
  EXPECT_EQ(LocateStageOneError(simdjson::UTF8_ERROR, "\xe2\x82"), 0u);       // truncated
  EXPECT_EQ(LocateStageOneError(simdjson::UTF8_ERROR, "x\xed\xa0\x80"), 1u);  // surrogate
  EXPECT_EQ(LocateStageOneError(simdjson::UTF8_ERROR, "valid"), std::nullopt);
}

TEST(LocateStageOneError, ControlCharacterInString) {
  EXPECT_EQ(LocateStageOneError(simdjson::UNESCAPED_CHARS, "{\"a\\\"\x01\": 1}"), 5u);
  // Outside strings a control character is whitespace or a structural error.
  EXPECT_EQ(LocateStageOneError(simdjson::UNESCAPED_CHARS, "{\x01}"), std::nullopt);
}

TEST(LocateStageOneError, UnclosedString) {
  EXPECT_EQ(LocateStageOneError(simdjson::UNCLOSED_STRING, "{\"a\": \"b\\\"}"), 6u);
}

TEST(LocateStageOneError, OtherErrorsHaveNoOffset) {
  EXPECT_EQ(LocateStageOneError(simdjson::TAPE_ERROR, "{"), std::nullopt);
}

TEST(MalformedJson, Message) {
  EXPECT_EQ(MalformedJson(simdjson::TAPE_ERROR, 12).message(),
            std::string("body is not valid JSON: ") +
                simdjson::error_message(simdjson::TAPE_ERROR) + " near byte 12");
  EXPECT_EQ(MalformedJson(simdjson::UTF8_ERROR, std::nullopt).message(),
            "body is not valid JSON: The input is not valid UTF-8");
}

}  // namespace
}  // namespace vigil::ingest::internal
