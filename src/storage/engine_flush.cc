// Engine: background work — writing the flushed head to a block, merging
// blocks (compaction), retention — and the manifest updates they make.
#include <algorithm>
#include <cmath>
#include <numeric>

#include <fmt/format.h>

#include "codec/chunk_codec.h"
#include "storage/chunk_packer.h"
#include "storage/engine.h"
#include "storage/engine_internal.h"
#include "storage/file.h"
#include "storage/wal/wal.h"

namespace vigil::storage {
namespace {

// A block's size tier: blocks merge with others of their tier, so a point
// is rewritten about log_fanin(total / 1 MiB) times over its life.
int Tier(uint64_t bytes, size_t fanin) {
  double mib = std::max(1.0, static_cast<double>(bytes) / (1 << 20));
  return static_cast<int>(std::floor(std::log(mib) / std::log(static_cast<double>(fanin))));
}

}  // namespace

void Engine::MaybeScheduleFlush() {
  auto v = CurrentVersion();
  const bool requested = flush_requested_.load();
  const int64_t now = options_.clock->NowMillis();
  const bool due =
      v->head->bytes() >= options_.flush_bytes ||
      (!v->head->empty() && now - last_flush_ms_ >= options_.flush_interval.count() * 1000);
  if (!requested && !due) return;
  std::lock_guard lock(bg_mu_);
  if (flush_in_progress_) return;  // tried again after the current flush
  if (v->head->empty()) {
    flush_requested_ = false;
    ++flush_generation_;
    last_flush_ms_ = now;
    bg_cv_.notify_all();
    return;
  }
  // The interval policy may hold unsynced bytes: the block written from this
  // head must not be durable before the log that precedes it.
  MaybeIntervalSync(/*force=*/true);
  auto seg = wal_->Rotate();
  if (!seg.ok()) {
    last_bg_error_ = seg.status();
    ++flush_errors_;
    flush_requested_ = false;
    bg_cv_.notify_all();
    return;
  }
  ModifyVersion([&](Version& nv) {
    nv.imm = nv.head;
    nv.head = std::make_shared<Head>(options_.head_chunk_points);
  });
  wal_start_for_imm_ = *seg;
  flush_in_progress_ = true;
  flush_requested_ = false;
  last_flush_ms_ = now;
  bg_cv_.notify_all();
}

Status Engine::Flush() {
  uint64_t target, errors;
  {
    std::lock_guard lock(bg_mu_);
    if (bg_stop_) return Status::Unavailable("the storage engine is closed");
    target = flush_generation_ + (flush_in_progress_ ? 2 : 1);
    errors = flush_errors_;
    flush_requested_ = true;
  }
  queue_cv_.notify_all();
  std::unique_lock lock(bg_mu_);
  bg_cv_.wait(lock,
              [&] { return flush_generation_ >= target || flush_errors_ > errors || bg_stop_; });
  if (flush_errors_ > errors) return last_bg_error_;
  if (flush_generation_ < target)
    return Status::Unavailable("the storage engine closed during a flush");
  return Status::OK();
}

Status Engine::CompactAll() {
  VIGIL_RETURN_IF_ERROR(Flush());
  uint64_t target, errors;
  {
    std::lock_guard lock(bg_mu_);
    target = compact_generation_ + 1;
    errors = compact_errors_;
    compact_all_requested_ = true;
  }
  bg_cv_.notify_all();
  std::unique_lock lock(bg_mu_);
  bg_cv_.wait(
      lock, [&] { return compact_generation_ >= target || compact_errors_ > errors || bg_stop_; });
  if (compact_errors_ > errors) return last_bg_error_;
  if (compact_generation_ < target)
    return Status::Unavailable("the storage engine closed during compaction");
  return Status::OK();
}

void Engine::BackgroundLoop() {
  int64_t last_retention_ms = 0;
  std::unique_lock lock(bg_mu_);
  for (;;) {
    bg_cv_.wait_for(lock, std::chrono::seconds(1),
                    [&] { return bg_stop_ || flush_in_progress_ || compact_all_requested_; });
    if (flush_in_progress_) {
      lock.unlock();
      Status s = FlushImmutable();
      lock.lock();
      if (s.ok()) {
        flush_in_progress_ = false;
        ++flush_generation_;
      } else {
        // The head stays in the version (nothing is lost) and is retried;
        // the commit thread does not swap heads meanwhile.
        last_bg_error_ = s;
        ++flush_errors_;
        bg_cv_.notify_all();
        bg_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return bg_stop_; });
        if (bg_stop_) break;
        continue;
      }
      bg_cv_.notify_all();
      queue_cv_.notify_all();
    }
    if (bg_stop_) break;
    const bool all = compact_all_requested_;
    const int64_t now = options_.clock->NowMillis();
    const bool retention_due = options_.retention_ms > 0 && now - last_retention_ms >= 60'000;
    lock.unlock();
    Status s;
    bool did = true;
    if (all) {
      s = CompactOnce(/*all=*/true, &did);
    } else {
      // Merge tiers until nothing is left to merge (bounded per wake-up).
      for (int i = 0; i < 16 && did && s.ok(); ++i) s = CompactOnce(/*all=*/false, &did);
    }
    if (s.ok() && (retention_due || all) && options_.retention_ms > 0) {
      bool r;
      s = ApplyRetention(&r);
      last_retention_ms = now;
    }
    lock.lock();
    if (!s.ok()) {
      last_bg_error_ = s;
      if (all) ++compact_errors_;
    }
    if (all) {
      compact_all_requested_ = false;
      if (s.ok()) ++compact_generation_;
      bg_cv_.notify_all();
    }
  }
}

