#include "query/downsample.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

namespace vigil::query {
namespace {

using storage::Axis;
using storage::ChunkMeta;
using storage::ChunkView;
using storage::ReadRange;

struct Bucket {
  bool any = false;
  bool has_value = false;  // a non-NaN point was seen
  bool has_nan = false;
  Point first, last, min, max, nan;
};

int64_t X(const Point& p, Axis axis) {
  return axis == Axis::kStep ? p.step : p.time_ms;
}

// Ties keep the earlier point for first/min/max and the later for last,
// mirroring a stable sort by x.
void AddPoint(Bucket* b, const Point& p, Axis axis) {
  if (std::isnan(p.value)) {
    if (!b->has_nan) b->nan = p;
    b->has_nan = true;
  } else {
    if (!b->has_value || p.value < b->min.value) b->min = p;
    if (!b->has_value || p.value > b->max.value) b->max = p;
    b->has_value = true;
  }
  if (!b->any || X(p, axis) < X(b->first, axis)) b->first = p;
  if (!b->any || X(p, axis) >= X(b->last, axis)) b->last = p;
  b->any = true;
}

// Folds a whole chunk from its summary. REQUIRES: sorted on the axis, no NaN.
void AddSummary(Bucket* b, const ChunkMeta& m, Axis axis) {
  if (!b->has_value || m.min.value < b->min.value) b->min = m.min;
  if (!b->has_value || m.max.value > b->max.value) b->max = m.max;
  b->has_value = true;
  if (!b->any || X(m.first, axis) < X(b->first, axis)) b->first = m.first;
  if (!b->any || X(m.last, axis) >= X(b->last, axis)) b->last = m.last;
  b->any = true;
}

bool SamePoint(const Point& a, const Point& b) {
  return a.step == b.step && a.time_ms == b.time_ms &&
         std::bit_cast<uint64_t>(a.value) == std::bit_cast<uint64_t>(b.value);
}

}  // namespace

Status Downsample(const std::vector<ChunkView>& chunks, const ReadRange& range, size_t max_points,
                  SeriesColumns* out, DownsampleStats* stats) {
  const Axis axis = range.axis;
  auto lo_of = [&](const ChunkMeta& m) { return axis == Axis::kStep ? m.min_step : m.min_time; };
  auto hi_of = [&](const ChunkMeta& m) { return axis == Axis::kStep ? m.max_step : m.max_time; };
  auto sorted_of = [&](const ChunkMeta& m) {
    return axis == Axis::kStep ? m.steps_sorted : m.times_sorted;
  };

  int64_t lo = std::numeric_limits<int64_t>::max(), hi = std::numeric_limits<int64_t>::min();
  bool any_nan = false;
  stats->chunks = chunks.size();
  for (const ChunkView& c : chunks) {
    lo = std::min(lo, lo_of(c.meta));
    hi = std::max(hi, hi_of(c.meta));
    any_nan = any_nan || c.meta.nan_count > 0;
    stats->source_points += c.meta.count;
  }
  out->steps.clear();
  out->times.clear();
  out->values.clear();
  if (chunks.empty()) return Status::OK();
  lo = std::max(lo, range.from);
  hi = std::min(hi, range.to);
  if (lo > hi) return Status::OK();

  const size_t nbuckets = std::max<size_t>(1, max_points / (any_nan ? 5 : 4));
  // Width in uint64 so that the full int64 range does not overflow.
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
  const uint64_t width = span / nbuckets + 1;
  auto bucket_of = [&](int64_t x) {
    return std::min<size_t>(nbuckets - 1,
                            (static_cast<uint64_t>(x) - static_cast<uint64_t>(lo)) / width);
  };
  std::vector<Bucket> buckets(nbuckets);

  std::vector<int64_t> steps, times;
  std::vector<double> values;
  for (const ChunkView& c : chunks) {
    const ChunkMeta& m = c.meta;
    const int64_t clo = lo_of(m), chi = hi_of(m);
    const bool inside = clo >= range.from && chi <= range.to;
    const uint64_t cspan = static_cast<uint64_t>(chi) - static_cast<uint64_t>(clo);
    if (inside && sorted_of(m) && m.nan_count == 0 && cspan < width) {
      int64_t mid = static_cast<int64_t>(static_cast<uint64_t>(clo) + cspan / 2);
      AddSummary(&buckets[bucket_of(mid)], m, axis);
      continue;
    }
    ++stats->chunks_decoded;
    steps.clear();
    times.clear();
    values.clear();
    VIGIL_RETURN_IF_ERROR(c.Decode(&steps, &times, &values));
    const std::vector<int64_t>& xs = axis == Axis::kStep ? steps : times;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (xs[i] < range.from || xs[i] > range.to) continue;
      AddPoint(&buckets[bucket_of(xs[i])], {steps[i], times[i], values[i]}, axis);
    }
  }

  std::vector<Point> pts;
  pts.reserve(nbuckets * 4);
  for (const Bucket& b : buckets) {
    if (!b.any) continue;
    Point cand[5];
    int n = 0;
    cand[n++] = b.first;
    if (b.has_value) {
      // min and max in x order between first and last.
      if (X(b.min, axis) <= X(b.max, axis)) {
        cand[n++] = b.min;
        cand[n++] = b.max;
      } else {
        cand[n++] = b.max;
        cand[n++] = b.min;
      }
    }
    if (b.has_nan) cand[n++] = b.nan;
    cand[n++] = b.last;
    for (int i = 0; i < n; ++i) {
      bool dup = false;
      for (int k = 0; k < i && !dup; ++k) dup = SamePoint(cand[i], cand[k]);
      if (!dup) pts.push_back(cand[i]);
    }
  }
  std::stable_sort(pts.begin(), pts.end(),
                   [&](const Point& a, const Point& b) { return X(a, axis) < X(b, axis); });
  out->steps.reserve(pts.size());
  out->times.reserve(pts.size());
  out->values.reserve(pts.size());
  for (const Point& p : pts) {
    out->steps.push_back(p.step);
    out->times.push_back(p.time_ms);
    out->values.push_back(p.value);
  }
  return Status::OK();
}

}  // namespace vigil::query
