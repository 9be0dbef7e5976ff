#include "storage/metadata/json_string_array.h"

#include <cstdint>

#include <fmt/format.h>

#include "core/json_writer.h"

namespace vigil::storage {
namespace {

// A cursor over the text; every method leaves pos_ on the first byte it did
// not consume.
class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Result<std::vector<std::string>> Array() {
    std::vector<std::string> out;
    SkipSpace();
    if (!Consume('[')) return Fail("expected '['");
    SkipSpace();
    if (Consume(']')) return Finish(std::move(out));
    for (;;) {
      SkipSpace();
      std::string item;
      VIGIL_RETURN_IF_ERROR(String(&item));
      out.push_back(std::move(item));
      SkipSpace();
      if (Consume(']')) return Finish(std::move(out));
      if (!Consume(',')) return Fail("expected ',' or ']'");
    }
  }

 private:
  Result<std::vector<std::string>> Finish(std::vector<std::string> out) {
    SkipSpace();
    if (pos_ != s_.size()) return Fail("unexpected text after the array");
    return out;
  }

  Status String(std::string* out) {
    if (!Consume('"')) return Fail("expected a string");
    for (;;) {
      if (pos_ >= s_.size()) return Fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return Status::OK();
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        return Fail("control character in a string");
      }
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return Fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out->push_back('"');
          break;
        case '\\':
          out->push_back('\\');
          break;
        case '/':
          out->push_back('/');
          break;
        case 'b':
          out->push_back('\b');
          break;
        case 'f':
          out->push_back('\f');
          break;
        case 'n':
          out->push_back('\n');
          break;
        case 'r':
          out->push_back('\r');
          break;
        case 't':
          out->push_back('\t');
          break;
        case 'u':
          VIGIL_RETURN_IF_ERROR(UnicodeEscape(out));
          break;
        default:
          --pos_;
          return Fail("unknown escape");
      }
    }
  }

  // After "\u": four hex digits, and for a high surrogate the "\uXXXX" of
  // its low surrogate; appends the code point as UTF-8.
  Status UnicodeEscape(std::string* out) {
    uint32_t cp;
    VIGIL_RETURN_IF_ERROR(Hex4(&cp));
    if (cp >= 0xDC00 && cp <= 0xDFFF) return Fail("lone low surrogate");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      uint32_t lo;
      if (!Consume('\\') || !Consume('u')) return Fail("high surrogate without its pair");
      VIGIL_RETURN_IF_ERROR(Hex4(&lo));
      if (lo < 0xDC00 || lo > 0xDFFF) return Fail("high surrogate without its pair");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
    return Status::OK();
  }

  Status Hex4(uint32_t* v) {
    *v = 0;
    for (int i = 0; i < 4; ++i) {
      if (pos_ >= s_.size()) return Fail("truncated \\u escape");
      char c = s_[pos_];
      uint32_t d;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Fail("bad hex digit in \\u escape");
      }
      *v = *v * 16 + d;
      ++pos_;
    }
    return Status::OK();
  }

  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool Consume(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  Status Fail(std::string_view what) const {
    return Status::InvalidArgument(
        fmt::format("not a JSON array of strings: {} at offset {}", what, pos_));
  }

  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

std::string EncodeJsonStringArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.push_back(',');
    AppendJsonString(&out, items[i]);
  }
  out.push_back(']');
  return out;
}

Result<std::vector<std::string>> DecodeJsonStringArray(std::string_view json) {
  return Parser(json).Array();
}

}  // namespace vigil::storage
