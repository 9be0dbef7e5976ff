#include "ingest/batch_decoder.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "testing/testing.h"

namespace vigil::ingest {
namespace {

constexpr int64_t kNow = 1'732'800'000'000;
constexpr std::string_view kRun = "run-1";

Result<WriteBatch> Decode(std::string body, const IngestLimits& limits = {}) {
  return DecodeLogBatch(&body, kRun, limits, kNow);
}

// The error of decoding `body`, or a failure if it decodes.
::testing::AssertionResult Rejects(const std::string& body, StatusCode code,
                                   std::string_view prefix, const IngestLimits& limits = {}) {
  Result<WriteBatch> r = Decode(body, limits);
  if (r.ok()) return ::testing::AssertionFailure() << "accepted: " << body;
  if (r.status().code() != code) {
    return ::testing::AssertionFailure() << "code " << StatusCodeName(r.status().code())
                                         << " for: " << body << "\n  " << r.status().message();
  }
  if (!r.status().message().starts_with(prefix)) {
    return ::testing::AssertionFailure()
           << "message: " << r.status().message() << "\n   wanted prefix: " << prefix;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Invalid(const std::string& body, std::string_view prefix) {
  return Rejects(body, StatusCode::kInvalidArgument, prefix);
}

std::string Row(std::string_view inner) {
  return fmt::format("{{\"rows\": [{}]}}", inner);
}
std::string OneRow(std::string_view fields) {
  return Row(fmt::format("{{{}}}", fields));
}
std::string OneSeries(std::string_view fields) {
  return fmt::format("{{\"series\": [{{{}}}]}}", fields);
}

bool SameBits(double a, double b) {
  return std::bit_cast<uint64_t>(a) == std::bit_cast<uint64_t>(b);
}

// ---- accepted forms ----

TEST(BatchDecoder, RowsSingleRow) {
  auto r = Decode(R"({"rows": [{"step": 10, "time": 1732800000123,
                      "values": {"train/loss": 0.51}, "labels": {"rank": "0"}}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->run, kRun);
  ASSERT_EQ(r->series.size(), 1u);
  const SeriesColumns& s = r->series[0];
  EXPECT_EQ(s.key.run, kRun);
  EXPECT_EQ(s.key.metric, "train/loss");
  EXPECT_EQ(s.key.labels, (Labels{{"rank", "0"}}));
  EXPECT_EQ(s.steps, std::vector<int64_t>{10});
  EXPECT_EQ(s.times, std::vector<int64_t>{1732800000123});
  EXPECT_EQ(s.values, std::vector<double>{0.51});
}

TEST(BatchDecoder, RowsMergePointsOfASeriesInOrder) {
  auto r = Decode(Row(R"({"step": 1, "values": {"a": 1, "b": 10}},
                         {"step": 2, "values": {"a": 2, "b": 20}},
                         {"step": 3, "values": {"a": 3, "b": 30}})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->series[0].key.metric, "a");
  EXPECT_EQ(r->series[0].steps, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(r->series[0].values, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(r->series[1].key.metric, "b");
  EXPECT_EQ(r->series[1].values, (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(r->PointCount(), 6u);
}

TEST(BatchDecoder, RowsMetricsInChangingOrder) {
  auto r = Decode(Row(R"({"step": 1, "values": {"a": 1, "b": 10}},
                         {"step": 2, "values": {"b": 20, "a": 2}},
                         {"step": 3, "values": {"c": 300, "a": 3}})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 3u);
  EXPECT_EQ(r->series[0].values, (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(r->series[1].values, (std::vector<double>{10, 20}));
  EXPECT_EQ(r->series[1].steps, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(r->series[2].key.metric, "c");
  EXPECT_EQ(r->series[2].steps, std::vector<int64_t>{3});
}

TEST(BatchDecoder, RowsKeysInAnyOrder) {
  auto r = Decode(Row(R"({"labels": {"rank": "1"}, "values": {"a": 5}, "time": 7, "step": 4})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].key.labels, (Labels{{"rank", "1"}}));
  EXPECT_EQ(r->series[0].steps, std::vector<int64_t>{4});
  EXPECT_EQ(r->series[0].times, std::vector<int64_t>{7});
}

TEST(BatchDecoder, RowsInterleavedLabelSetsAreDistinctSeries) {
  auto r = Decode(Row(R"({"step": 1, "values": {"loss": 1}, "labels": {"rank": "0"}},
                         {"step": 1, "values": {"loss": 2}, "labels": {"rank": "1"}},
                         {"step": 2, "values": {"loss": 3}, "labels": {"rank": "0"}},
                         {"step": 2, "values": {"loss": 4}, "labels": {"rank": "1"}},
                         {"step": 3, "values": {"loss": 5}})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 3u);
  EXPECT_EQ(r->series[0].key.labels, (Labels{{"rank", "0"}}));
  EXPECT_EQ(r->series[0].values, (std::vector<double>{1, 3}));
  EXPECT_EQ(r->series[1].key.labels, (Labels{{"rank", "1"}}));
  EXPECT_EQ(r->series[1].values, (std::vector<double>{2, 4}));
  EXPECT_TRUE(r->series[2].key.labels.empty());
  EXPECT_EQ(r->series[2].values, std::vector<double>{5});
}

TEST(BatchDecoder, RowsMissingTimeUsesNow) {
  auto r = Decode(OneRow(R"("step": 0, "values": {"a": 1})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].times, std::vector<int64_t>{kNow});
}

TEST(BatchDecoder, SeriesForm) {
  auto r = Decode(R"({"series": [{"metric": "train/loss", "labels": {"rank": "0"},
                      "steps": [0, 1, 2], "times": [100, 200, 300], "values": [0.5, 0.25, 1e-3]}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 1u);
  const SeriesColumns& s = r->series[0];
  EXPECT_EQ(s.key.metric, "train/loss");
  EXPECT_EQ(s.key.labels, (Labels{{"rank", "0"}}));
  EXPECT_EQ(s.steps, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(s.times, (std::vector<int64_t>{100, 200, 300}));
  EXPECT_EQ(s.values, (std::vector<double>{0.5, 0.25, 1e-3}));
}

TEST(BatchDecoder, SeriesMissingTimesUseNow) {
  auto r = Decode(OneSeries(R"("metric": "m", "steps": [1, 2], "values": [3, 4])"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].times, (std::vector<int64_t>{kNow, kNow}));
  EXPECT_TRUE(r->series[0].key.labels.empty());
}

TEST(BatchDecoder, SeriesEntriesOfOneSeriesMerge) {
  auto r = Decode(R"({"series": [
      {"metric": "m", "labels": {"b": "2", "a": "1"}, "steps": [1, 2], "values": [10, 20]},
      {"metric": "other", "steps": [1], "values": [0]},
      {"values": [30], "steps": [3], "labels": {"a": "1", "b": "2"}, "metric": "m"}]})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 2u);
  EXPECT_EQ(r->series[0].key.labels, (Labels{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(r->series[0].steps, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(r->series[0].values, (std::vector<double>{10, 20, 30}));
  EXPECT_EQ(r->series[0].times, (std::vector<int64_t>{kNow, kNow, kNow}));
}

TEST(BatchDecoder, LabelsAreSortedSoOrderDoesNotMatter) {
  auto r = Decode(Row(R"({"step": 1, "values": {"m": 1}, "labels": {"b": "y", "a": "x"}},
                         {"step": 2, "values": {"m": 2}, "labels": {"a": "x", "b": "y"}})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 1u);
  EXPECT_EQ(r->series[0].key.labels, (Labels{{"a", "x"}, {"b", "y"}}));
  EXPECT_EQ(r->series[0].steps, (std::vector<int64_t>{1, 2}));
}

TEST(BatchDecoder, EmptyRowsYieldEmptyBatch) {
  auto r = Decode(R"({"rows": []})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->run, kRun);
  EXPECT_TRUE(r->series.empty());
}

TEST(BatchDecoder, EmptySeriesYieldEmptyBatch) {
  auto r = Decode(R"({"series": []})");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->series.empty());
}

TEST(BatchDecoder, NonFiniteValuesAsStrings) {
  auto r = Decode(OneSeries(R"("metric": "m", "steps": [1, 2, 3],
                               "values": ["NaN", "Infinity", "-Infinity"])"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& v = r->series[0].values;
  EXPECT_EQ(std::bit_cast<uint64_t>(v[0]), 0x7ff8000000000000u);
  EXPECT_EQ(v[1], std::numeric_limits<double>::infinity());
  EXPECT_EQ(v[2], -std::numeric_limits<double>::infinity());
  auto rows = Decode(OneRow(R"("step": 1, "values": {"a": "NaN", "b": "-Infinity"})"));
  ASSERT_TRUE(rows.ok()) << rows.status().message();
  EXPECT_TRUE(std::isnan(rows->series[0].values[0]));
  EXPECT_EQ(rows->series[1].values[0], -std::numeric_limits<double>::infinity());
}

// Doubles printed in their shortest round-trip form (what Python's repr and
// fmt's "{}" print) come back bit-exact, across every exponent.
std::vector<double> RoundTripCases(std::mt19937_64& rng) {
  std::vector<double> v = {0.0,
                           -0.0,
                           1e308,
                           -1e308,
                           5e-324,
                           -5e-324,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::min(),
                           std::numeric_limits<double>::denorm_min() * 12345,
                           2.2250738585072009e-308,  // largest subnormal
                           0.1,
                           1.0 / 3,
                           9007199254740993.0,
                           1e23,
                           8.98846567431158e307};
  while (v.size() < 2000) {
    double d = std::bit_cast<double>(rng());
    if (std::isfinite(d)) v.push_back(d);
  }
  std::uniform_real_distribution<double> loss(0, 5);
  for (int i = 0; i < 500; ++i) v.push_back(loss(rng));
  return v;
}

TEST(BatchDecoder, SeriesValuesRoundTripBitExact) {
  auto rng = testing::SeededRng();
  const std::vector<double> values = RoundTripCases(rng);
  std::string steps, vals;
  for (size_t i = 0; i < values.size(); ++i) {
    steps += fmt::format("{}{}", i ? "," : "", i);
    vals += fmt::format("{}{}", i ? "," : "", values[i]);
  }
  auto r = Decode(
      OneSeries(fmt::format(R"("metric": "m", "steps": [{}], "values": [{}])", steps, vals)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series[0].values.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_TRUE(SameBits(r->series[0].values[i], values[i]))
        << fmt::format("{} came back as {}", values[i], r->series[0].values[i]);
  }
}

TEST(BatchDecoder, RowValuesRoundTripBitExact) {
  auto rng = testing::SeededRng();
  const std::vector<double> values = RoundTripCases(rng);
  std::string rows;
  for (size_t i = 0; i < values.size(); ++i) {
    rows += fmt::format(R"({}{{"step": {}, "values": {{"x": {}}}}})", i ? "," : "", i, values[i]);
  }
  auto r = Decode(Row(rows));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series[0].values.size(), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    EXPECT_TRUE(SameBits(r->series[0].values[i], values[i])) << values[i];
  }
}

TEST(BatchDecoder, IntegerValuesRoundToNearestDouble) {
  // 2^53 + 1 is a tie between 2^53 and 2^53 + 2: ties go to even.
  auto r = Decode(OneSeries(R"("metric": "m", "steps": [1, 2, 3, 4],
      "values": [3, 9007199254740993, 123456789012345678901234567890, -0])"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  const auto& v = r->series[0].values;
  EXPECT_EQ(v[0], 3.0);
  EXPECT_EQ(v[1], 9007199254740992.0);
  EXPECT_EQ(v[2], std::strtod("123456789012345678901234567890", nullptr));
  EXPECT_TRUE(SameBits(v[3], -0.0));
}

TEST(BatchDecoder, NumbersThatUnderflowAreZero) {
  auto r = Decode(OneSeries(R"("metric": "m", "steps": [1, 2], "values": [1e-400, -2e-330])"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(SameBits(r->series[0].values[0], 0.0));
  EXPECT_TRUE(SameBits(r->series[0].values[1], -0.0));
}

TEST(BatchDecoder, StepAndTimeBoundsAccepted) {
  auto r = Decode(OneSeries(R"("metric": "m", "steps": [0, 9223372036854775807, -0],
      "times": [0, 253402300799999, 5], "values": [1, 2, 3])"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].steps, (std::vector<int64_t>{0, std::numeric_limits<int64_t>::max(), 0}));
  EXPECT_EQ(r->series[0].times, (std::vector<int64_t>{0, 253402300799999, 5}));
}

// Steps and times of every length from 1 to 19 digits (the decoder reads
// up to 16 itself, eight at a time, and leaves longer ones to simdjson).
TEST(BatchDecoder, IntegersOfEveryLength) {
  auto rng = testing::SeededRng();
  std::vector<int64_t> steps;
  for (int digits = 1; digits <= 19; ++digits) {
    for (int k = 0; k < 20; ++k) {
      std::string text(1, static_cast<char>('1' + rng() % 9));
      while (static_cast<int>(text.size()) < digits) text += static_cast<char>('0' + rng() % 10);
      if (digits == 19) text[0] = '1' + static_cast<char>(rng() % 8);  // stay below 2^63
      steps.push_back(std::stoll(text));
    }
  }
  steps.push_back(0);
  steps.push_back(9'999'999'999'999'999);
  steps.push_back(10'000'000'000'000'000);
  steps.push_back(99'999'999);
  steps.push_back(100'000'000);
  std::string s, v;
  for (size_t i = 0; i < steps.size(); ++i) {
    s += fmt::format("{}{}", i ? "," : "", steps[i]);
    v += fmt::format("{}{}", i ? "," : "", i);
  }
  auto r = Decode(OneSeries(fmt::format(R"("metric": "m", "steps": [{}], "values": [{}])", s, v)));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].steps, steps);
}

TEST(BatchDecoder, IntegersWithWhitespaceAround) {
  auto r = Decode(
      "{\"series\": [{\"metric\": \"m\", \"steps\": [ 1 ,\t22\n,333\r\n, 4444 ],"
      " \"times\": [12345678 , 123456789\t,1732800000123 ,5],"
      " \"values\": [1, 2, 3, 4]}]}");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].steps, (std::vector<int64_t>{1, 22, 333, 4444}));
  EXPECT_EQ(r->series[0].times, (std::vector<int64_t>{12345678, 123456789, 1732800000123, 5}));
  auto row =
      Decode("{\"rows\": [{\"step\" : 17 , \"time\":\n1732800000123\n, \"values\": {\"m\": 1}}]}");
  ASSERT_TRUE(row.ok()) << row.status().message();
  EXPECT_EQ(row->series[0].steps, std::vector<int64_t>{17});
  EXPECT_EQ(row->series[0].times, std::vector<int64_t>{1732800000123});
}

TEST(BatchDecoder, IntegerFollowedByJunk) {
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [12345678x], "values": [1])"),
                      "body is not valid JSON: "));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1x], "values": [1])"),
                      "body is not valid JSON: "));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1 2], "values": [1])"),
                      "body is not valid JSON: "));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [007], "values": [1])"),
                      "body is not valid JSON: "));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1234567812345678.5], "values": [1])"),
                      "series[0].steps[0]: expected a non-negative integer, got "
                      "1234567812345678.5"));
}

