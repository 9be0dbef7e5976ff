#include "core/json_string.h"

#include <cstdint>

namespace vigil {
namespace {

void AppendUtf8(uint32_t cp, std::string* out) {
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
}

Status Hex4(std::string_view in, size_t* pos, uint32_t* v) {
  *v = 0;
  for (int i = 0; i < 4; ++i) {
    if (*pos >= in.size()) return Status::InvalidArgument("truncated \\u escape");
    char c = in[*pos];
    uint32_t d;
    if (c >= '0' && c <= '9') {
      d = static_cast<uint32_t>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<uint32_t>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<uint32_t>(c - 'A' + 10);
    } else {
      return Status::InvalidArgument("bad hex digit in \\u escape");
    }
    *v = *v * 16 + d;
    ++*pos;
  }
  return Status::OK();
}

}  // namespace

Status DecodeJsonStringBody(std::string_view in, size_t* pos, std::string* out) {
  size_t& p = *pos;
  for (;;) {
    if (p >= in.size()) return Status::InvalidArgument("unterminated string");
    char c = in[p++];
    if (c == '"') return Status::OK();
    if (static_cast<unsigned char>(c) < 0x20) {
      --p;
      return Status::InvalidArgument("control character in a string");
    }
    if (c != '\\') {
      out->push_back(c);
      continue;
    }
    if (p >= in.size()) return Status::InvalidArgument("unterminated escape");
    char e = in[p++];
    switch (e) {
      case '"':
      case '\\':
      case '/':
        out->push_back(e);
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
      case 'u': {
        uint32_t cp;
        VIGIL_RETURN_IF_ERROR(Hex4(in, pos, &cp));
        if (cp >= 0xDC00 && cp <= 0xDFFF) return Status::InvalidArgument("lone low surrogate");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          uint32_t lo;
          if (in.substr(p, 2) != "\\u") {
            return Status::InvalidArgument("high surrogate without its pair");
          }
          p += 2;
          VIGIL_RETURN_IF_ERROR(Hex4(in, pos, &lo));
          if (lo < 0xDC00 || lo > 0xDFFF) {
            return Status::InvalidArgument("high surrogate without its pair");
          }
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        }
        AppendUtf8(cp, out);
        break;
      }
      default:
        --p;
        return Status::InvalidArgument("unknown escape");
    }
  }
}

}  // namespace vigil