Status Engine::FlushImmutable() {
  auto v = CurrentVersion();
  std::shared_ptr<Head> imm = v->imm;
  if (!imm) return Status::OK();
  uint64_t file, order = 0;
  {
    std::lock_guard lock(manifest_mu_);
    file = manifest_.next_file++;
    for (const ManifestBlock& b : manifest_.blocks) order = std::max(order, b.order + 1);
  }
  VIGIL_ASSIGN_OR_RETURN(auto writer, BlockWriter::Create(BlockPath(file)));
  ChunkPacker packer(writer.get(), options_.block_chunk_points);
  for (uint64_t id : imm->SeriesIds()) {
    auto info = catalog_.Get(id);
    if (!info) continue;  // deleted since
    HeadSeriesView view;
    if (!imm->Read(id, &view)) continue;
    packer.BeginSeries(id, info->key);
    for (const SealedChunk& c : view.chunks) {
      VIGIL_RETURN_IF_ERROR(packer.AddChunk(c.meta, *c.bytes));
    }
    VIGIL_RETURN_IF_ERROR(packer.AddPoints(view.steps, view.times, view.values));
    VIGIL_RETURN_IF_ERROR(packer.EndSeries());
  }
  VIGIL_RETURN_IF_ERROR(writer->Finish());
  VIGIL_ASSIGN_OR_RETURN(auto reader, BlockReader::Open(BlockPath(file)));
  uint64_t wal_start;
  {
    std::lock_guard lock(bg_mu_);
    wal_start = wal_start_for_imm_;
  }
  {
    std::lock_guard lock(manifest_mu_);
    manifest_.blocks.push_back({file, order});
    manifest_.wal_start = wal_start;
    VIGIL_RETURN_IF_ERROR(SaveManifestLocked());
  }
  ModifyVersion([&](Version& nv) {
    nv.blocks.push_back({file, order, reader});
    nv.imm = nullptr;
  });
  // Failing to delete obsolete segments wastes space but loses nothing:
  // replay starts at wal_start.
  (void)wal_->RemoveSegmentsBefore(wal_start);
  std::lock_guard lock(stats_mu_);
  ++counters_.flushes;
  return Status::OK();
}