TEST(BatchDecoder, EscapesInKeysAndStrings) {
  auto r = Decode(OneRow(
      R"("st\u0065p": 1, "values": {"train\/loss": 1}, "labels": {"host": "caf\u00e9 \"a\""})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].key.metric, "train/loss");
  EXPECT_EQ(r->series[0].key.labels, (Labels{{"host", "caf\xc3\xa9 \"a\""}}));
}

TEST(BatchDecoder, Utf8LabelValues) {
  auto r =
      Decode(OneRow("\"step\": 1, \"values\": {\"m\": 1}, \"labels\": {\"gpu\": "
                    "\"\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80\"}"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].key.labels[0].value, "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80");
}

TEST(BatchDecoder, BodyWithoutSpareCapacityIsGrownNotChanged) {
  const std::string text = OneRow(R"("step": 1, "values": {"m": 1.5})");
  std::string body = text;
  body.shrink_to_fit();
  auto r = DecodeLogBatch(&body, kRun, {}, kNow);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(body, text);
  EXPECT_GE(body.capacity(), body.size() + simdjson::SIMDJSON_PADDING);
}

TEST(BatchDecoder, BodyWithSpareCapacityIsNotReallocated) {
  std::string body = OneRow(R"("step": 1, "values": {"m": 1.5})");
  body.reserve(body.size() + 1000);
  const char* data = body.data();
  auto r = DecodeLogBatch(&body, kRun, {}, kNow);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(body.data(), data);
}

