#include "core/names.h"

#include <fmt/format.h>

namespace vigil {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsAlpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

Status CheckLength(std::string_view what, std::string_view s, size_t max) {
  if (s.empty()) return Status::InvalidArgument(fmt::format("{} is empty", what));
  if (s.size() > max) {
    return Status::InvalidArgument(fmt::format("{} {} is {} bytes, more than the limit of {}", what,
                                               QuoteForMessage(s), s.size(), max));
  }
  return Status::OK();
}

Status BadChar(std::string_view what, std::string_view s, size_t i, std::string_view rule) {
  return Status::InvalidArgument(fmt::format("{} {} has an invalid character at byte {}: {}", what,
                                             QuoteForMessage(s), i, rule));
}

Status CheckText(std::string_view what, std::string_view s, size_t max) {
  VIGIL_RETURN_IF_ERROR(CheckLength(what, s, max));
  if (!IsValidUtf8(s)) {
    return Status::InvalidArgument(fmt::format("{} is not valid UTF-8", what));
  }
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return BadChar(what, s, i, "control characters are not allowed");
  }
  return Status::OK();
}

}  // namespace

std::string QuoteForMessage(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out.append(fmt::format("\\x{:02x}", c));
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (s.size() > kMax) out.append("...");
  out.push_back('"');
  return out;
}

Status ValidateProjectName(std::string_view name) {
  VIGIL_RETURN_IF_ERROR(CheckLength("project name", name, kMaxProjectBytes));
  constexpr std::string_view kRule =
      "use letters, digits, '_', '.' and '-', starting with a letter or digit";
  if (!IsAlnum(name[0])) return BadChar("project name", name, 0, kRule);
  for (size_t i = 1; i < name.size(); ++i) {
    char c = name[i];
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-')
      return BadChar("project name", name, i, kRule);
  }
  return Status::OK();
}

Status ValidateRunId(std::string_view id) {
  VIGIL_RETURN_IF_ERROR(CheckLength("run id", id, kMaxRunIdBytes));
  constexpr std::string_view kRule =
      "use letters, digits, '_' and '-', starting with a letter or digit";
  if (!IsAlnum(id[0])) return BadChar("run id", id, 0, kRule);
  for (size_t i = 1; i < id.size(); ++i) {
    char c = id[i];
    if (!IsAlnum(c) && c != '_' && c != '-') return BadChar("run id", id, i, kRule);
  }
  return Status::OK();
}

Status ValidateMetricName(std::string_view name) {
  VIGIL_RETURN_IF_ERROR(CheckLength("metric name", name, kMaxMetricBytes));
  constexpr std::string_view kRule =
      "use letters, digits and _ . / : @ -, starting with a letter or '_'";
  if (!IsAlpha(name[0]) && name[0] != '_') return BadChar("metric name", name, 0, kRule);
  for (size_t i = 1; i < name.size(); ++i) {
    char c = name[i];
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '/' && c != ':' && c != '@' && c != '-') {
      return BadChar("metric name", name, i, kRule);
    }
  }
  if (name.back() == '/') {
    return Status::InvalidArgument(
        fmt::format("metric name {} ends with '/'", QuoteForMessage(name)));
  }
  return Status::OK();
}

Status ValidateLabelName(std::string_view name) {
  VIGIL_RETURN_IF_ERROR(CheckLength("label name", name, kMaxLabelNameBytes));
  constexpr std::string_view kRule = "use letters, digits and '_', starting with a letter or '_'";
  if (!IsAlpha(name[0]) && name[0] != '_') return BadChar("label name", name, 0, kRule);
  for (size_t i = 1; i < name.size(); ++i) {
    if (!IsAlnum(name[i]) && name[i] != '_') return BadChar("label name", name, i, kRule);
  }
  if (name.starts_with("__")) {
    return Status::InvalidArgument(
        fmt::format("label name {} starts with \"__\", which is reserved", QuoteForMessage(name)));
  }
  return Status::OK();
}

Status ValidateLabelValue(std::string_view value) {
  return CheckText("label value", value, kMaxLabelValueBytes);
}

Status ValidateTag(std::string_view tag) {
  return CheckText("tag", tag, kMaxTagBytes);
}

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates, and code points past U+10FFFF.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000)) {
      return false;
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace vigil