Status Engine::SaveManifestLocked() {
  manifest_.next_series_id = std::max(manifest_.next_series_id, next_series_id_.load());
  // A tombstone is needed while some block still holds series it deletes.
  auto v = CurrentVersion();
  std::vector<std::shared_ptr<const BlockReader>> readers;
  for (const LiveBlock& b : v->blocks) {
    bool live = std::any_of(manifest_.blocks.begin(), manifest_.blocks.end(),
                            [&](const ManifestBlock& m) { return m.file_number == b.file_number; });
    if (live) readers.push_back(b.reader);
  }
  std::erase_if(manifest_.tombstones, [&](const Tombstone& t) {
    for (const auto& r : readers) {
      for (const BlockSeries& s : r->series()) {
        if (s.key.run == t.run && s.id <= t.max_series_id) return false;
      }
    }
    // Blocks being added right now (not yet in the version) are written
    // from live series only, which a tombstone never covers.
    return true;
  });
  return SaveManifest(options_.dir, manifest_);
}

Status Engine::CompactOnce(bool all, bool* did_work) {
  *did_work = false;
  auto v = CurrentVersion();
  const auto& blocks = v->blocks;  // ascending order
  std::vector<LiveBlock> inputs;
  if (all) {
    if (blocks.size() <= 1) {
      // A single block is rewritten only if it holds deleted series.
      if (blocks.empty()) return Status::OK();
      bool has_deleted = false;
      for (const BlockSeries& s : blocks[0].reader->series()) {
        if (!catalog_.Get(s.id)) {
          has_deleted = true;
          break;
        }
      }
      if (!has_deleted) return Status::OK();
    }
    inputs = blocks;
  } else {
    const size_t fanin = options_.compaction_fanin;
    for (size_t i = 0; i + fanin <= blocks.size() && inputs.empty(); ++i) {
      int t = Tier(blocks[i].reader->file_size(), fanin);
      bool same = true;
      for (size_t k = i + 1; k < i + fanin && same; ++k) {
        same = Tier(blocks[k].reader->file_size(), fanin) == t;
      }
      if (same) inputs.assign(blocks.begin() + i, blocks.begin() + i + fanin);
    }
    if (inputs.empty()) return Status::OK();
  }
  const int64_t cutoff = options_.retention_ms > 0
                             ? options_.clock->NowMillis() - options_.retention_ms
                             : std::numeric_limits<int64_t>::min();
  LiveBlock out;
  std::vector<uint64_t> trimmed;
  VIGIL_RETURN_IF_ERROR(WriteMergedBlock(inputs, cutoff, &out, &trimmed));
  VIGIL_RETURN_IF_ERROR(ReplaceBlocks(inputs, out.reader ? std::optional(out) : std::nullopt));
  if (!trimmed.empty()) RebuildStats(trimmed);
  *did_work = true;
  std::lock_guard lock(stats_mu_);
  ++counters_.compactions;
  return Status::OK();
}

Status Engine::WriteMergedBlock(const std::vector<LiveBlock>& inputs, int64_t cutoff_ms,
                                LiveBlock* out, std::vector<uint64_t>* trimmed) {
  uint64_t file;
  {
    std::lock_guard lock(manifest_mu_);
    file = manifest_.next_file++;
  }
  std::vector<uint64_t> ids;
  for (const LiveBlock& b : inputs) {
    for (const BlockSeries& s : b.reader->series()) ids.push_back(s.id);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());

  VIGIL_ASSIGN_OR_RETURN(auto writer, BlockWriter::Create(BlockPath(file)));
  ChunkPacker packer(writer.get(), options_.block_chunk_points);
  for (uint64_t id : ids) {
    auto info = catalog_.Get(id);
    if (!info) continue;  // deleted
    packer.BeginSeries(id, info->key);
    bool lost = false;
    for (const LiveBlock& b : inputs) {
      const BlockSeries* s = b.reader->Find(id);
      if (!s) continue;
      for (const BlockChunk& c : s->chunks) {
        VIGIL_ASSIGN_OR_RETURN(std::string_view bytes, b.reader->ChunkBytes(c));
        VIGIL_RETURN_IF_ERROR(packer.AddChunk(c.meta, bytes, cutoff_ms, &lost));
      }
    }
    VIGIL_RETURN_IF_ERROR(packer.EndSeries());
    if (lost) trimmed->push_back(id);
  }
  const bool empty = writer->points() == 0;
  VIGIL_RETURN_IF_ERROR(writer->Finish());
  if (empty) {
    (void)RemoveFile(BlockPath(file));
    out->reader = nullptr;
    return Status::OK();
  }
  VIGIL_ASSIGN_OR_RETURN(out->reader, BlockReader::Open(BlockPath(file)));
  out->file_number = file;
  out->order = inputs.front().order;
  return Status::OK();
}

