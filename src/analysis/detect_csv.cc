#include "analysis/detect_csv.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <memory>

namespace vigil::analysis {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> out;
  while (true) {
    size_t c = line.find(',');
    out.push_back(Trim(line.substr(0, c)));
    if (c == std::string_view::npos) break;
    line = line.substr(c + 1);
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ParseNumber(std::string_view s, double* out) {
  if (s.empty()) return false;
  std::string str(s);
  char* end = nullptr;
  double v = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size()) return false;
  *out = v;
  return true;
}

bool ParseValue(std::string_view s, double* out) {
  std::string l = Lower(s);
  if (l.empty() || l == "nan" || l == "null") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (l == "inf" || l == "+inf" || l == "infinity") {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (l == "-inf" || l == "-infinity") {
    *out = -std::numeric_limits<double>::infinity();
    return true;
  }
  return ParseNumber(s, out);
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// YYYY-MM-DD[T ]HH:MM:SS[.fff][Z|+00:00] as Unix milliseconds (UTC only).
bool ParseIso(std::string_view s, int64_t* ms) {
  auto digits = [&](size_t pos, size_t n, int64_t* v) {
    if (pos + n > s.size()) return false;
    *v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      *v = *v * 10 + (s[i] - '0');
    }
    return true;
  };
  int64_t y, mo, d, h, mi, se;
  if (!digits(0, 4, &y) || s.size() < 19 || s[4] != '-' || !digits(5, 2, &mo) || s[7] != '-' ||
      !digits(8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || !digits(11, 2, &h) || s[13] != ':' ||
      !digits(14, 2, &mi) || s[16] != ':' || !digits(17, 2, &se)) {
    return false;
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return false;
  size_t pos = 19;
  int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int64_t scale = 100;
    size_t start = pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      frac_ms += (s[pos] - '0') * scale;
      scale /= 10;
      ++pos;
    }
    if (pos == start) return false;
  }
  std::string_view tz = s.substr(pos);
  if (!(tz.empty() || tz == "Z" || tz == "+00:00")) return false;
  *ms = ((DaysFromCivil(y, mo, d) * 24 + h) * 60 + mi) * 60'000 + se * 1000 + frac_ms;
  return true;
}

enum class Axis { kStep, kTime };

struct Layout {
  bool header = false;
  Axis axis = Axis::kStep;
  size_t x_col = 0;
  size_t v_col = 1;
};

}  // namespace

Result<DetectCsvResult> DetectCsv(std::string_view input, const DetectCsvOptions& options) {
  // Which detectors.
  std::vector<DetectorSpec> specs;
  if (options.detector == "auto") {
    for (auto& s : DetectorsForMetric(options.metric, {})) {
      if (s.enabled) specs.push_back(std::move(s));
    }
    if (specs.size() == 1) specs.push_back({"spike", {}, true});
  } else {
    if (options.detector != "non_finite") specs.push_back({"non_finite", {}, true});
    specs.push_back({options.detector, options.params, true});
  }
  DetectCsvResult result;
  std::vector<std::unique_ptr<Detector>> detectors;
  for (const auto& s : specs) {
    auto d = MakeDetector(s.detector, s.params, options.metric);
    if (!d.ok()) return d.status();
    result.detectors.push_back(s.detector);
    detectors.push_back(std::move(*d));
  }

  // Lines (kept with their \r, if any, for the output).
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < input.size();) {
    size_t nl = input.find('\n', start);
    if (nl == std::string_view::npos) nl = input.size();
    lines.push_back(input.substr(start, nl - start));
    start = nl + 1;
  }

