// Names, parameters and the factory of detector.h. The detectors themselves
// live one per file beside this one; detector_registry.h declares their
// constructors.
#include "analysis/detectors/detector.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdlib>

#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis {

namespace {

constexpr std::array<std::string_view, kFindingKindCount> kKindNames = {
    "non_finite", "spike",         "divergence", "plateau",   "grad_explosion", "throughput_drop",
    "gpu_idle",   "memory_growth", "throttling", "hw_error",  "threshold",      "absence",
    "stall",      "rank_hang",     "rank_lost",  "straggler", "rank_divergence"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool IsRunLevelKind(FindingKind kind) {
  return kind == FindingKind::kStall || kind == FindingKind::kRankHang ||
         kind == FindingKind::kRankLost || kind == FindingKind::kStraggler ||
         kind == FindingKind::kRankDivergence;
}

std::string_view FindingKindName(FindingKind kind) {
  size_t i = static_cast<size_t>(kind);
  return i < kKindNames.size() ? kKindNames[i] : "unknown";
}

std::optional<FindingKind> ParseFindingKind(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<FindingKind>(i);
  }
  return std::nullopt;
}

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kCritical:
      return "critical";
  }
  return "unknown";
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  if (name == "info") return Severity::kInfo;
  if (name == "warning") return Severity::kWarning;
  if (name == "critical") return Severity::kCritical;
  return std::nullopt;
}

DetectorParams::DetectorParams(std::initializer_list<std::pair<std::string, std::string>> kv) {
  for (const auto& [k, v] : kv) Set(k, v);
}

void DetectorParams::Set(std::string_view key, std::string_view value) {
  for (auto& [k, v] : items_) {
    if (k == key) {
      v = std::string(value);
      return;
    }
  }
  items_.emplace_back(std::string(key), std::string(value));
}

void DetectorParams::Set(std::string_view key, double value) {
  Set(key, std::string_view(fmt::format("{}", value)));
}

bool DetectorParams::Has(std::string_view key) const {
  return std::any_of(items_.begin(), items_.end(), [&](const auto& kv) { return kv.first == key; });
}

std::string DetectorParams::GetString(std::string_view key, std::string_view def) const {
  for (const auto& [k, v] : items_) {
    if (k == key) return v;
  }
  return std::string(def);
}

Result<double> DetectorParams::GetDouble(std::string_view key, double def) const {
  if (!Has(key)) return def;
  std::string s = GetString(key, "");
  char* end = nullptr;
  errno = 0;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || errno == ERANGE || std::isnan(v)) {
    return Status::InvalidArgument(fmt::format("parameter {}: \"{}\" is not a number", key, s));
  }
  return v;
}

Result<int64_t> DetectorParams::GetInt(std::string_view key, int64_t def) const {
  if (!Has(key)) return def;
  std::string s = GetString(key, "");
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) {
    // Accept integral doubles ("300.0", "1e3") as rules files may write them.
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !(std::fabs(d) < 9.2e18) ||
        d != static_cast<double>(static_cast<int64_t>(d))) {
      return Status::InvalidArgument(fmt::format("parameter {}: \"{}\" is not an integer", key, s));
    }
    v = static_cast<int64_t>(d);
  }
  return v;
}

Result<bool> DetectorParams::GetBool(std::string_view key, bool def) const {
  if (!Has(key)) return def;
  std::string s = GetString(key, "");
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return Status::InvalidArgument(fmt::format("parameter {}: \"{}\" is not a boolean", key, s));
}

std::string DetectorParams::ToString() const {
  auto sorted = items_;
  std::sort(sorted.begin(), sorted.end());
  std::string out;
  for (const auto& [k, v] : sorted) out += fmt::format("{}{}={}", out.empty() ? "" : ",", k, v);
  return out;
}

Result<DetectorParams> DetectorParams::Parse(std::string_view text) {
  DetectorParams p;
  text = Trim(text);
  if (text.empty()) return p;
  while (true) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return Status::InvalidArgument(fmt::format("parameters: \"{}\" is not key=value", item));
    }
    std::string_view k = Trim(item.substr(0, eq));
    std::string_view v = Trim(item.substr(eq + 1));
    if (k.empty()) return Status::InvalidArgument("parameters: empty key");
    if (p.Has(k)) return Status::InvalidArgument(fmt::format("parameters: {} given twice", k));
    p.Set(k, v);
    if (comma == std::string_view::npos) break;
    text = text.substr(comma + 1);
  }
  return p;
}

std::vector<std::string_view> DetectorNames() {
  std::vector<std::string_view> out;
  for (int i = 0; i < kFindingKindCount; ++i) {
    if (!IsRunLevelKind(static_cast<FindingKind>(i))) out.push_back(kKindNames[i]);
  }
  return out;
}

Result<std::unique_ptr<Detector>> MakeDetector(std::string_view name, const DetectorParams& params,
                                               std::string_view series_name) {
  std::optional<FindingKind> kind = ParseFindingKind(name);
  Result<std::unique_ptr<Detector>> r = Status::InvalidArgument(
      fmt::format("unknown detector \"{}\" (known: {})", name, fmt::join(DetectorNames(), ", ")));
  if (!kind) return r;
  switch (*kind) {
    case FindingKind::kNonFinite:
      r = internal::MakeNonFinite(params, series_name);
      break;
    case FindingKind::kSpike:
      r = internal::MakeSpike(params, series_name);
      break;
    case FindingKind::kDivergence:
      r = internal::MakeDivergence(params, series_name);
      break;
    case FindingKind::kPlateau:
      r = internal::MakePlateau(params, series_name);
      break;
    case FindingKind::kGradExplosion:
      r = internal::MakeGradExplosion(params, series_name);
      break;
    case FindingKind::kThroughputDrop:
      r = internal::MakeThroughputDrop(params, series_name);
      break;
    case FindingKind::kGpuIdle:
      r = internal::MakeGpuIdle(params, series_name);
      break;
    case FindingKind::kMemoryGrowth:
      r = internal::MakeMemoryGrowth(params, series_name);
      break;
    case FindingKind::kThrottling:
      r = internal::MakeThrottling(params, series_name);
      break;
    case FindingKind::kHwError:
      r = internal::MakeHwError(params, series_name);
      break;
    case FindingKind::kThreshold:
      r = internal::MakeThreshold(params, series_name);
      break;
    case FindingKind::kAbsence:
      r = internal::MakeAbsence(params, series_name);
      break;
    case FindingKind::kStall:
      return Status::InvalidArgument(
          "detector stall is per run, not per series: use ActivityTracker and CheckStall");
    case FindingKind::kRankHang:
    case FindingKind::kRankLost:
    case FindingKind::kStraggler:
    case FindingKind::kRankDivergence:
      return Status::InvalidArgument(fmt::format(
          "detector {} is per distributed job, not per series: see the rules' [distributed] "
          "section",
          name));
  }
  if (!r.ok()) return r.status().WithContext(fmt::format("detector {}", name));
  return r;
}

}  // namespace vigil::analysis
