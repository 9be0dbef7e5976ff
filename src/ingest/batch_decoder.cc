// DecodeLogBatch with simdjson's On Demand API: one pass over the body that
// validates and copies each value where it is read, so a bad batch fails at
// its first bad element and a good one is never walked twice.
//
// Choices the API docs leave open, made here:
//  - A value is a JSON number converted to the nearest double (correctly
//    rounded, so Python's repr round-trips bit-exactly; integers beyond 2^53
//    round like any other number) or one of the strings "NaN" (the quiet NaN
//    0x7ff8000000000000: JSON cannot carry a payload), "Infinity",
//    "-Infinity". A number whose magnitude rounds beyond the largest double
//    is an error, not an infinity; one that rounds to zero is zero.
//  - step: an integer token in [0, 2^63-1] ("1.0" and "1e3" are not
//    integers). time: an integer in [0, kMaxTimeMs], or absent (now_ms).
//  - A row whose "values" is empty, and a series entry whose arrays are
//    empty, are errors: a client that sends them has a bug worth surfacing.
//  - Unknown and duplicated keys are errors at every level, so that a typo
//    ("valeus") never silently drops data.
//  - The label count limit is InvalidArgument (splitting the batch does not
//    help); the series and point limits are ResourceExhausted.
#include "ingest/batch_decoder.h"

#include <simdjson.h>

#include <fmt/format.h>

#include <bit>
#include <cstring>
#include <limits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/names.h"
#include "ingest/decode_errors.h"

