// Parsing of the small JSON documents that the run endpoints take (create,
// patch) with simdjson's DOM, and typed field access whose errors name the
// offending field: `config: expected an object, got an array`. The hot log
// endpoint has its own streaming decoder (ingest/batch_decoder.h).
//
// Thread-safety: a JsonDocument is used by one thread.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "core/result.h"

namespace vigil::server {

class JsonDocument {
 public:
  // InvalidArgument("<what> is not valid JSON: ...") on a syntax error.
  static Result<std::unique_ptr<JsonDocument>> Parse(std::string_view text,
                                                     std::string_view what = "body");
  simdjson::dom::element root() const { return root_; }

 private:
  simdjson::dom::parser parser_;
  simdjson::dom::element root_;
};

// "object", "array", "string", "number", "boolean", "null".
std::string_view JsonTypeName(simdjson::dom::element e);

Result<simdjson::dom::object> AsObject(simdjson::dom::element e, std::string_view path);
// InvalidArgument naming the first key of `obj` not in `allowed`.
Status CheckKeys(simdjson::dom::object obj, std::initializer_list<std::string_view> allowed,
                 std::string_view path);

// Each returns nullopt when the key is absent (JSON null counts as absent
// only where the comment says so) and InvalidArgument when it has the wrong
// type.
Result<std::optional<std::string>> OptionalString(simdjson::dom::object obj, std::string_view key);
Result<std::optional<int64_t>> OptionalInt(simdjson::dom::object obj, std::string_view key);
Result<std::optional<std::vector<std::string>>> OptionalStringArray(simdjson::dom::object obj,
                                                                    std::string_view key);
// The value as compact JSON text, if it is an object.
Result<std::optional<std::string>> OptionalObjectJson(simdjson::dom::object obj,
                                                      std::string_view key);

// Compact JSON text of an element.
std::string ToJson(simdjson::dom::element e);

// `base` (a JSON object's text) with the keys of `patch` (an object) set;
// a key whose patch value is null is removed. Keys keep base's order, new
// keys follow in patch order.
Result<std::string> MergeJsonObjects(std::string_view base, simdjson::dom::object patch);

}  // namespace vigil::server