TEST(BatchDecoder, BodyLargerThanTheRetainedParser) {
  // Over 8 MiB: decoded by a parser of its own rather than the thread's.
  std::string steps, values;
  for (int i = 0; i < 300'000; ++i) {
    steps += fmt::format("{}{}", i ? "," : "", i);
    values += fmt::format("{}{}", i ? "," : "", i * 0.1);
  }
  std::string body;
  for (int s = 0; s < 4; ++s) {
    body += fmt::format(R"({}{{"metric": "m{}", "steps": [{}], "values": [{}]}})", s ? "," : "", s,
                        steps, values);
  }
  body = "{\"series\": [" + body + "]}";
  ASSERT_GT(body.size(), size_t{8} << 20);
  IngestLimits limits;
  limits.max_points = 2'000'000;
  auto r = Decode(body, limits);
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->series.size(), 4u);
  EXPECT_EQ(r->PointCount(), 1'200'000u);
  EXPECT_EQ(r->series[3].steps.back(), 299'999);
  EXPECT_EQ(r->series[3].values.back(), 299'999 * 0.1);
  // The thread's parser still works afterwards.
  EXPECT_TRUE(Decode(OneRow(R"("step": 1, "values": {"m": 2})")).ok());
}

TEST(BatchDecoder, ParserIsReusableAfterErrors) {
  EXPECT_FALSE(Decode(R"({"rows": [{"step": 1, "values": {"m": "bad"}}]})").ok());
  EXPECT_FALSE(Decode(R"({"rows": [)").ok());
  auto r = Decode(OneRow(R"("step": 1, "values": {"m": 2})"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].values, std::vector<double>{2});
}

// ---- rejections: structure ----

TEST(BatchDecoder, EmptyBody) {
  EXPECT_TRUE(Invalid("", "body is empty"));
  EXPECT_TRUE(Invalid(" \n\t ", "body is empty"));
}

TEST(BatchDecoder, BodyMustBeAnObject) {
  EXPECT_TRUE(Invalid("[]", "body: expected a JSON object, got an array"));
  EXPECT_TRUE(Invalid("\"rows\"", "body: expected a JSON object, got a string"));
  EXPECT_TRUE(Invalid("42", "body: expected a JSON object, got a number"));
  EXPECT_TRUE(Invalid("null", "body: expected a JSON object, got null"));
}

TEST(BatchDecoder, NeitherRowsNorSeries) {
  EXPECT_TRUE(Invalid("{}", "body: missing \"rows\" or \"series\""));
}

TEST(BatchDecoder, BothRowsAndSeries) {
  EXPECT_TRUE(Invalid(R"({"rows": [], "series": []})", "body: has both \"rows\" and \"series\""));
}

TEST(BatchDecoder, UnknownTopLevelKey) {
  EXPECT_TRUE(Invalid(R"({"rows": [], "row": []})", "body: unknown key \"row\""));
}

TEST(BatchDecoder, DuplicateTopLevelKey) {
  EXPECT_TRUE(Invalid(R"({"rows": [], "rows": []})", "rows: duplicate key"));
}

TEST(BatchDecoder, RowsNotAnArray) {
  EXPECT_TRUE(Invalid(R"({"rows": {}})", "rows: expected an array, got an object"));
  EXPECT_TRUE(Invalid(R"({"series": 3})", "series: expected an array, got 3"));
}

TEST(BatchDecoder, RowNotAnObject) {
  EXPECT_TRUE(Invalid(Row(R"({"step": 1, "values": {"a": 1}}, [1])"),
                      "rows[1]: expected an object, got an array"));
}

TEST(BatchDecoder, UnknownRowKey) {
  EXPECT_TRUE(
      Invalid(OneRow(R"("step": 1, "valeus": {"a": 1})"), "rows[0]: unknown key \"valeus\""));
}

TEST(BatchDecoder, DuplicateRowKey) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "step": 2, "values": {"a": 1})"),
                      "rows[0].step: duplicate key"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1}, "values": {"b": 1})"),
                      "rows[0].values: duplicate key"));
}

