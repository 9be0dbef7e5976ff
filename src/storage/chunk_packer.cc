#include "storage/chunk_packer.h"

#include <cassert>

#include "codec/chunk_codec.h"

namespace vigil::storage {

ChunkPacker::ChunkPacker(BlockWriter* writer, size_t target_points)
    : writer_(writer), target_(target_points) {
  assert(target_points >= 1);
}

void ChunkPacker::BeginSeries(uint64_t id, const SeriesKey& key) {
  writer_->BeginSeries(id, key);
  stats_ = SeriesStats();
  steps_.clear();
  times_.clear();
  values_.clear();
  begin_ = 0;
}

Status ChunkPacker::AddChunk(const ChunkMeta& meta, std::string_view bytes, int64_t cutoff_ms,
                             bool* lost) {
  if (meta.max_time < cutoff_ms) {
    if (lost) *lost = true;
    return Status::OK();
  }
  const bool partial = meta.min_time < cutoff_ms;
  if (!partial && begin_ == steps_.size() && meta.count == target_) {
    VIGIL_RETURN_IF_ERROR(writer_->AddChunk(meta, bytes));
    FoldChunkStats(meta, &stats_);
    return Status::OK();
  }
  const size_t from = steps_.size();
  VIGIL_RETURN_IF_ERROR(codec::DecodeChunk(bytes, &steps_, &times_, &values_));
  if (partial) {
    size_t keep = from;
    for (size_t i = from; i < steps_.size(); ++i) {
      if (times_[i] < cutoff_ms) continue;
      steps_[keep] = steps_[i];
      times_[keep] = times_[i];
      values_[keep] = values_[i];
      ++keep;
    }
    if (lost && keep < steps_.size()) *lost = true;
    steps_.resize(keep);
    times_.resize(keep);
    values_.resize(keep);
  }
  return EmitFull();
}

Status ChunkPacker::AddPoints(std::span<const int64_t> steps, std::span<const int64_t> times,
                              std::span<const double> values) {
  steps_.insert(steps_.end(), steps.begin(), steps.end());
  times_.insert(times_.end(), times.begin(), times.end());
  values_.insert(values_.end(), values.begin(), values.end());
  return EmitFull();
}

Status ChunkPacker::Emit(size_t n) {
  std::span<const int64_t> s(steps_.data() + begin_, n), t(times_.data() + begin_, n);
  std::span<const double> v(values_.data() + begin_, n);
  ChunkMeta meta = ComputeChunkMeta(s, t, v);
  encoded_.clear();
  codec::EncodeChunk(s, t, v, &encoded_);
  VIGIL_RETURN_IF_ERROR(writer_->AddChunk(meta, encoded_));
  FoldChunkStats(meta, &stats_);
  begin_ += n;
  return Status::OK();
}

Status ChunkPacker::EmitFull() {
  while (steps_.size() - begin_ >= target_) VIGIL_RETURN_IF_ERROR(Emit(target_));
  if (begin_ == steps_.size()) {  // nothing pending: reuse the buffers from the start
    steps_.clear();
    times_.clear();
    values_.clear();
    begin_ = 0;
  }
  return Status::OK();
}

Status ChunkPacker::EndSeries() {
  if (steps_.size() > begin_) VIGIL_RETURN_IF_ERROR(Emit(steps_.size() - begin_));
  writer_->EndSeries(stats_);
  return Status::OK();
}

}  // namespace vigil::storage