Status Engine::ReplaceBlocks(const std::vector<LiveBlock>& inputs,
                             std::optional<LiveBlock> output) {
  auto is_input = [&](uint64_t file) {
    return std::any_of(inputs.begin(), inputs.end(),
                       [&](const LiveBlock& b) { return b.file_number == file; });
  };
  {
    std::lock_guard lock(manifest_mu_);
    std::erase_if(manifest_.blocks,
                  [&](const ManifestBlock& b) { return is_input(b.file_number); });
    if (output) manifest_.blocks.push_back({output->file_number, output->order});
    std::sort(manifest_.blocks.begin(), manifest_.blocks.end(),
              [](const ManifestBlock& a, const ManifestBlock& b) { return a.order < b.order; });
    ModifyVersion([&](Version& nv) {
      std::erase_if(nv.blocks, [&](const LiveBlock& b) { return is_input(b.file_number); });
      if (output) nv.blocks.push_back(*output);
      std::sort(nv.blocks.begin(), nv.blocks.end(),
                [](const LiveBlock& a, const LiveBlock& b) { return a.order < b.order; });
    });
    VIGIL_RETURN_IF_ERROR(SaveManifestLocked());
  }
  for (const LiveBlock& b : inputs) (void)RemoveFile(BlockPath(b.file_number));
  return Status::OK();
}

Status Engine::ApplyRetention(bool* did_work) {
  *did_work = false;
  if (options_.retention_ms <= 0) return Status::OK();
  const int64_t cutoff = options_.clock->NowMillis() - options_.retention_ms;
  auto v = CurrentVersion();
  std::vector<LiveBlock> expired;
  std::vector<uint64_t> touched;
  for (const LiveBlock& b : v->blocks) {
    if (b.reader->max_time() < cutoff) {
      expired.push_back(b);
      for (const BlockSeries& s : b.reader->series()) touched.push_back(s.id);
      continue;
    }
    if (b.reader->min_time() >= cutoff) continue;
    // Rewrite a partly expired block once a quarter of it has expired.
    uint64_t old_points = 0;
    for (const BlockSeries& s : b.reader->series()) {
      for (const BlockChunk& c : s.chunks) {
        if (c.meta.max_time < cutoff) old_points += c.meta.count;
      }
    }
    if (old_points * 4 >= b.reader->points()) {
      LiveBlock out;
      std::vector<uint64_t> trimmed;
      VIGIL_RETURN_IF_ERROR(WriteMergedBlock({b}, cutoff, &out, &trimmed));
      VIGIL_RETURN_IF_ERROR(ReplaceBlocks({b}, out.reader ? std::optional(out) : std::nullopt));
      if (!trimmed.empty()) RebuildStats(trimmed);
      *did_work = true;
    }
  }
  if (!expired.empty()) {
    VIGIL_RETURN_IF_ERROR(ReplaceBlocks(expired, std::nullopt));
    RebuildStats(touched);
    *did_work = true;
  }
  return Status::OK();
}

void Engine::RebuildStats(const std::vector<uint64_t>& ids) {
  // On the commit thread, so that no append interleaves with the rebuild.
  RunOnCommitThread([this, ids] {
    for (uint64_t id : ids) {
      if (!catalog_.Get(id)) continue;
      std::vector<ChunkView> chunks;
      if (!ScanSeries(id, ReadRange{}, &chunks).ok()) continue;
      SeriesStats stats;
      for (const ChunkView& c : chunks) FoldChunkStats(c.meta, &stats);
      if (stats.count == 0) {
        catalog_.Remove(id);
      } else {
        catalog_.SetStats(id, stats);
      }
    }
  });
}

}  // namespace vigil::storage