TEST(BatchDecoder, RowMissingStep) {
  EXPECT_TRUE(Invalid(OneRow(R"("values": {"a": 1})"), "rows[0]: missing \"step\""));
}

TEST(BatchDecoder, RowMissingValues) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1)"), "rows[0]: missing \"values\""));
}

TEST(BatchDecoder, RowEmptyValues) {
  EXPECT_TRUE(Invalid(Row(R"({"step": 1, "values": {"a": 1}}, {"step": 2, "values": {}})"),
                      "rows[1].values: expected at least one value, got an empty object"));
}

TEST(BatchDecoder, RowValuesNotAnObject) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": [1])"),
                      "rows[0].values: expected an object mapping metric names to values, got an "
                      "array"));
}

TEST(BatchDecoder, MetricRepeatedInOneRow) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1, "b": 2, "a": 3})"),
                      "rows[0].values[\"a\"]: duplicate key"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1, "\u0061": 3})"),
                      "rows[0].values[\"a\"]: duplicate key"));
}

// ---- rejections: step, time, value ----

TEST(BatchDecoder, StepNotANonNegativeInteger) {
  const std::string ok = R"({"step": 1, "values": {"a": 1}}, {"step": 2, "values": {"a": 1}}, )";
  EXPECT_TRUE(Invalid(Row(ok + R"({"step": 1.5, "values": {"a": 1}})"),
                      "rows[2].step: expected a non-negative integer, got 1.5"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1.0, "values": {"a": 1})"),
                      "rows[0].step: expected a non-negative integer, got 1.0"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1e3, "values": {"a": 1})"),
                      "rows[0].step: expected a non-negative integer, got 1e3"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": -1, "values": {"a": 1})"),
                      "rows[0].step: expected a non-negative integer, got -1"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": "5", "values": {"a": 1})"),
                      "rows[0].step: expected a non-negative integer, got the string \"5\""));
  EXPECT_TRUE(Invalid(OneRow(R"("step": null, "values": {"a": 1})"),
                      "rows[0].step: expected a non-negative integer, got null"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": true, "values": {"a": 1})"),
                      "rows[0].step: expected a non-negative integer, got true"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": {}, "values": {"a": 1})"),
                      "rows[0].step: expected a non-negative integer, got an object"));
}

TEST(BatchDecoder, StepOf2To63) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 9223372036854775808, "values": {"a": 1})"),
                      "rows[0].step: expected a non-negative integer less than 2^63, got "
                      "9223372036854775808"));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1, 99999999999999999999999],
                                   "values": [1, 2])"),
                      "series[0].steps[1]: expected a non-negative integer less than 2^63, got "
                      "99999999999999999999999"));
}

