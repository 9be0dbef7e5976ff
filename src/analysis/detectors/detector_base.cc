#include "analysis/detectors/detector_base.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>

#include "analysis/detectors/detector_state_format.h"
#include "core/crc32c.h"

namespace vigil::analysis::internal {

std::string FormatStep(int64_t step) {
  std::string digits = fmt::format("{}", step < 0 ? -(step + 1) + uint64_t{1} : uint64_t(step));
  std::string out;
  int n = static_cast<int>(digits.size());
  for (int i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return step < 0 ? "-" + out : out;
}

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{:.4g}", v);
}

std::string FormatRatio(double r) {
  if (!std::isfinite(r)) return "∞×";
  if (r >= 100) return fmt::format("{:.3g}×", r);
  if (r >= 10) return fmt::format("{:.0f}×", r);
  return fmt::format("{:.2g}×", r);
}

std::string FormatBytes(double b) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  double x = std::fabs(b);
  while (x >= 1024 && u < 5) {
    x /= 1024;
    ++u;
  }
  return fmt::format("{}{:.3g} {}", b < 0 ? "-" : "", x, kUnits[u]);
}

std::string FormatSeconds(double s) {
  if (!std::isfinite(s)) return "never";
  if (s < 10) return fmt::format("{:.2g} s", s);
  if (s < 90) return fmt::format("{:.0f} s", s);
  if (s < 90 * 60) return fmt::format("{:.0f} min", s / 60);
  if (s < 48 * 3600) return fmt::format("{:.2g} h", s / 3600);
  return fmt::format("{:.2g} d", s / 86400);
}

double ScoreFromRatio(double x) {
  if (!(x > 0)) return 0;  // also NaN
  if (!std::isfinite(x)) return 1;
  // x / (1 + x): 0.5 at the threshold, 0.9 at 9× it, continuous and monotone.
  return std::clamp(x / (1 + x), 0.0, 1.0);
}

