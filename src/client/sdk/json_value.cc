// A recursive-descent JSON parser (RFC 8259): strict about syntax, lenient
// about nothing. Strings are unescaped to UTF-8, surrogate pairs combined.
#include "client/sdk/json_value.h"

#include <cstdlib>

#include <fmt/format.h>

#include "core/json_string.h"

namespace vigil::client {
namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<JsonValue> Document() {
    JsonValue v;
    SkipSpace();
    VIGIL_RETURN_IF_ERROR(Value(&v, 0));
    SkipSpace();
    if (pos_ != s_.size()) return Error("unexpected text after the value");
    return v;
  }

 private:
  Status Error(std::string_view what) const {
    return Status::InvalidArgument(fmt::format("invalid JSON at byte {}: {}", pos_, what));
  }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  Status Value(JsonValue* v, int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    if (pos_ >= s_.size()) return Error("unexpected end");
    size_t start = pos_;
    Status st;
    char c = s_[pos_];
    if (c == '{') {
      st = Object(v, depth);
    } else if (c == '[') {
      st = Array(v, depth);
    } else if (c == '"') {
      v->kind = JsonValue::Kind::kString;
      st = String(&v->string);
    } else if (Literal("true")) {
      v->kind = JsonValue::Kind::kBool;
      v->boolean = true;
    } else if (Literal("false")) {
      v->kind = JsonValue::Kind::kBool;
    } else if (Literal("null")) {
      v->kind = JsonValue::Kind::kNull;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      st = Number(v);
    } else {
      return Error("expected a value");
    }
    VIGIL_RETURN_IF_ERROR(st);
    v->raw.assign(s_.substr(start, pos_ - start));
    return Status::OK();
  }

  Status Object(JsonValue* v, int depth) {
    v->kind = JsonValue::Kind::kObject;
    ++pos_;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return Status::OK();
    }
    while (true) {
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != '"') return Error("expected a member name");
      JsonMember m;
      VIGIL_RETURN_IF_ERROR(String(&m.key));
      SkipSpace();
      if (pos_ >= s_.size() || s_[pos_] != ':') return Error("expected ':'");
      ++pos_;
      SkipSpace();
      VIGIL_RETURN_IF_ERROR(Value(&m.value, depth + 1));
      v->members.push_back(std::move(m));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return Status::OK();
      }
      return Error("expected ',' or '}'");
    }
  }

  Status Array(JsonValue* v, int depth) {
    v->kind = JsonValue::Kind::kArray;
    ++pos_;
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return Status::OK();
    }
    while (true) {
      SkipSpace();
      v->items.emplace_back();
      VIGIL_RETURN_IF_ERROR(Value(&v->items.back(), depth + 1));
      SkipSpace();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return Status::OK();
      }
      return Error("expected ',' or ']'");
    }
  }

  Status Number(JsonValue* v) {
    size_t start = pos_;
    auto digits = [&] {
      size_t n = 0;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_, ++n;
      return n;
    };
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
    } else if (digits() == 0) {
      return Error("expected a digit");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return Error("expected a digit after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return Error("expected a digit in the exponent");
    }
    std::string text(s_.substr(start, pos_ - start));
    v->kind = JsonValue::Kind::kNumber;
    v->number = std::strtod(text.c_str(), nullptr);
    return Status::OK();
  }

  Status String(std::string* out) {
    ++pos_;  // the opening quote
    Status st = DecodeJsonStringBody(s_, &pos_, out);
    return st.ok() ? st : Error(st.message());
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::Find(std::string_view key) const {
  const JsonValue* found = nullptr;
  for (const auto& [k, v] : members) {
    if (k == key) found = &v;
  }
  return found;
}

std::optional<std::string> JsonValue::GetString(std::string_view key) const {
  const JsonValue* v = Find(key);
  if (!v || v->kind != Kind::kString) return std::nullopt;
  return v->string;
}

std::optional<double> JsonValue::GetNumber(std::string_view key) const {
  const JsonValue* v = Find(key);
  if (!v || v->kind != Kind::kNumber) return std::nullopt;
  return v->number;
}

Result<JsonValue> ParseJson(std::string_view text) {
  return Parser(text).Document();
}

}  // namespace vigil::client