TEST(BatchDecoder, LongNumberIsShortenedInMessage) {
  const std::string digits(300, '7');
  auto r = Decode(OneRow(fmt::format(R"("step": {}, "values": {{"a": 1}})", digits)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "rows[0].step: expected a non-negative integer less than 2^63, got " +
                digits.substr(0, 64) + "...");
}

TEST(BatchDecoder, TimeOutOfRange) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "time": -1, "values": {"a": 1})"),
                      "rows[0].time: expected Unix milliseconds, an integer in [0, "
                      "253402300799999], got -1"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "time": 253402300800000, "values": {"a": 1})"),
                      "rows[0].time: expected Unix milliseconds"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "time": 1.5e12, "values": {"a": 1})"),
                      "rows[0].time: expected Unix milliseconds, an integer in [0, "
                      "253402300799999], got 1.5e12"));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1, 2], "times": [1, "x"],
                                   "values": [1, 2])"),
                      "series[0].times[1]: expected Unix milliseconds, an integer in [0, "
                      "253402300799999], got the string \"x\""));
}

TEST(BatchDecoder, ValueOfTheWrongType) {
  EXPECT_TRUE(Invalid(Row(R"({"step": 1, "values": {"train/loss": 1}},
                             {"step": 2, "values": {"train/loss": 1}},
                             {"step": 3, "values": {"train/loss": 1}},
                             {"step": 4, "values": {"train/loss": "abc"}})"),
                      "rows[3].values[\"train/loss\"]: expected a number or \"NaN\", "
                      "\"Infinity\", \"-Infinity\", got the string \"abc\""));
  const char* kExpected = R"(rows[0].values["a"]: expected a number or "NaN", "Infinity", )"
                          R"("-Infinity", got )";
  EXPECT_TRUE(
      Invalid(OneRow(R"("step": 1, "values": {"a": null})"), std::string(kExpected) + "null"));
  EXPECT_TRUE(
      Invalid(OneRow(R"("step": 1, "values": {"a": false})"), std::string(kExpected) + "false"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": "nan"})"),
                      std::string(kExpected) + "the string \"nan\""));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": "inf"})"),
                      std::string(kExpected) + "the string \"inf\""));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": {"b": 1}})"),
                      std::string(kExpected) + "an object"));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1, 2], "values": [1, [2]])"),
                      "series[0].values[1]: expected a number or \"NaN\", \"Infinity\", "
                      "\"-Infinity\", got an array"));
}

TEST(BatchDecoder, NumberTooLargeForADouble) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1e400})"),
                      "rows[0].values[\"a\"]: expected a number within the range of a double "
                      "(magnitude at most 1.7976931348623157e308), got 1e400"));
  EXPECT_TRUE(
      Invalid(OneSeries(R"("metric": "m", "steps": [1], "values": [-1.7976931348623159e308])"),
              "series[0].values[0]: expected a number within the range of a double"));
  const std::string huge = "1" + std::string(400, '0');
  EXPECT_TRUE(
      Invalid(OneSeries(fmt::format(R"("metric": "m", "steps": [1], "values": [{}])", huge)),
              "series[0].values[0]: expected a number within the range of a double"));
}

TEST(BatchDecoder, LargestDoubleAccepted) {
  auto r = Decode(OneSeries(R"("metric": "m", "steps": [1, 2],
                               "values": [1.7976931348623157e308, 1.7976931348623158e308])"));
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->series[0].values[0], std::numeric_limits<double>::max());
  EXPECT_EQ(r->series[0].values[1], std::numeric_limits<double>::max());
}

// ---- rejections: names and labels ----

TEST(BatchDecoder, InvalidMetricName) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"bad name": 1})"),
                      "rows[0].values[\"bad name\"]: metric name \"bad name\" has an invalid "
                      "character at byte 3"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"train/": 1})"),
                      "rows[0].values[\"train/\"]: metric name \"train/\" ends with '/'"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"": 1})"),
                      "rows[0].values[\"\"]: metric name is empty"));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "9lives", "steps": [1], "values": [1])"),
                      "series[0].metric: metric name \"9lives\" has an invalid character at "
                      "byte 0"));
  const std::string long_name(300, 'm');
  EXPECT_TRUE(
      Invalid(OneSeries(fmt::format(R"("metric": "{}", "steps": [1], "values": [1])", long_name)),
              "series[0].metric: metric name \"mmmm"));
}

TEST(BatchDecoder, MetricNotAString) {
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": 5, "steps": [1], "values": [1])"),
                      "series[0].metric: expected a string (the metric name), got 5"));
}

TEST(BatchDecoder, LabelsNotAnObject) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1}, "labels": ["rank"])"),
                      "rows[0].labels: expected an object of strings, got an array"));
}

TEST(BatchDecoder, LabelValueNotAString) {
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "labels": {"rank": 0}, "steps": [1],
                                   "values": [1])"),
                      "series[0].labels[\"rank\"]: expected a string, got 0"));
}

TEST(BatchDecoder, InvalidLabelName) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1}, "labels": {"gpu-id": "0"})"),
                      "rows[0].labels[\"gpu-id\"]: label name \"gpu-id\" has an invalid "
                      "character at byte 3"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1}, "labels": {"__name": "0"})"),
                      "rows[0].labels[\"__name\"]: label name \"__name\" starts with \"__\""));
}

TEST(BatchDecoder, ReservedLabelNames) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1}, "labels": {"run": "x"})"),
                      "rows[0].labels[\"run\"]: label name \"run\" is reserved"));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "labels": {"project": "p"}, "steps": [1],
                                   "values": [1])"),
                      "series[0].labels[\"project\"]: label name \"project\" is reserved"));
}

