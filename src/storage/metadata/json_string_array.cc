#include "storage/metadata/json_string_array.h"

#include <cstdint>

#include <fmt/format.h>

#include "core/json_string.h"

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
    Status st = DecodeJsonStringBody(s_, &pos_, out);
    return st.ok() ? st : Fail(st.message());
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
