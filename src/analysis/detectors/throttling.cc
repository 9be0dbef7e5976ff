// throttling: a GPU throttle indicator set for `for_points` consecutive
// points. The series is either a 0/1 flag per reason (the collector's
// decoded form) or NVML's clock-event-reasons bitmask; bits in
// `ignore_mask` (e.g. 0x1 GPU idle, 0x2 application clocks setting, 0x10
// sync boost, 0x100 display clock: benign reasons) do not count. Resolves
// after `for_points` consecutive clear points.
#include <fmt/format.h>

#include <cmath>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

class ThrottlingDetector final : public DetectorBase {
 public:
  ThrottlingDetector(std::string_view series, Severity sev, int64_t for_points, uint64_t ignore)
      : DetectorBase(FindingKind::kThrottling, series, sev),
        for_points_(for_points),
        ignore_(ignore) {}

  std::optional<Finding> Observe(const Point& p) override {
    NoteStep(p);
    if (!std::isfinite(p.value)) return std::nullopt;
    bool set;
    if (p.value >= 0 && p.value < 1.8e19 && p.value == std::floor(p.value)) {
      set = (static_cast<uint64_t>(p.value) & ~ignore_) != 0;
    } else {
      set = p.value > 0;
    }
    last_score_ = set ? 1 : 0;
    if (set == active_) {
      count_ = 0;
      return std::nullopt;
    }
    if (++count_ < for_points_) return std::nullopt;
    count_ = 0;
    if (set) {
      return Fire(p, 1,
                  fmt::format("{} reports throttling ({}) since step {}", series_,
                              FormatValue(p.value), FormatStep(p.step)));
    }
    return Resolve(p,
                   fmt::format("{} no longer throttling at step {}", series_, FormatStep(p.step)));
  }
  int64_t ReplayPointsHint() const override { return 2 * for_points_; }

 private:
  void SaveFields(StateWriter* w) const override { w->I64(count_); }
  bool RestoreFields(StateReader* r) override {
    int64_t c = r->I64();
    if (!r->ok() || c < 0) return false;
    count_ = c;
    return true;
  }
  int64_t for_points_;
  uint64_t ignore_;
  int64_t count_ = 0;
};

}  // namespace

DetectorResult MakeThrottling(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {"for_points", "ignore_mask"}); !s.ok()) return s;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kWarning));
  VIGIL_ASSIGN_OR_RETURN(int64_t for_points, p.GetInt("for_points", 3));
  std::string mask = p.GetString("ignore_mask", "0");
  uint64_t ignore = 0;
  char* end = nullptr;
  ignore = std::strtoull(mask.c_str(), &end, 0);
  if (mask.empty() || end != mask.c_str() + mask.size() || mask[0] == '-') {
    return Status::InvalidArgument(
        fmt::format("parameter ignore_mask: \"{}\" is not an unsigned integer", mask));
  }
  if (for_points < 1) return Status::InvalidArgument("parameter for_points: must be >= 1");
  return std::unique_ptr<Detector>(new ThrottlingDetector(series, sev, for_points, ignore));
}

}  // namespace vigil::analysis::internal