TEST(BatchDecoder, InvalidLabelValue) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1}, "labels": {"rank": ""})"),
                      "rows[0].labels[\"rank\"]: label value is empty"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1}, "labels": {"rank": "a\u0000b"})"),
                      "rows[0].labels[\"rank\"]: label value \"a\\x00b\" has an invalid "
                      "character at byte 1"));
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1}, "labels": {"rank": "a\nb"})"),
                      "rows[0].labels[\"rank\"]: label value \"a\\x0ab\" has an invalid "
                      "character at byte 1"));
}

TEST(BatchDecoder, DuplicateLabelName) {
  EXPECT_TRUE(Invalid(OneRow(R"("step": 1, "values": {"a": 1},
                                "labels": {"rank": "0", "node": "a", "rank": "1"})"),
                      "rows[0].labels[\"rank\"]: duplicate key"));
}

TEST(BatchDecoder, TooManyLabels) {
  IngestLimits limits;
  limits.max_labels = 2;
  EXPECT_TRUE(
      Decode(OneRow(R"("step": 1, "values": {"a": 1}, "labels": {"x": "1", "y": "2"})"), limits)
          .ok());
  EXPECT_TRUE(Rejects(OneRow(R"("step": 1, "values": {"a": 1},
                                "labels": {"x": "1", "y": "2", "z": "3"})"),
                      StatusCode::kInvalidArgument,
                      "rows[0].labels: more than 2 labels (limit max_labels)", limits));
}

TEST(BatchDecoder, LabelErrorsInALaterRowWithNewLabels) {
  // The per-row label cache must not let a changed label set skip checks.
  EXPECT_TRUE(Invalid(Row(R"({"step": 1, "values": {"a": 1}, "labels": {"rank": "0"}},
                             {"step": 2, "values": {"a": 1}, "labels": {"rank": "0"}},
                             {"step": 3, "values": {"a": 1}, "labels": {"Rank!": "0"}})"),
                      "rows[2].labels[\"Rank!\"]: label name"));
}

// ---- rejections: series form ----

TEST(BatchDecoder, SeriesEntryNotAnObject) {
  EXPECT_TRUE(
      Invalid(R"({"series": ["m"]})", "series[0]: expected an object, got the string \"m\""));
}

TEST(BatchDecoder, UnknownSeriesKey) {
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1], "valeus": [1])"),
                      "series[0]: unknown key \"valeus\""));
}

TEST(BatchDecoder, DuplicateSeriesKey) {
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "metric": "n", "steps": [1], "values": [1])"),
                      "series[0].metric: duplicate key"));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1], "values": [1], "steps": [2])"),
                      "series[0].steps: duplicate key"));
}

TEST(BatchDecoder, SeriesMissingKeys) {
  EXPECT_TRUE(
      Invalid(OneSeries(R"("steps": [1], "values": [1])"), "series[0]: missing \"metric\""));
  EXPECT_TRUE(
      Invalid(OneSeries(R"("metric": "m", "values": [1])"), "series[0]: missing \"steps\""));
  EXPECT_TRUE(
      Invalid(OneSeries(R"("metric": "m", "steps": [1])"), "series[0]: missing \"values\""));
}

TEST(BatchDecoder, SeriesColumnNotAnArray) {
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": 1, "values": [1])"),
                      "series[0].steps: expected an array, got 1"));
}

TEST(BatchDecoder, SeriesEmptyColumns) {
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [], "values": [])"),
                      "series[0].steps: expected at least one point, got an empty array"));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "values": [], "steps": [])"),
                      "series[0].values: expected at least one point, got an empty array"));
}

TEST(BatchDecoder, SeriesLengthMismatch) {
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1, 2, 3], "values": [1, 2, 3, 4])"),
                      "series[0]: 3 steps but 4 values"));
  EXPECT_TRUE(Invalid(OneSeries(R"("metric": "m", "steps": [1, 2, 3], "times": [1, 2],
                                   "values": [1, 2, 3])"),
                      "series[0]: 3 steps but 2 times"));
}

TEST(BatchDecoder, SeriesElementErrorsNameTheIndex) {
  EXPECT_TRUE(Invalid(R"({"series": [{"metric": "m", "steps": [1], "values": [1]},
                                     {"metric": "m", "steps": [1, 2, -3], "values": [1, 2, 3]}]})",
                      "series[1].steps[2]: expected a non-negative integer, got -3"));
}

// ---- limits ----

TEST(BatchDecoder, MaxSeries) {
  IngestLimits limits;
  limits.max_series = 3;
  EXPECT_TRUE(Decode(OneRow(R"("step": 1, "values": {"a": 1, "b": 1, "c": 1})"), limits).ok());
  // The same series again does not count twice.
  EXPECT_TRUE(Decode(Row(R"({"step": 1, "values": {"a": 1, "b": 1, "c": 1}},
                            {"step": 2, "values": {"a": 1, "b": 1, "c": 1}})"),
                     limits)
                  .ok());
  EXPECT_TRUE(Rejects(OneRow(R"("step": 1, "values": {"a": 1, "b": 1, "c": 1, "d": 1})"),
                      StatusCode::kResourceExhausted,
                      "rows[0].values[\"d\"]: the batch has more than 3 series (limit "
                      "max_series)",
                      limits));
  EXPECT_TRUE(Rejects(R"({"series": [
      {"metric": "m", "labels": {"r": "0"}, "steps": [1], "values": [1]},
      {"metric": "m", "labels": {"r": "1"}, "steps": [1], "values": [1]},
      {"metric": "m", "labels": {"r": "0"}, "steps": [2], "values": [1]},
      {"metric": "m", "labels": {"r": "2"}, "steps": [1], "values": [1]},
      {"metric": "m", "labels": {"r": "3"}, "steps": [1], "values": [1]}]})",
                      StatusCode::kResourceExhausted,
                      "series[4].metric: the batch has more than 3 series", limits));
}

