#include "core/duration.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace vigil {

Result<int64_t> ParseDurationMillis(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "duration \"{}\" is not a whole number with a unit of ms, s, m, h, d or w", text));
  };
  if (text.empty()) return bad();
  int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || n < 0) return bad();
  std::string_view unit(p, text.data() + text.size() - p);
  int64_t scale;
  if (unit.empty() || unit == "s") {
    scale = 1000;
  } else if (unit == "ms") {
    scale = 1;
  } else if (unit == "m") {
    scale = 60'000;
  } else if (unit == "h") {
    scale = 3'600'000;
  } else if (unit == "d") {
    scale = 86'400'000;
  } else if (unit == "w") {
    scale = 604'800'000;
  } else {
    return bad();
  }
  if (n > std::numeric_limits<int64_t>::max() / scale) {
    return Status::InvalidArgument(fmt::format("duration \"{}\" is too long", text));
  }
  return n * scale;
}

std::string FormatDurationMillis(int64_t ms) {
  struct Unit {
    int64_t scale;
    const char* name;
  };
  for (Unit u : {Unit{604'800'000, "w"}, Unit{86'400'000, "d"}, Unit{3'600'000, "h"},
                 Unit{60'000, "m"}, Unit{1000, "s"}}) {
    if (ms != 0 && ms % u.scale == 0) return fmt::format("{}{}", ms / u.scale, u.name);
  }
  return fmt::format("{}ms", ms);
}

}  // namespace vigil
