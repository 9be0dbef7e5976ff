#include "server/json_body.h"

#include <fmt/format.h>

#include "core/json_writer.h"

namespace vigil::server {

namespace dom = simdjson::dom;

Result<std::unique_ptr<JsonDocument>> JsonDocument::Parse(std::string_view text,
                                                          std::string_view what) {
  auto doc = std::make_unique<JsonDocument>();
  simdjson::padded_string padded(text);
  // The DOM parser keeps the parsed tape; `padded` may go away afterwards.
  auto err = doc->parser_.parse(padded).get(doc->root_);
  if (err) {
    return Status::InvalidArgument(
        fmt::format("{} is not valid JSON: {}", what, simdjson::error_message(err)));
  }
  return doc;
}

std::string_view JsonTypeName(dom::element e) {
  switch (e.type()) {
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

Result<dom::object> AsObject(dom::element e, std::string_view path) {
  dom::object obj;
  if (e.get_object().get(obj)) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an object, got {}", path, JsonTypeName(e)));
  }
  return obj;
}

Status CheckKeys(dom::object obj, std::initializer_list<std::string_view> allowed,
                 std::string_view path) {
  for (auto field : obj) {
    bool ok = false;
    for (std::string_view a : allowed) ok = ok || field.key == a;
    if (!ok) {
      std::string list;
      for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return Status::InvalidArgument(fmt::format("{}{}\"{}\": unknown field (expected one of {})",
                                                 path, path.empty() ? "" : ".", field.key, list));
    }
  }
  return Status::OK();
}

Result<std::optional<std::string>> OptionalString(dom::object obj, std::string_view key) {
  dom::element e;
  if (obj.at_key(key).get(e)) return std::optional<std::string>();
  std::string_view s;
  if (e.get_string().get(s)) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a string, got {}", key, JsonTypeName(e)));
  }
  return std::optional<std::string>(std::string(s));
}

Result<std::optional<int64_t>> OptionalInt(dom::object obj, std::string_view key) {
  dom::element e;
  if (obj.at_key(key).get(e)) return std::optional<int64_t>();
  int64_t v;
  if (e.get_int64().get(v)) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an integer, got {}", key, JsonTypeName(e)));
  }
  return std::optional<int64_t>(v);
}

Result<std::optional<std::vector<std::string>>> OptionalStringArray(dom::object obj,
                                                                    std::string_view key) {
  dom::element e;
  if (obj.at_key(key).get(e)) return std::optional<std::vector<std::string>>();
  dom::array arr;
  if (e.get_array().get(arr)) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an array of strings, got {}", key, JsonTypeName(e)));
  }
  std::vector<std::string> out;
  size_t i = 0;
  for (dom::element item : arr) {
    std::string_view s;
    if (item.get_string().get(s)) {
      return Status::InvalidArgument(
          fmt::format("{}[{}]: expected a string, got {}", key, i, JsonTypeName(item)));
    }
    out.emplace_back(s);
    ++i;
  }
  return std::optional<std::vector<std::string>>(std::move(out));
}

Result<std::optional<std::string>> OptionalObjectJson(dom::object obj, std::string_view key) {
  dom::element e;
  if (obj.at_key(key).get(e)) return std::optional<std::string>();
  if (e.type() != dom::element_type::OBJECT) {
    return Status::InvalidArgument(
        fmt::format("{}: expected an object, got {}", key, JsonTypeName(e)));
  }
  return std::optional<std::string>(ToJson(e));
}

std::string ToJson(dom::element e) {
  return simdjson::minify(e);
}

Result<std::string> MergeJsonObjects(std::string_view base, dom::object patch) {
  VIGIL_ASSIGN_OR_RETURN(auto doc, JsonDocument::Parse(base, "stored object"));
  VIGIL_ASSIGN_OR_RETURN(dom::object base_obj, AsObject(doc->root(), "stored object"));
  JsonWriter w;
  w.BeginObject();
  for (auto field : base_obj) {
    dom::element replacement;
    if (!patch.at_key(field.key).get(replacement)) continue;  // the patch decides
    w.Key(field.key).Raw(ToJson(field.value));
  }
  for (auto field : patch) {
    if (field.value.is_null()) continue;
    w.Key(field.key).Raw(ToJson(field.value));
  }
  w.EndObject();
  return w.Take();
}

}  // namespace vigil::server
