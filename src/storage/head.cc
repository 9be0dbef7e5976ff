#include "storage/head.h"

#include <algorithm>
#include <cassert>
#include <limits>
#include <mutex>

#include "codec/chunk_codec.h"

namespace vigil::storage {

Head::Head(size_t chunk_points)
    : chunk_points_(chunk_points), min_time_(std::numeric_limits<int64_t>::max()) {
  assert(chunk_points >= 1 && chunk_points <= codec::kMaxChunkPoints);
}

void Head::Seal(Series* s) {
  SealedChunk c;
  c.meta = ComputeChunkMeta(s->steps, s->times, s->values);
  auto bytes = std::make_shared<std::string>();
  codec::EncodeChunk(s->steps, s->times, s->values, bytes.get());
  bytes->shrink_to_fit();
  bytes_ -= s->values.size() * 24;
  bytes_ += bytes->size() + sizeof(SealedChunk);
  c.bytes = std::move(bytes);
  s->chunks.push_back(std::move(c));
  s->steps.clear();
  s->times.clear();
  s->values.clear();
}

void Head::Append(uint64_t series_id, std::span<const int64_t> steps,
                  std::span<const int64_t> times, std::span<const double> values) {
  std::unique_lock lock(mu_);
  Series& s = series_[series_id];
  size_t i = 0;
  const size_t n = values.size();
  while (i < n) {
    if (s.values.empty()) {
      s.steps.reserve(chunk_points_);
      s.times.reserve(chunk_points_);
      s.values.reserve(chunk_points_);
    }
    size_t take = std::min(n - i, chunk_points_ - s.values.size());
    s.steps.insert(s.steps.end(), steps.begin() + i, steps.begin() + i + take);
    s.times.insert(s.times.end(), times.begin() + i, times.begin() + i + take);
    s.values.insert(s.values.end(), values.begin() + i, values.begin() + i + take);
    bytes_ += take * 24;
    i += take;
    if (s.values.size() == chunk_points_) Seal(&s);
  }
  points_ += n;
  for (int64_t t : times) min_time_ = std::min(min_time_, t);
}

void Head::DropSeries(std::span<const uint64_t> series_ids) {
  std::unique_lock lock(mu_);
  for (uint64_t id : series_ids) {
    auto it = series_.find(id);
    if (it == series_.end()) continue;
    Series& s = it->second;
    for (const SealedChunk& c : s.chunks) {
      bytes_ -= c.bytes->size() + sizeof(SealedChunk);
      points_ -= c.meta.count;
    }
    bytes_ -= s.values.size() * 24;
    points_ -= s.values.size();
    series_.erase(it);
  }
}

bool Head::Read(uint64_t series_id, HeadSeriesView* out) const {
  std::shared_lock lock(mu_);
  auto it = series_.find(series_id);
  if (it == series_.end()) return false;
  const Series& s = it->second;
  out->chunks = s.chunks;
  out->steps = s.steps;
  out->times = s.times;
  out->values = s.values;
  return true;
}

std::vector<uint64_t> Head::SeriesIds() const {
  std::shared_lock lock(mu_);
  std::vector<uint64_t> ids;
  ids.reserve(series_.size());
  for (const auto& [id, s] : series_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  return ids;
}

size_t Head::bytes() const {
  std::shared_lock lock(mu_);
  return bytes_;
}

uint64_t Head::points() const {
  std::shared_lock lock(mu_);
  return points_;
}

int64_t Head::min_time() const {
  std::shared_lock lock(mu_);
  return min_time_;
}

}  // namespace vigil::storage
