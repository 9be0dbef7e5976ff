// Constructors of the individual detectors, one per file in this folder,
// for MakeDetector (detector.cc) only. Each validates its parameters and
// returns InvalidArgument naming the bad one.
#pragma once

#include <memory>
#include <string_view>

#include "analysis/detectors/detector.h"

namespace vigil::analysis::internal {

using DetectorResult = Result<std::unique_ptr<Detector>>;

DetectorResult MakeNonFinite(const DetectorParams& p, std::string_view series);
DetectorResult MakeSpike(const DetectorParams& p, std::string_view series);
DetectorResult MakeDivergence(const DetectorParams& p, std::string_view series);
DetectorResult MakePlateau(const DetectorParams& p, std::string_view series);
DetectorResult MakeGradExplosion(const DetectorParams& p, std::string_view series);
DetectorResult MakeThroughputDrop(const DetectorParams& p, std::string_view series);
DetectorResult MakeGpuIdle(const DetectorParams& p, std::string_view series);
DetectorResult MakeMemoryGrowth(const DetectorParams& p, std::string_view series);
DetectorResult MakeThrottling(const DetectorParams& p, std::string_view series);
DetectorResult MakeHwError(const DetectorParams& p, std::string_view series);
DetectorResult MakeThreshold(const DetectorParams& p, std::string_view series);
DetectorResult MakeAbsence(const DetectorParams& p, std::string_view series);

}  // namespace vigil::analysis::internal
