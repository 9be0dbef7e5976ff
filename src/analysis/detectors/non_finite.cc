// non_finite: fires at the first NaN or ±Inf of a run of non-finite values
// and resolves at the next finite value. Stateless beyond the active flag.
#include <fmt/format.h>

#include "analysis/detectors/detector_base.h"
#include "analysis/detectors/detector_registry.h"

namespace vigil::analysis::internal {
namespace {

class NonFiniteDetector final : public DetectorBase {
 public:
  NonFiniteDetector(std::string_view series, Severity sev)
      : DetectorBase(FindingKind::kNonFinite, series, sev) {}

  std::optional<Finding> Observe(const Point& p) override {
    NoteStep(p);
    bool bad = !std::isfinite(p.value);
    last_score_ = bad ? 1 : 0;
    if (bad && !active_) {
      return Fire(
          p, 1,
          fmt::format("{} is {} at step {}", series_, FormatValue(p.value), FormatStep(p.step)));
    }
    if (!bad && active_) {
      return Resolve(p, fmt::format("{} is finite again ({}) at step {}", series_,
                                    FormatValue(p.value), FormatStep(p.step)));
    }
    return std::nullopt;
  }
  int64_t ReplayPointsHint() const override { return 1; }

 private:
  void SaveFields(StateWriter*) const override {}
  bool RestoreFields(StateReader*) override { return true; }
};

}  // namespace

DetectorResult MakeNonFinite(const DetectorParams& p, std::string_view series) {
  if (Status s = CheckKeys(p, {}); !s.ok()) return s;
  VIGIL_ASSIGN_OR_RETURN(Severity sev, SeverityParam(p, Severity::kCritical));
  return std::unique_ptr<Detector>(new NonFiniteDetector(series, sev));
}

}  // namespace vigil::analysis::internal
