#include "ingest/decode_errors.h"

#include <fmt/format.h>

#include "core/names.h"

namespace vigil::ingest::internal {
namespace {

namespace od = simdjson::ondemand;

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

size_t OffsetIn(std::string_view body, const char* p) {
  return static_cast<size_t>(p - body.data());
}

// Length of the UTF-8 sequence at s[i] if it is well formed (as
// IsValidUtf8 defines it), 0 otherwise.
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  size_t len;
  if ((c & 0xE0) == 0xC0) {
    len = 2;
  } else if ((c & 0xF0) == 0xE0) {
    len = 3;
  } else if ((c & 0xF8) == 0xF0) {
    len = 4;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  return IsValidUtf8(s.substr(i, len)) ? len : 0;
}

}  // namespace

std::string JsonPath::ToString() const {
  switch (kind) {
    case Kind::kBody:
      return "body";
    case Kind::kTop:
      return std::string(array);
    case Kind::kElement:
      return fmt::format("{}[{}]", array, index);
    case Kind::kField:
      return fmt::format("{}[{}].{}", array, index, field);
    case Kind::kKey:
      return fmt::format("{}[{}].{}[{}]", array, index, field, QuoteForMessage(key));
    case Kind::kItem:
      return fmt::format("{}[{}].{}[{}]", array, index, field, item);
  }
  return "?";
}

Status InvalidAt(const JsonPath& path, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", path.ToString(), what));
}

Status MalformedJson(simdjson::error_code error, std::optional<size_t> offset) {
  std::string_view text = simdjson::error_message(error);
  // Some of simdjson's texts end with a full stop, which reads badly before
  // " near byte N"; "etc." keeps its own.
  if (text.ends_with('.') && !text.ends_with("etc.")) text.remove_suffix(1);
  std::string m = fmt::format("body is not valid JSON: {}", text);
  if (offset) m += fmt::format(" near byte {}", *offset);
  return Status::InvalidArgument(std::move(m));
}

std::optional<size_t> LocateStageOneError(simdjson::error_code error, std::string_view body) {
  if (error == simdjson::UTF8_ERROR) {
    for (size_t i = 0; i < body.size();) {
      size_t len = Utf8SequenceLength(body, i);
      if (len == 0) return i;
      i += len;
    }
    return std::nullopt;
  }
  if (error != simdjson::UNESCAPED_CHARS && error != simdjson::UNCLOSED_STRING) {
    return std::nullopt;
  }
  bool in_string = false;
  size_t string_start = 0;
  for (size_t i = 0; i < body.size(); ++i) {
    auto c = static_cast<unsigned char>(body[i]);
    if (!in_string) {
      if (c == '"') {
        in_string = true;
        string_start = i;
      }
    } else if (c == '\\') {
      ++i;  // the escaped byte cannot end the string
    } else if (c == '"') {
      in_string = false;
    } else if (c < 0x20 && error == simdjson::UNESCAPED_CHARS) {
      return i;
    }
  }
  if (in_string && error == simdjson::UNCLOSED_STRING) return string_start;
  return std::nullopt;
}

bool IsJsonNumber(std::string_view t) {
  size_t i = 0;
  const size_t n = t.size();
  if (i < n && t[i] == '-') ++i;
  if (i >= n) return false;
  if (t[i] == '0') {
    ++i;
  } else if (IsDigit(t[i])) {
    while (i < n && IsDigit(t[i])) ++i;
  } else {
    return false;
  }
  if (i < n && t[i] == '.') {
    ++i;
    if (i >= n || !IsDigit(t[i])) return false;
    while (i < n && IsDigit(t[i])) ++i;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (i >= n || !IsDigit(t[i])) return false;
    while (i < n && IsDigit(t[i])) ++i;
  }
  return i == n;
}

std::string Excerpt(std::string_view token) {
  constexpr size_t kMax = 64;
  token = TrimRight(token);
  std::string out;
  for (size_t i = 0; i < token.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(token[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (token.size() > kMax) out += "...";
  return out;
}

Result<std::string> Describe(od::value v, std::string_view body) {
  const std::string_view raw = v.raw_json_token();
  const size_t offset = OffsetIn(body, raw.data());
  const std::string_view token = TrimRight(raw);
  od::json_type type;
  if (auto e = v.type().get(type)) return MalformedJson(e, offset);
  switch (type) {
    case od::json_type::object:
      return std::string("an object");
    case od::json_type::array:
      return std::string("an array");
    case od::json_type::string: {
      std::string_view s;
      if (auto e = v.get_string().get(s)) return MalformedJson(e, offset);
      return "the string " + QuoteForMessage(s);
    }
    case od::json_type::number:
      if (!IsJsonNumber(token)) return MalformedJson(simdjson::NUMBER_ERROR, offset);
      return Excerpt(token);
    case od::json_type::boolean:
      if (token != "true" && token != "false") {
        return MalformedJson(token[0] == 't' ? simdjson::T_ATOM_ERROR : simdjson::F_ATOM_ERROR,
                             offset);
      }
      return std::string(token);
    case od::json_type::null:
      if (token != "null") return MalformedJson(simdjson::N_ATOM_ERROR, offset);
      return std::string(token);
  }
  return MalformedJson(simdjson::TAPE_ERROR, offset);
}

Status Mismatch(const JsonPath& path, std::string_view expected, od::value v,
                std::string_view body) {
  Result<std::string> got = Describe(v, body);
  if (!got.ok()) return got.status();
  return InvalidAt(path, fmt::format("expected {}, got {}", expected, *got));
}

}  // namespace vigil::ingest::internal
