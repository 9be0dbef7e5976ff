// JsonWriter: appends compact JSON to a string. The one way vigil writes
// JSON (HTTP answers, stored config, WAL-free metadata); parsing is done with
// simdjson where it is hot and in json_value.h elsewhere.
//
// Doubles are written in the shortest form that reads back bit-exact; the
// non-finite ones, which JSON lacks, as the strings "NaN", "Infinity" and
// "-Infinity" (the API's documented convention). Not thread-safe.
//
// The writer inserts commas itself: call Key() before each value in an
// object, and nothing between array elements.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

class JsonWriter {
 public:
  JsonWriter() = default;
  explicit JsonWriter(std::string* out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  JsonWriter& Key(std::string_view key);
  JsonWriter& String(std::string_view s);
  JsonWriter& Int(int64_t v);
  JsonWriter& Uint(uint64_t v);
  JsonWriter& Double(double v);
  JsonWriter& Bool(bool v);
  JsonWriter& Null();
  // The number when `v` holds a finite one, else null.
  JsonWriter& OptionalDouble(const std::optional<double>& v);
  // Inserts already-valid JSON text as one value (e.g. a stored config).
  JsonWriter& Raw(std::string_view json);

  // Shorthands for a key followed by a value.
  JsonWriter& Field(std::string_view key, std::string_view v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, const char* v) { return Key(key).String(v); }
  JsonWriter& Field(std::string_view key, int64_t v) { return Key(key).Int(v); }
  JsonWriter& Field(std::string_view key, int v) { return Key(key).Int(v); }
  JsonWriter& Field(std::string_view key, uint64_t v) { return Key(key).Uint(v); }
  JsonWriter& FieldDouble(std::string_view key, double v) { return Key(key).Double(v); }
  JsonWriter& FieldBool(std::string_view key, bool v) { return Key(key).Bool(v); }
  JsonWriter& FieldOptionalDouble(std::string_view key, const std::optional<double>& v) {
    return Key(key).OptionalDouble(v);
  }

  const std::string& str() const { return *out_; }
  std::string Take() { return std::move(*out_); }

 private:
  void BeforeValue();

  std::string own_;
  std::string* out_ = &own_;
  // One entry per open container: whether it already holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

// Appends `s` as a JSON string literal (quotes included) to `out`.
void AppendJsonString(std::string* out, std::string_view s);
// Appends a double per the convention above.
void AppendJsonDouble(std::string* out, double v);

}  // namespace vigil