  Layout layout;
  size_t first_data = 0;
  // Header: the first non-blank line whose first field is not a number.
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view l = lines[i];
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (Trim(l).empty()) continue;
    std::vector<std::string_view> f = Split(l);
    double dummy;
    int64_t ms;
    if (!ParseNumber(f[0], &dummy) && !ParseIso(f[0], &ms)) {
      layout.header = true;
      first_data = i + 1;
      bool found_x = false, found_v = false;
      for (size_t c = 0; c < f.size(); ++c) {
        std::string name = Lower(f[c]);
        if (!found_x && (name == "step" || name == "x" || name == "iteration")) {
          layout.x_col = c, layout.axis = Axis::kStep, found_x = true;
        } else if (!found_x && (name == "timestamp" || name == "time" || name == "ts" ||
                                name == "time_ms" || name == "date")) {
          layout.x_col = c, layout.axis = Axis::kTime, found_x = true;
        } else if (!found_v && name == "value") {
          layout.v_col = c, found_v = true;
        }
      }
      if (!found_x) layout.x_col = 0;
      if (!found_v) layout.v_col = layout.x_col == 0 ? 1 : 0;
      if (f.size() < 2) {
        return Status::InvalidArgument(fmt::format("line {}: need two columns", i + 1));
      }
    }
    break;
  }
  // Without a header: a time axis when the first value is not an integer
  // step (ISO text, a fraction, or an epoch in seconds/ms).
  bool axis_decided = layout.header;

  std::string& out = result.csv;
  out.reserve(input.size() + lines.size() * 8);
  int64_t row = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view raw = lines[i];
    bool cr = !raw.empty() && raw.back() == '\r';
    std::string_view l = cr ? raw.substr(0, raw.size() - 1) : raw;
    bool last_unterminated = i + 1 == lines.size() && input.back() != '\n';
    auto emit = [&](std::string_view suffix) {
      out.append(l);
      out.append(suffix);
      if (cr) out.push_back('\r');
      if (!last_unterminated) out.push_back('\n');
    };
    if (layout.header && i + 1 == first_data) {
      emit(",score,flag");
      continue;
    }
    if (Trim(l).empty()) {
      emit("");
      continue;
    }
    std::vector<std::string_view> f = Split(l);
    if (f.size() <= std::max(layout.x_col, layout.v_col)) {
      return Status::InvalidArgument(fmt::format("line {}: expected at least {} columns", i + 1,
                                                 std::max(layout.x_col, layout.v_col) + 1));
    }
    std::string_view xs = f[layout.x_col];
    double x = 0;
    int64_t iso_ms = 0;
    bool iso = ParseIso(xs, &iso_ms);
    if (!iso && !ParseNumber(xs, &x)) {
      return Status::InvalidArgument(
          fmt::format("line {}: \"{}\" is not a step or a timestamp", i + 1, xs));
    }
    if (!axis_decided) {
      layout.axis = !iso && x == std::floor(x) && std::fabs(x) < 1e9 ? Axis::kStep : Axis::kTime;
      axis_decided = true;
    }
    Point p;
    if (layout.axis == Axis::kStep) {
      if (iso || x != std::floor(x) || !(std::fabs(x) < 9e15)) {
        return Status::InvalidArgument(
            fmt::format("line {}: step \"{}\" is not an integer", i + 1, xs));
      }
      p.step = static_cast<int64_t>(x);
      p.time_ms = p.step * 1000;  // one second per step, for the time-based detectors
    } else {
      p.step = row;
      if (iso) {
        p.time_ms = iso_ms;
      } else if (!std::isfinite(x)) {
        return Status::InvalidArgument(fmt::format("line {}: bad timestamp \"{}\"", i + 1, xs));
      } else {
        p.time_ms = static_cast<int64_t>(std::fabs(x) >= 1e11 ? x : x * 1000);
      }
    }
    if (!ParseValue(f[layout.v_col], &p.value)) {
      return Status::InvalidArgument(
          fmt::format("line {}: \"{}\" is not a number", i + 1, f[layout.v_col]));
    }
    double score = 0;
    bool flag = false;
    for (auto& d : detectors) {
      if (auto finding = d->Observe(p)) result.findings.push_back(std::move(*finding));
      score = std::max(score, d->last_score());
      flag = flag || d->active();
    }
    ++row;
    emit(fmt::format(",{:.4f},{}", score, flag ? 1 : 0));
  }
  result.rows = static_cast<size_t>(row);
  return result;
}

}  // namespace vigil::analysis
