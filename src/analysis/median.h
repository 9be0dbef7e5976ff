// The median of a sample, the one statistic every part of analysis/ needs
// (detector windows keep their own, over a ring).
//
// Thread-safety: pure function.
#pragma once

#include <vector>

namespace vigil::analysis {

// The median of `v` (the mean of the two middle values for an even count);
// 0 for an empty vector. Takes a copy: it reorders the values.
double Median(std::vector<double> v);

}  // namespace vigil::analysis