TEST(BatchDecoder, MaxPointsRows) {
  IngestLimits limits;
  limits.max_points = 4;
  EXPECT_TRUE(Decode(Row(R"({"step": 1, "values": {"a": 1, "b": 1}},
                            {"step": 2, "values": {"a": 1, "b": 1}})"),
                     limits)
                  .ok());
  EXPECT_TRUE(Rejects(Row(R"({"step": 1, "values": {"a": 1, "b": 1}},
                             {"step": 2, "values": {"a": 1, "b": 1}},
                             {"step": 3, "values": {"a": 1}})"),
                      StatusCode::kResourceExhausted,
                      "rows[2].values[\"a\"]: the batch has more than 4 points (limit "
                      "max_points)",
                      limits));
}

TEST(BatchDecoder, MaxPointsSeries) {
  IngestLimits limits;
  limits.max_points = 4;
  EXPECT_TRUE(
      Decode(OneSeries(R"("metric": "m", "steps": [1, 2, 3, 4], "values": [1, 2, 3, 4])"), limits)
          .ok());
  EXPECT_TRUE(Rejects(R"({"series": [{"metric": "m", "steps": [1, 2, 3], "values": [1, 2, 3]},
                                     {"metric": "n", "steps": [1, 2], "values": [1, 2]}]})",
                      StatusCode::kResourceExhausted,
                      "series[1].steps: the batch has more than 4 points", limits));
}

TEST(BatchDecoder, PointLimitFailsBeforeTheRestIsRead) {
  // Over the limit at series[0].steps: the malformed value after it is never
  // reached, so the answer is the limit, not the JSON error.
  IngestLimits limits;
  limits.max_points = 2;
  EXPECT_TRUE(Rejects(OneSeries(R"("metric": "m", "steps": [1, 2, 3], "values": [1, 2, x])"),
                      StatusCode::kResourceExhausted, "series[0].steps: the batch has more",
                      limits));
}

// ---- malformed JSON ----

TEST(BatchDecoder, GarbageIsNotJson) {
  for (const char* body :
       {"x", "{", "}", "{\"rows\"", "{\"rows\": [}", "{'rows': []}", "{rows: []}",
        "{\"rows\": [],}", "{\"rows\": [] \"x\": 1}",
        "{\"rows\": [{\"step\": 01, \"values\": {\"a\": 1}}]}",
        "{\"rows\": [{\"step\": 1, \"values\": {\"a\": 1.}}]}",
        "{\"rows\": [{\"step\": 1, \"values\": {\"a\": +1}}]}",
        "{\"rows\": [{\"step\": 1, \"values\": {\"a\": NaN}}]}",
        "{\"rows\": [{\"step\": 1, \"values\": {\"a\": nul}}]}",
        "{\"rows\": [{\"step\": 1, \"values\": {\"a\": tru}}]}",
        "{\"rows\": [{\"step\": 1, \"values\": {\"a\": 1}}] /* c */}", "\x01\x02\x03"}) {
    Result<WriteBatch> r = Decode(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_FALSE(r.status().message().empty());
  }
}

TEST(BatchDecoder, MalformedJsonMessage) {
  EXPECT_TRUE(
      Invalid(R"({"rows": [{"step": 1, "values": {"a": -}}]})", "body is not valid JSON: "));
  EXPECT_TRUE(Invalid(R"({"rows": [{"step": 1 "values": {"a": 1}}]})", "body is not valid JSON: "));
}

TEST(BatchDecoder, TrailingContent) {
  EXPECT_TRUE(Invalid(R"({"rows": []} x)", "body is not valid JSON: "));
  EXPECT_TRUE(Invalid(R"({"rows": []}{"rows": []})",
                      "body is not valid JSON: Unexpected trailing content in the JSON input "
                      "near byte 12"));
  EXPECT_TRUE(Invalid(R"({"rows": []}})", "body is not valid JSON: "));
}

TEST(BatchDecoder, EveryTruncationIsRejected) {
  const std::string body = R"({"rows": [{"step": 12, "time": 1732800000123,
      "values": {"train/loss": 0.51, "lr": 1e-3}, "labels": {"rank": "0"}}],
      "x": 1})";
  // The whole body is rejected (unknown key "x") and so is every prefix; the
  // prefixes without "x" must fail as malformed JSON.
  const size_t x_at = body.find("\"x\"");
  for (size_t n = 0; n < body.size(); ++n) {
    Result<WriteBatch> r = Decode(body.substr(0, n));
    ASSERT_FALSE(r.ok()) << n;
    if (n > 0 && n < x_at) {
      EXPECT_TRUE(r.status().message().starts_with("body is not valid JSON: ") ||
                  r.status().message().starts_with("body: expected a JSON object") ||
                  r.status().message().starts_with("rows[0]"))
          << n << ": " << r.status().message();
    }
  }
}

TEST(BatchDecoder, InvalidUtf8IsLocated) {
  // Byte 39 is a lone continuation byte inside a label value.
  const std::string body =
      "{\"rows\": [{\"step\": 1, \"labels\": {\"a\": \"\x80\"}, "
      "\"values\": {\"m\": 1}}]}";
  ASSERT_EQ(body[39], '\x80');
  auto r = Decode(body);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "body is not valid JSON: The input is not valid UTF-8 near byte 39");
}

TEST(BatchDecoder, OverlongUtf8IsRejected) {
  EXPECT_TRUE(Invalid("{\"rows\": [{\"step\": 1, \"values\": {\"\xc0\xaf\": 1}}]}",
                      "body is not valid JSON: The input is not valid UTF-8 near byte 34"));
}