void StateWriter::U32(uint32_t v) {
  for (int i = 0; i < 4; ++i) s_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void StateWriter::I64(int64_t v) {
  uint64_t u = static_cast<uint64_t>(v);
  for (int i = 0; i < 8; ++i) s_.push_back(static_cast<char>((u >> (8 * i)) & 0xff));
}
void StateWriter::F64(double v) {
  I64(static_cast<int64_t>(std::bit_cast<uint64_t>(v)));
}
void StateWriter::Doubles(const std::vector<double>& v) {
  U32(static_cast<uint32_t>(v.size()));
  for (double d : v) F64(d);
}

bool StateReader::Take(size_t n, const char** p) {
  if (!ok_ || b_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  *p = b_.data() + pos_;
  pos_ += n;
  return true;
}
uint8_t StateReader::U8() {
  const char* p;
  return Take(1, &p) ? static_cast<uint8_t>(*p) : 0;
}
bool StateReader::Bool() {
  uint8_t v = U8();
  if (v > 1) ok_ = false;
  return v == 1;
}
uint32_t StateReader::U32() {
  const char* p;
  if (!Take(4, &p)) return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t(static_cast<uint8_t>(p[i])) << (8 * i);
  return v;
}
int64_t StateReader::I64() {
  const char* p;
  if (!Take(8, &p)) return 0;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<int64_t>(v);
}
double StateReader::F64() {
  return std::bit_cast<double>(static_cast<uint64_t>(I64()));
}
std::vector<double> StateReader::Doubles() {
  uint32_t n = U32();
  if (n > state_format::kMaxRing) ok_ = false;
  std::vector<double> v;
  if (!ok_) return v;
  v.reserve(n);
  for (uint32_t i = 0; i < n && ok_; ++i) v.push_back(F64());
  return v;
}

std::string DetectorBase::SaveState() const {
  StateWriter w;
  for (char c : state_format::kMagic) w.U8(static_cast<uint8_t>(c));
  w.U8(state_format::kStateVersion);
  w.U8(static_cast<uint8_t>(kind_));
  w.Bool(has_last_step_);
  w.I64(last_step_);
  w.F64(last_score_);
  w.Bool(active_);
  SaveFields(&w);
  uint32_t crc = crc32c::Mask(crc32c::Value(w.bytes()));
  w.U32(crc);
  return std::move(w.bytes());
}

Status DetectorBase::RestoreState(std::string_view bytes) {
  using namespace state_format;
  if (bytes.size() < kHeaderSize + kTrailerSize || std::memcmp(bytes.data(), kMagic, 4) != 0) {
    return Status::Corruption("detector state: bad magic or too short");
  }
  std::string_view body = bytes.substr(0, bytes.size() - kTrailerSize);
  StateReader crc_reader(bytes.substr(body.size()));
  if (crc32c::Unmask(crc_reader.U32()) != crc32c::Value(body)) {
    return Status::Corruption("detector state: checksum mismatch");
  }
  StateReader r(body.substr(4));
  if (r.U8() != kStateVersion) return Status::Corruption("detector state: unknown version");
  uint8_t kind = r.U8();
  if (kind != static_cast<uint8_t>(kind_)) {
    return Status::InvalidArgument(
        fmt::format("detector state: saved by detector kind {}, restoring into {}", kind,
                    FindingKindName(kind_)));
  }
  bool has_last_step = r.Bool();
  int64_t last_step = r.I64();
  double last_score = r.F64();
  bool active = r.Bool();
  if (!r.ok() || !RestoreFields(&r) || !r.ok() || !r.at_end()) {
    return Status::Corruption("detector state: malformed fields");
  }
  has_last_step_ = has_last_step;
  last_step_ = last_step;
  last_score_ = last_score;
  active_ = active;
  return Status::OK();
}

bool DetectorBase::NoteStep(const Point& p) {
  bool rewind = has_last_step_ && p.step < last_step_;
  has_last_step_ = true;
  last_step_ = p.step;
  return rewind;
}

Finding DetectorBase::MakeFinding(const Point& p, Transition t, double score,
                                  std::string message) const {
  Finding f;
  f.kind = kind_;
  f.severity = severity_;
  f.transition = t;
  f.step = p.step;
  f.time_ms = p.time_ms;
  f.value = p.value;
  f.score = std::clamp(std::isnan(score) ? 0.0 : score, 0.0, 1.0);
  f.message = std::move(message);
  return f;
}

Finding DetectorBase::Fire(const Point& p, double score, std::string message) {
  active_ = true;
  return MakeFinding(p, Transition::kFiring, score, std::move(message));
}

Finding DetectorBase::Resolve(const Point& p, std::string message) {
  active_ = false;
  return MakeFinding(p, Transition::kResolved, 0, std::move(message));
}

Status CheckKeys(const DetectorParams& params, std::initializer_list<std::string_view> allowed) {
  for (const auto& [k, v] : params.items()) {
    bool ok = std::find(allowed.begin(), allowed.end(), k) != allowed.end() ||
              std::find(std::begin(kCommonKeys), std::end(kCommonKeys), k) != std::end(kCommonKeys);
    if (!ok) {
      std::string list;
      for (std::string_view a : allowed) list += fmt::format("{}{}", list.empty() ? "" : ", ", a);
      return Status::InvalidArgument(fmt::format(
          "unknown parameter \"{}\" (accepted: {}{}severity)", k, list, list.empty() ? "" : ", "));
    }
  }
  return Status::OK();
}

Result<Severity> SeverityParam(const DetectorParams& params, Severity def) {
  if (!params.Has("severity")) return def;
  std::string s = params.GetString("severity", "");
  std::optional<Severity> sev = ParseSeverity(s);
  if (!sev) {
    return Status::InvalidArgument(
        fmt::format("parameter severity: \"{}\" is not info, warning or critical", s));
  }
  return *sev;
}

Result<Transform> TransformParam(const DetectorParams& params, Transform def) {
  if (!params.Has("transform")) return def;
  std::string s = params.GetString("transform", "");
  if (s == "auto") return Transform::kAuto;
  if (s == "log") return Transform::kLog;
  if (s == "raw") return Transform::kRaw;
  return Status::InvalidArgument(
      fmt::format("parameter transform: \"{}\" is not auto, log or raw", s));
}

void RollingMedian::Push(double v) {
  if (ring_.size() < cap_) {
    ring_.push_back(v);
  } else {
    double old = ring_[head_];
    ring_[head_] = v;
    head_ = (head_ + 1) % cap_;
    sorted_.erase(std::lower_bound(sorted_.begin(), sorted_.end(), old));
  }
  sorted_.insert(std::upper_bound(sorted_.begin(), sorted_.end(), v), v);
}

double RollingMedian::Median() const {
  size_t n = sorted_.size();
  return n % 2 ? sorted_[n / 2] : 0.5 * (sorted_[n / 2 - 1] + sorted_[n / 2]);
}

std::vector<double> RollingMedian::Window() const {
  std::vector<double> out;
  out.reserve(ring_.size());
  for (size_t i = 0; i < ring_.size(); ++i) out.push_back(ring_[(head_ + i) % ring_.size()]);
  return out;
}

bool RollingMedian::Restore(const std::vector<double>& window) {
  if (window.size() > cap_) return false;
  for (double d : window) {
    if (std::isnan(d)) return false;  // the window never holds NaN
  }
  Clear();
  for (double d : window) Push(d);
  return true;
}

}  // namespace vigil::analysis::internal
