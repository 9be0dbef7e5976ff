#include "storage/chunk_meta.h"

#include <cmath>

namespace vigil::storage {

ChunkMeta ComputeChunkMeta(std::span<const int64_t> steps, std::span<const int64_t> times,
                           std::span<const double> values) {
  ChunkMeta m;
  const size_t n = values.size();
  m.count = static_cast<uint32_t>(n);
  if (n == 0) return m;
  m.first = {steps[0], times[0], values[0]};
  m.last = {steps[n - 1], times[n - 1], values[n - 1]};
  m.min_step = m.max_step = steps[0];
  m.min_time = m.max_time = times[0];
  bool have_value = false;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) {
      if (steps[i] < steps[i - 1]) m.steps_sorted = false;
      if (times[i] < times[i - 1]) m.times_sorted = false;
    }
    if (steps[i] < m.min_step) m.min_step = steps[i];
    if (steps[i] > m.max_step) m.max_step = steps[i];
    if (times[i] < m.min_time) m.min_time = times[i];
    if (times[i] > m.max_time) m.max_time = times[i];
    double v = values[i];
    if (std::isnan(v)) {
      ++m.nan_count;
      continue;
    }
    if (!have_value || v < m.min.value) m.min = {steps[i], times[i], v};
    if (!have_value || v > m.max.value) m.max = {steps[i], times[i], v};
    have_value = true;
  }
  if (!have_value) m.min = m.max = m.first;
  return m;
}

void FoldChunkStats(const ChunkMeta& m, SeriesStats* s) {
  SeriesStats c;
  c.count = m.count;
  c.nan_count = m.nan_count;
  c.first_step = m.first.step;
  c.first_time = m.first.time_ms;
  c.last_step = m.last.step;
  c.last_time = m.last.time_ms;
  c.last_value = m.last.value;
  c.max_step_seen = m.max_step;
  if (m.nan_count < m.count) {
    c.min_value = m.min.value;
    c.max_value = m.max.value;
  }
  s->Merge(c);
}

}  // namespace vigil::storage