TEST(BatchDecoder, LoneSurrogateEscapeIsRejected) {
  auto r = Decode(OneRow(R"("step": 1, "values": {"m": 1}, "labels": {"a": "\ud800"})"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(r.status().message().starts_with("body is not valid JSON: ")) << r.status().message();
}

TEST(BatchDecoder, UnescapedControlCharacterIsLocated) {
  const std::string body = "{\"rows\": [{\"step\": 1, \"values\": {\"a\tb\": 1}}]}";
  ASSERT_EQ(body[35], '\t');
  auto r = Decode(body);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().message().starts_with("body is not valid JSON: ")) << r.status().message();
  EXPECT_TRUE(r.status().message().ends_with(" near byte 35")) << r.status().message();
}

TEST(BatchDecoder, UnclosedStringIsLocated) {
  EXPECT_TRUE(Invalid(R"({"rows": [{"step": 1, "values": {"abc: 1}}]})",
                      "body is not valid JSON: A string is opened, but never closed near byte "
                      "33"));
}

TEST(BatchDecoder, MissingCloseIsLocatedAtTheEnd) {
  EXPECT_TRUE(Invalid(R"({"rows": [{"step": 1)",
                      "body is not valid JSON: JSON document ended early in the middle of an "
                      "object or array near byte 20"));
  EXPECT_TRUE(Invalid(R"({"rows": [{"step": 1, "values": {"m": 1}})",
                      "body is not valid JSON: The JSON document has an improper structure"));
}

TEST(BatchDecoder, DeepNesting) {
  const int kDepth = 100'000;
  std::string deep = std::string(kDepth, '[') + std::string(kDepth, ']');
  EXPECT_TRUE(Invalid(deep, "body: expected a JSON object, got an array"));
  EXPECT_TRUE(Invalid(OneRow(fmt::format(R"("step": 1, "values": {{"a": {}}})", deep)),
                      "rows[0].values[\"a\"]: expected a number"));
  std::string objects;
  for (int i = 0; i < kDepth; ++i) objects += "{\"a\":";
  objects += "1" + std::string(kDepth, '}');
  EXPECT_TRUE(Invalid(objects, "body: unknown key \"a\""));
  EXPECT_TRUE(Invalid(std::string(kDepth, '['), "body"));
}

// ---- properties ----

// Random valid batches in both forms decode to exactly what was encoded.
TEST(BatchDecoder, RandomBatchesDecodeToWhatWasSent) {
  auto rng = testing::SeededRng();
  for (int trial = 0; trial < 50; ++trial) {
    const int metrics = 1 + static_cast<int>(rng() % 5);
    const int ranks = 1 + static_cast<int>(rng() % 3);
    const int steps = 1 + static_cast<int>(rng() % 20);
    // expected[rank][metric] = points in order
    std::vector<std::vector<std::vector<Point>>> expected(ranks,
                                                          std::vector<std::vector<Point>>(metrics));
    std::string rows;
    for (int s = 0; s < steps; ++s) {
      for (int k = 0; k < ranks; ++k) {
        std::string values;
        int n = 0;
        for (int m = 0; m < metrics; ++m) {
          if (rng() % 4 == 0) continue;  // sparse
          Point p{s, kNow + s, std::bit_cast<double>(rng() & 0xbfffffffffffffffu)};
          expected[k][m].push_back(p);
          values += fmt::format("{}\"m{}\": {}", n++ ? ", " : "", m, p.value);
        }
        if (n == 0) continue;
        // Keys in an unusual order, labels in either order.
        rows += fmt::format(R"({}{{"values": {{{}}}, "step": {}, "labels": {}, "time": {}}})",
                            rows.empty() ? "" : ", ", values, s,
                            rng() % 2 ? fmt::format(R"({{"rank": "{}", "job": "j"}})", k)
                                      : fmt::format(R"({{"job": "j", "rank": "{}"}})", k),
                            kNow + s);
      }
    }
    auto r = Decode(Row(rows));
    ASSERT_TRUE(r.ok()) << r.status().message();
    size_t found = 0;
    for (const SeriesColumns& sc : r->series) {
      ASSERT_EQ(sc.key.labels.size(), 2u);
      EXPECT_EQ(sc.key.labels[0].name, "job");
      const int k = std::stoi(sc.key.labels[1].value);
      const int m = std::stoi(sc.key.metric.substr(1));
      const auto& want = expected[k][m];
      ASSERT_EQ(sc.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(sc.steps[i], want[i].step);
        EXPECT_EQ(sc.times[i], want[i].time_ms);
        EXPECT_TRUE(SameBits(sc.values[i], want[i].value));
      }
      ++found;
    }
    size_t nonempty = 0;
    for (const auto& per_rank : expected) {
      for (const auto& pts : per_rank) nonempty += !pts.empty();
    }
    EXPECT_EQ(found, nonempty);
  }
}

// Whatever the decoder accepts, simdjson's DOM parser (which validates the
// whole document) accepts too: single-byte mutations of a valid body.
TEST(BatchDecoder, AcceptedMutationsAreValidJson) {
  auto rng = testing::SeededRng();
  const std::string base = R"({"series": [{"metric": "m", "labels": {"a": "b"},
      "steps": [1, 2], "times": [10, 20], "values": [1.5, "NaN"]}]})";
  const std::string alphabet = "{}[]:,\"\\ 0123456789-+.eEtrufalsn\x80";
  simdjson::dom::parser dom;
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body = base;
    body[rng() % body.size()] = alphabet[rng() % alphabet.size()];
    if (rng() % 4 == 0) body.erase(rng() % body.size(), 1);
    const std::string copy = body;
    Result<WriteBatch> r = DecodeLogBatch(&body, kRun, {}, kNow);
    EXPECT_EQ(body, copy);
    if (r.ok()) {
      ++accepted;
      simdjson::padded_string padded(copy);
      simdjson::dom::element root;
      EXPECT_EQ(dom.parse(padded).get(root), simdjson::SUCCESS) << copy;
    }
  }
  EXPECT_GT(accepted, 100);  // enough mutations survive to make the check mean something
}

}  // namespace
}  // namespace vigil::ingest