namespace vigil::ingest {
namespace {

namespace od = simdjson::ondemand;
using internal::InvalidAt;
using internal::JsonPath;

// The last millisecond of year 9999 (9999-12-31T23:59:59.999Z): times past
// it cannot be written as ISO 8601 with a four-digit year.
constexpr int64_t kMaxTimeMs = 253'402'300'799'999;

// Bodies up to this size are parsed by a parser kept per thread, whose
// buffers (about 7 bytes per input byte) stay for the next call. A larger
// body gets a parser of its own, freed on return, so that one huge batch does
// not pin that much memory in every thread that ever decoded one.
constexpr size_t kMaxRetainedParserBytes = size_t{8} << 20;

constexpr std::string_view kValueExpected = "a number or \"NaN\", \"Infinity\", \"-Infinity\"";
constexpr std::string_view kStepExpected = "a non-negative integer";
constexpr std::string_view kTimeExpected = "Unix milliseconds, an integer in [0, 253402300799999]";

// ---- fast path for steps and times ----
//
// simdjson parses integers a digit at a time; a 13-digit Unix-ms time then
// costs more than the rest of its point. Steps and times are almost always
// plain digit runs, so they are read here eight digits at a time (SWAR) from
// the raw token, leaving the value unconsumed (the array or object iterator
// skips it). Anything that is not a plain run of 1 to 16 digits (a sign, a
// leading zero, a fraction or exponent, 17 digits or more, another type,
// malformed input) falls back to simdjson's get_int64(), which decides.

static_assert(std::endian::native == std::endian::little, "SWAR digit parsing assumes it");

// simdjson's On Demand code is fast only when inlined into its caller, where
// the iterator state stays in registers; an out-of-line helper taking an
// od::value costs about 100 more instructions per call. So the per-element
// helpers are forced inline.
#define VIGIL_INLINE inline __attribute__((always_inline))

VIGIL_INLINE uint64_t Load8(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

VIGIL_INLINE bool IsEightDigits(uint64_t v) {
  return ((v & 0xF0F0F0F0F0F0F0F0) | (((v + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) ==
         0x3333333333333333;
}

// The value of eight ASCII digits, first digit in the lowest byte.
VIGIL_INLINE uint64_t EightDigits(uint64_t v) {
  constexpr uint64_t kMask = 0x000000FF000000FF;
  constexpr uint64_t kMul1 = 100 + (1000000ULL << 32);
  constexpr uint64_t kMul2 = 1 + (10000ULL << 32);
  v -= 0x3030303030303030;
  v = (v * 10) + (v >> 8);  // pairs of digits
  return (((v & kMask) * kMul1) + (((v >> 16) & kMask) * kMul2)) >> 32;
}

VIGIL_INLINE bool IsJsonSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// The number written by the `len` digits at p, 1 <= len <= 8; false if one
// of them is not a digit. Reads 8 bytes from p: the body is padded.
VIGIL_INLINE bool ParseUpTo8Digits(const char* p, size_t len, uint64_t* out) {
  uint64_t v = Load8(p);
  if (len < 8) {
    // Drop the bytes past the digits and put '0's in front.
    const unsigned shift = 8 * static_cast<unsigned>(8 - len);
    v = (v << shift) | (0x3030303030303030ULL >> (64 - shift));
  }
  if (!IsEightDigits(v)) return false;
  *out = EightDigits(v);
  return true;
}

// `v` as an integer if its token is a plain run of 1 to 16 digits (below
// 10^16, so below 2^63) without a leading zero, followed only by whitespace.
VIGIL_INLINE bool ReadPlainInteger(od::value& v, int64_t* out) {
  const std::string_view raw = v.raw_json_token();
  const char* p = raw.data();
  size_t len = raw.size();
  while (len > 0 && IsJsonSpace(p[len - 1])) --len;
  if (len == 0 || len > 16 || (p[0] == '0' && len > 1)) return false;
  uint64_t n;
  if (len <= 8) {
    if (!ParseUpTo8Digits(p, len, &n)) return false;
  } else {
    uint64_t high;
    const uint64_t low = Load8(p + len - 8);
    if (!ParseUpTo8Digits(p, len - 8, &high) || !IsEightDigits(low)) return false;
    n = high * 100'000'000 + EightDigits(low);
  }
  *out = static_cast<int64_t>(n);
  return true;
}

// A step: fast path, else simdjson. False if `v` is not a valid step.
VIGIL_INLINE bool ReadStep(od::value& v, int64_t* out) {
  if (ReadPlainInteger(v, out)) return true;
  return !v.get_int64().get(*out) && *out >= 0;
}

VIGIL_INLINE bool ReadTime(od::value& v, int64_t* out) {
  if (ReadPlainInteger(v, out)) return *out <= kMaxTimeMs;
  return !v.get_int64().get(*out) && *out >= 0 && *out <= kMaxTimeMs;
}

// The raw JSON of scalar `v` without the whitespace that follows it.
std::string_view TrimmedToken(od::value& v) {
  std::string_view token = v.raw_json_token();
  while (!token.empty() && IsJsonSpace(token.back())) token.remove_suffix(1);
  return token;
}

// Label names the server sets itself, which a client may not send.
bool IsReservedLabel(std::string_view name) {
  return name == "run" || name == "project";
}

Status Prefixed(const JsonPath& path, const Status& s) {
  return s.WithContext(path.ToString());
}

Status DuplicateKey(const JsonPath& path) {
  return InvalidAt(path, "duplicate key");
}

// One value of a row, held until the row's labels are known (keys may come
// in any order). `metric` points into the parser's string buffer, which
// lives until the next document.
struct PendingValue {
  std::string_view metric;
  double value;
};

// Which series the k-th value of the previous row went to, so that rows
// logging the same metrics with the same labels skip the hash map.
struct RowCacheEntry {
  std::string metric;
  uint32_t series;
  uint64_t label_epoch;  // valid while equal to Decoder::label_epoch_
};

enum class Column { kSteps, kTimes, kValues };

class Decoder {
 public:
  Decoder(std::string_view body, std::string_view run, const IngestLimits& limits, int64_t now_ms)
      : body_(body), limits_(limits), now_ms_(now_ms) {
    batch_.run = std::string(run);
  }

  Status Decode(od::document& doc);
  WriteBatch TakeBatch() { return std::move(batch_); }

 private:
  Status DecodeRows(od::value v);
  Status DecodeRow(od::value v, size_t r);
  Status ReadRowValues(od::value v, const JsonPath& path);
  Status DecodeSeries(od::value v);
  Status DecodeSeriesEntry(od::value v, size_t i);
  template <Column kColumn, typename T>
  Status ReadColumn(od::value v, const JsonPath& path, std::vector<T>* out);

  // Reads a labels object into labels_ (unsorted, unvalidated).
  Status ReadLabels(od::value v, const JsonPath& path);
  // Sorts labels_, checks them unless they equal the last set checked, and
  // makes them the current set (current_labels_, label_canon_).
  Status ResolveLabels(const JsonPath& path);
  // The series (metric, current labels), created if new. `path` locates the
  // metric name for errors.
  Result<uint32_t> FindOrAddSeries(std::string_view metric, const JsonPath& path, bool* created);

  Status Mismatch(const JsonPath& path, std::string_view expected, od::value v) const {
    return internal::Mismatch(path, expected, v, body_);
  }
  Status Malformed(simdjson::error_code e) const;
  Status BadStep(const JsonPath& path, od::value v) const;
  Status BadTime(const JsonPath& path, od::value v) const;
  // Called when get_double() failed: a non-finite value spelled as a string,
  // or an error.
  Status ReadSpecialValue(od::value v, const JsonPath& path, double* out) const;
  Status TooManyPoints(const JsonPath& path) const;

  const std::string_view body_;
  const IngestLimits& limits_;
  const int64_t now_ms_;
  od::document* doc_ = nullptr;  // for error locations

  WriteBatch batch_;
  size_t points_ = 0;  // points in batch_
  // metric \0 label_canon_ -> index in batch_.series.
  std::unordered_map<std::string, uint32_t> index_;
  std::string key_buf_;
  // Per series: 1 + the last row that added a point to it (0: none), to
  // reject a metric repeated inside one row.
  std::vector<size_t> last_row_;

  Labels labels_;            // as read from the current element
  Labels current_labels_;    // the last label set checked, sorted
  std::string label_canon_;  // current_labels_ as name \0 value \0 ...
  bool have_current_labels_ = false;
  uint64_t label_epoch_ = 0;  // bumped whenever current_labels_ changes

  std::vector<PendingValue> pending_;
  size_t column_hint_ = 0;  // length of the last column read (series form)
  std::vector<RowCacheEntry> row_cache_;
};

Status Decoder::Malformed(simdjson::error_code e) const {
  std::optional<size_t> offset;
  const char* where;
  if (e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT) {
    offset = body_.size();  // found missing at the end, though simdjson points at the start
  } else if (doc_ != nullptr && !doc_->current_location().get(where)) {
    offset = static_cast<size_t>(where - body_.data());
  }
  return internal::MalformedJson(e, offset);
}

Status Decoder::BadStep(const JsonPath& path, od::value v) const {
  const std::string_view token = TrimmedToken(v);
  if (internal::IsJsonNumber(token) && token[0] != '-' &&
      token.find_first_of(".eE") == std::string_view::npos) {
    return InvalidAt(path, fmt::format("expected a non-negative integer less than 2^63, got {}",
                                       internal::Excerpt(token)));
  }
  return Mismatch(path, kStepExpected, v);
}

Status Decoder::BadTime(const JsonPath& path, od::value v) const {
  return Mismatch(path, kTimeExpected, v);
}

Status Decoder::ReadSpecialValue(od::value v, const JsonPath& path, double* out) const {
  od::json_type type;
  if (auto e = v.type().get(type)) return Malformed(e);
  if (type == od::json_type::string) {
    std::string_view s;
    if (auto e = v.get_string().get(s)) return Malformed(e);
    if (s == "NaN") {
      *out = std::numeric_limits<double>::quiet_NaN();
    } else if (s == "Infinity") {
      *out = std::numeric_limits<double>::infinity();
    } else if (s == "-Infinity") {
      *out = -std::numeric_limits<double>::infinity();
    } else {
      return InvalidAt(
          path, fmt::format("expected {}, got the string {}", kValueExpected, QuoteForMessage(s)));
    }
    return Status::OK();
  }
  if (type == od::json_type::number) {
    const std::string_view token = TrimmedToken(v);
    if (internal::IsJsonNumber(token)) {
      return InvalidAt(path, fmt::format("expected a number within the range of a double "
                                         "(magnitude at most 1.7976931348623157e308), got {}",
                                         internal::Excerpt(token)));
    }
  }
  return Mismatch(path, kValueExpected, v);
}

Status Decoder::TooManyPoints(const JsonPath& path) const {
  return Status::ResourceExhausted(
      fmt::format("{}: the batch has more than {} points (limit max_points); split it",
                  path.ToString(), limits_.max_points));
}

Status Decoder::Decode(od::document& doc) {
  doc_ = &doc;
  od::json_type type;
  if (auto e = doc.type().get(type)) return Malformed(e);
  if (type != od::json_type::object) {
    std::string_view got = "a number";
    switch (type) {
      case od::json_type::array:
        got = "an array";
        break;
      case od::json_type::string:
        got = "a string";
        break;
      case od::json_type::boolean:
        got = "a boolean";
        break;
      case od::json_type::null:
        got = "null";
        break;
      default:
        break;
    }
    return InvalidAt(JsonPath::Body(), fmt::format("expected a JSON object, got {}", got));
  }
  od::object obj;
  if (auto e = doc.get_object().get(obj)) return Malformed(e);
  bool has_rows = false;
  bool has_series = false;
  for (auto f : obj) {
    od::field field;
    if (auto e = std::move(f).get(field)) return Malformed(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Malformed(e);
    const bool is_rows = key == "rows";
    if (!is_rows && key != "series") {
      return InvalidAt(JsonPath::Body(), fmt::format("unknown key {} (expected \"rows\" or "
                                                     "\"series\")",
                                                     QuoteForMessage(key)));
    }
    bool& seen = is_rows ? has_rows : has_series;
    if (seen) return DuplicateKey(JsonPath::Top(key));
    seen = true;
    if (has_rows && has_series) {
      return InvalidAt(JsonPath::Body(),
                       "has both \"rows\" and \"series\"; send one form per request");
    }
    VIGIL_RETURN_IF_ERROR(is_rows ? DecodeRows(field.value()) : DecodeSeries(field.value()));
  }
  if (!has_rows && !has_series) {
    return InvalidAt(JsonPath::Body(), "missing \"rows\" or \"series\"");
  }
  // A location left after the root object means more content follows it.
  const char* rest;
  if (!doc.current_location().get(rest)) {
    return internal::MalformedJson(simdjson::TRAILING_CONTENT,
                                   static_cast<size_t>(rest - body_.data()));
  }
  return Status::OK();
}

// ---- rows form ----

Status Decoder::DecodeRows(od::value v) {
  od::array rows;
  if (v.get_array().get(rows)) return Mismatch(JsonPath::Top("rows"), "an array", v);
  size_t r = 0;
  for (auto item : rows) {
    od::value row;
    if (auto e = std::move(item).get(row)) return Malformed(e);
    VIGIL_RETURN_IF_ERROR(DecodeRow(row, r));
    ++r;
  }
  return Status::OK();
}

Status Decoder::DecodeRow(od::value v, size_t r) {
  const JsonPath path = JsonPath::Element("rows", r);
  od::object obj;
  if (v.get_object().get(obj)) return Mismatch(path, "an object", v);
  bool has_step = false, has_time = false, has_values = false, has_labels = false;
  int64_t step = 0;
  int64_t time = now_ms_;
  pending_.clear();
  for (auto f : obj) {
    od::field field;
    if (auto e = std::move(f).get(field)) return Malformed(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Malformed(e);
    od::value fv = field.value();
    if (key == "step") {
      if (has_step) return DuplicateKey(path.Field("step"));
      has_step = true;
      if (!ReadStep(fv, &step)) return BadStep(path.Field("step"), fv);
    } else if (key == "time") {
      if (has_time) return DuplicateKey(path.Field("time"));
      has_time = true;
      if (!ReadTime(fv, &time)) return BadTime(path.Field("time"), fv);
    } else if (key == "values") {
      if (has_values) return DuplicateKey(path.Field("values"));
      has_values = true;
      VIGIL_RETURN_IF_ERROR(ReadRowValues(fv, path.Field("values")));
    } else if (key == "labels") {
      if (has_labels) return DuplicateKey(path.Field("labels"));
      has_labels = true;
      VIGIL_RETURN_IF_ERROR(ReadLabels(fv, path.Field("labels")));
    } else {
      return InvalidAt(path, fmt::format("unknown key {} (expected \"step\", \"time\", "
                                         "\"values\" or \"labels\")",
                                         QuoteForMessage(key)));
    }
  }
  if (!has_step) return InvalidAt(path, "missing \"step\"");
  if (!has_values) return InvalidAt(path, "missing \"values\"");
  if (!has_labels) labels_.clear();
  VIGIL_RETURN_IF_ERROR(ResolveLabels(path.Field("labels")));

  const JsonPath values_path = path.Field("values");
  for (size_t k = 0; k < pending_.size(); ++k) {
    const PendingValue& pv = pending_[k];
    uint32_t idx;
    if (k < row_cache_.size() && row_cache_[k].label_epoch == label_epoch_ &&
        row_cache_[k].metric == pv.metric) {
      idx = row_cache_[k].series;  // fast path: same metric and labels as the row before
    } else {
      bool created;
      VIGIL_ASSIGN_OR_RETURN(idx, FindOrAddSeries(pv.metric, values_path.Key(pv.metric), &created));
      if (k < row_cache_.size()) {
        row_cache_[k].metric.assign(pv.metric);
        row_cache_[k].series = idx;
        row_cache_[k].label_epoch = label_epoch_;
      } else {
        row_cache_.push_back({std::string(pv.metric), idx, label_epoch_});
      }
    }
    // Invariant: a series gets at most one point per row, so a repeated
    // metric (even spelled with different escapes) is caught here.
    if (last_row_[idx] == r + 1) return DuplicateKey(values_path.Key(pv.metric));
    last_row_[idx] = r + 1;
    SeriesColumns& s = batch_.series[idx];
    s.steps.push_back(step);
    s.times.push_back(time);
    s.values.push_back(pv.value);
  }
  points_ += pending_.size();
  return Status::OK();
}

Status Decoder::ReadRowValues(od::value v, const JsonPath& path) {
  od::object obj;
  if (v.get_object().get(obj)) {
    return Mismatch(path, "an object mapping metric names to values", v);
  }
  for (auto f : obj) {
    od::field field;
    if (auto e = std::move(f).get(field)) return Malformed(e);
    std::string_view metric;
    if (auto e = field.unescaped_key().get(metric)) return Malformed(e);
    od::value mv = field.value();
    double d;
    if (mv.get_double().get(d)) VIGIL_RETURN_IF_ERROR(ReadSpecialValue(mv, path.Key(metric), &d));
    pending_.push_back({metric, d});
    // Checked per value so that one enormous row fails early too.
    if (points_ + pending_.size() > limits_.max_points) return TooManyPoints(path.Key(metric));
  }
  if (pending_.empty()) return InvalidAt(path, "expected at least one value, got an empty object");
  return Status::OK();
}

// ---- series form ----

Status Decoder::DecodeSeries(od::value v) {
  od::array entries;
  if (v.get_array().get(entries)) return Mismatch(JsonPath::Top("series"), "an array", v);
  size_t i = 0;
  for (auto item : entries) {
    od::value entry;
    if (auto e = std::move(item).get(entry)) return Malformed(e);
    VIGIL_RETURN_IF_ERROR(DecodeSeriesEntry(entry, i));
    ++i;
  }
  return Status::OK();
}

Status Decoder::DecodeSeriesEntry(od::value v, size_t i) {
  const JsonPath path = JsonPath::Element("series", i);
  od::object obj;
  if (v.get_object().get(obj)) return Mismatch(path, "an object", v);
  bool has_metric = false, has_labels = false, has_steps = false, has_times = false,
       has_values = false;
  std::string_view metric;
  // The points are read into a fresh SeriesColumns, moved into the batch
  // when the series is new (the common case) and appended otherwise.
  SeriesColumns cols;
  for (auto f : obj) {
    od::field field;
    if (auto e = std::move(f).get(field)) return Malformed(e);
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Malformed(e);
    od::value fv = field.value();
    if (key == "metric") {
      if (has_metric) return DuplicateKey(path.Field("metric"));
      has_metric = true;
      if (fv.get_string().get(metric)) {
        return Mismatch(path.Field("metric"), "a string (the metric name)", fv);
      }
    } else if (key == "labels") {
      if (has_labels) return DuplicateKey(path.Field("labels"));
      has_labels = true;
      VIGIL_RETURN_IF_ERROR(ReadLabels(fv, path.Field("labels")));
    } else if (key == "steps") {
      if (has_steps) return DuplicateKey(path.Field("steps"));
      has_steps = true;
      VIGIL_RETURN_IF_ERROR(ReadColumn<Column::kSteps>(fv, path.Field("steps"), &cols.steps));
    } else if (key == "times") {
      if (has_times) return DuplicateKey(path.Field("times"));
      has_times = true;
      VIGIL_RETURN_IF_ERROR(ReadColumn<Column::kTimes>(fv, path.Field("times"), &cols.times));
    } else if (key == "values") {
      if (has_values) return DuplicateKey(path.Field("values"));
      has_values = true;
      VIGIL_RETURN_IF_ERROR(ReadColumn<Column::kValues>(fv, path.Field("values"), &cols.values));
    } else {
      return InvalidAt(path, fmt::format("unknown key {} (expected \"metric\", \"labels\", "
                                         "\"steps\", \"times\" or \"values\")",
                                         QuoteForMessage(key)));
    }
  }
  if (!has_metric) return InvalidAt(path, "missing \"metric\"");
  if (!has_steps) return InvalidAt(path, "missing \"steps\"");
  if (!has_values) return InvalidAt(path, "missing \"values\"");
  const size_t n = cols.steps.size();
  if (cols.values.size() != n) {
    return InvalidAt(path, fmt::format("{} steps but {} values", n, cols.values.size()));
  }
  if (!has_times) {
    cols.times.assign(n, now_ms_);
  } else if (cols.times.size() != n) {
    return InvalidAt(path, fmt::format("{} steps but {} times", n, cols.times.size()));
  }
  if (!has_labels) labels_.clear();
  VIGIL_RETURN_IF_ERROR(ResolveLabels(path.Field("labels")));
  bool created;
  VIGIL_ASSIGN_OR_RETURN(uint32_t idx, FindOrAddSeries(metric, path.Field("metric"), &created));
  SeriesColumns& s = batch_.series[idx];
  if (created) {
    s.steps = std::move(cols.steps);
    s.times = std::move(cols.times);
    s.values = std::move(cols.values);
  } else {
    s.steps.insert(s.steps.end(), cols.steps.begin(), cols.steps.end());
    s.times.insert(s.times.end(), cols.times.begin(), cols.times.end());
    s.values.insert(s.values.end(), cols.values.begin(), cols.values.end());
  }
  points_ += n;
  return Status::OK();
}

template <Column kColumn, typename T>
Status Decoder::ReadColumn(od::value v, const JsonPath& path, std::vector<T>* out) {
  od::array arr;
  if (v.get_array().get(arr)) return Mismatch(path, "an array", v);
  // The columns of an entry have the same length, and most entries of a
  // batch too: reserve what the previous column had (no count_elements(),
  // which walks the array once more and cost 15% of the decoding).
  out->reserve(column_hint_);
  // Invariant: points_ <= max_points. Checked per element so that a huge
  // array fails before it is read.
  const size_t room = limits_.max_points - points_;
  size_t j = 0;
  for (auto item : arr) {
    od::value x;
    if (auto e = std::move(item).get(x)) return Malformed(e);
    if (j >= room) return TooManyPoints(path);
    if constexpr (kColumn == Column::kValues) {
      double d;
      if (x.get_double().get(d)) VIGIL_RETURN_IF_ERROR(ReadSpecialValue(x, path.Item(j), &d));
      out->push_back(d);
    } else if constexpr (kColumn == Column::kSteps) {
      int64_t s;
      if (!ReadStep(x, &s)) return BadStep(path.Item(j), x);
      out->push_back(s);
    } else {
      int64_t t;
      if (!ReadTime(x, &t)) return BadTime(path.Item(j), x);
      out->push_back(t);
    }
    ++j;
  }
  if (j == 0) return InvalidAt(path, "expected at least one point, got an empty array");
  column_hint_ = j;
  return Status::OK();
}

// ---- labels and series ----

Status Decoder::ReadLabels(od::value v, const JsonPath& path) {
  labels_.clear();
  od::object obj;
  if (v.get_object().get(obj)) return Mismatch(path, "an object of strings", v);
  for (auto f : obj) {
    od::field field;
    if (auto e = std::move(f).get(field)) return Malformed(e);
    std::string_view name;
    if (auto e = field.unescaped_key().get(name)) return Malformed(e);
    if (labels_.size() == limits_.max_labels) {
      return InvalidAt(path,
                       fmt::format("more than {} labels (limit max_labels)", limits_.max_labels));
    }
    od::value lv = field.value();
    std::string_view value;
    if (lv.get_string().get(value)) return Mismatch(path.Key(name), "a string", lv);
    labels_.push_back({std::string(name), std::string(value)});
  }
  return Status::OK();
}

Status Decoder::ResolveLabels(const JsonPath& path) {
  SortLabels(&labels_);
  if (have_current_labels_ && labels_ == current_labels_) return Status::OK();
  for (size_t k = 0; k < labels_.size(); ++k) {
    const Label& l = labels_[k];
    const JsonPath at = path.Key(l.name);
    if (k > 0 && labels_[k - 1].name == l.name) return DuplicateKey(at);
    if (Status s = ValidateLabelName(l.name); !s.ok()) return Prefixed(at, s);
    if (IsReservedLabel(l.name)) {
      return InvalidAt(at, fmt::format("label name {} is reserved", QuoteForMessage(l.name)));
    }
    if (Status s = ValidateLabelValue(l.value); !s.ok()) return Prefixed(at, s);
  }
  current_labels_ = labels_;
  have_current_labels_ = true;
  ++label_epoch_;
  label_canon_.clear();
  for (const Label& l : current_labels_) {
    label_canon_.append(l.name).push_back('\0');
    label_canon_.append(l.value).push_back('\0');
  }
  return Status::OK();
}

Result<uint32_t> Decoder::FindOrAddSeries(std::string_view metric, const JsonPath& path,
                                          bool* created) {
  // Names and values never contain \0 (the grammar forbids control
  // characters), so this key is unique per (metric, labels).
  key_buf_.assign(metric);
  key_buf_.push_back('\0');
  key_buf_.append(label_canon_);
  if (auto it = index_.find(key_buf_); it != index_.end()) {
    *created = false;
    return it->second;
  }
  if (Status s = ValidateMetricName(metric); !s.ok()) return Prefixed(path, s);
  if (batch_.series.size() >= limits_.max_series) {
    return Status::ResourceExhausted(
        fmt::format("{}: the batch has more than {} series (limit max_series); split it",
                    path.ToString(), limits_.max_series));
  }
  const auto idx = static_cast<uint32_t>(batch_.series.size());
  index_.emplace(key_buf_, idx);
  SeriesColumns& s = batch_.series.emplace_back();
  s.key.run = batch_.run;
  s.key.metric = std::string(metric);
  s.key.labels = current_labels_;
  last_row_.push_back(0);
  *created = true;
  return idx;
}

Result<WriteBatch> DecodeWith(od::parser& parser, std::string* body, std::string_view run,
                              const IngestLimits& limits, int64_t now_ms) {
  od::document doc;
  if (auto e = parser.iterate(body->data(), body->size(), body->capacity()).get(doc)) {
    if (e == simdjson::EMPTY) {
      return Status::InvalidArgument("body is empty; expected a JSON object");
    }
    if (e == simdjson::CAPACITY) {
      return Status::ResourceExhausted(
          fmt::format("body is {} bytes, more than the JSON parser's limit", body->size()));
    }
    return internal::MalformedJson(e, internal::LocateStageOneError(e, *body));
  }
  Decoder decoder(*body, run, limits, now_ms);
  VIGIL_RETURN_IF_ERROR(decoder.Decode(doc));
  return decoder.TakeBatch();
}

}  // namespace

Result<WriteBatch> DecodeLogBatch(std::string* body, std::string_view run,
                                  const IngestLimits& limits, int64_t now_ms) {
  // simdjson reads up to SIMDJSON_PADDING bytes past the end (it never
  // interprets them); the capacity of the string provides them, grown only
  // when short, which copies the body once.
  if (body->capacity() - body->size() < simdjson::SIMDJSON_PADDING) {
    body->reserve(body->size() + simdjson::SIMDJSON_PADDING);
  }
  if (body->size() > kMaxRetainedParserBytes) {
    od::parser parser;
    return DecodeWith(parser, body, run, limits, now_ms);
  }
  thread_local od::parser parser;
  return DecodeWith(parser, body, run, limits, now_ms);
}

}  // namespace vigil::ingest
