// Engine: opening, recovery, closing, and the read path. The write path is
// in engine_append.cc, flushing and compaction in engine_flush.cc.
#include "storage/engine.h"

#include <algorithm>
#include <future>
#include <numeric>

#include <fmt/format.h>

#include "codec/chunk_codec.h"
#include "core/crc32c.h"
#include "storage/engine_internal.h"
#include "storage/file.h"
#include "storage/record/wal_record.h"
#include "storage/wal/wal.h"

namespace vigil::storage {

Result<FsyncPolicy> ParseFsyncPolicy(std::string_view name) {
  if (name == "batch") return FsyncPolicy::kBatch;
  if (name == "interval") return FsyncPolicy::kInterval;
  if (name == "off") return FsyncPolicy::kOff;
  return Status::InvalidArgument(
      fmt::format("fsync policy \"{}\" is not one of batch, interval, off", name));
}

std::string_view FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kBatch:
      return "batch";
    case FsyncPolicy::kInterval:
      return "interval";
    case FsyncPolicy::kOff:
      return "off";
  }
  return "?";
}

Status ChunkView::Decode(std::vector<int64_t>* steps, std::vector<int64_t>* times,
                         std::vector<double>* values) const {
  if (bytes.empty()) {
    if (steps) steps->insert(steps->end(), raw_steps.begin(), raw_steps.end());
    if (times) times->insert(times->end(), raw_times.begin(), raw_times.end());
    if (values) values->insert(values->end(), raw_values.begin(), raw_values.end());
    return Status::OK();
  }
  if (check_crc && crc32c::Unmask(masked_crc) != crc32c::Value(bytes)) {
    return Status::Corruption(fmt::format("block {} at offset {}: chunk checksum mismatch",
                                          file ? *file : std::string("?"), offset));
  }
  Status s = codec::DecodeChunk(bytes, steps, times, values);
  if (!s.ok() && file) return s.WithContext(fmt::format("block {} at offset {}", *file, offset));
  return s;
}

Engine::Engine(EngineOptions options) : options_(std::move(options)) {}

Engine::~Engine() {
  Close();
}

std::string Engine::BlockPath(uint64_t file_number) const {
  return options_.dir + "/blocks/" + BlockFileName(file_number);
}

Result<std::unique_ptr<Engine>> Engine::Open(const EngineOptions& options) {
  if (options.dir.empty()) return Status::InvalidArgument("no data directory given");
  if (options.head_chunk_points < 1 || options.head_chunk_points > codec::kMaxChunkPoints ||
      options.block_chunk_points < 1 || options.block_chunk_points > codec::kMaxChunkPoints) {
    return Status::InvalidArgument(
        fmt::format("chunk sizes must be between 1 and {} points", codec::kMaxChunkPoints));
  }
  if (options.compaction_fanin < 2)
    return Status::InvalidArgument("compaction fan-in must be >= 2");
  std::unique_ptr<Engine> e(new Engine(options));
  VIGIL_RETURN_IF_ERROR(e->Recover());
  e->commit_thread_ = std::thread([p = e.get()] { p->CommitLoop(); });
  e->bg_thread_ = std::thread([p = e.get()] { p->BackgroundLoop(); });
  return e;
}

Status Engine::Recover() {
  const std::string& dir = options_.dir;
  VIGIL_RETURN_IF_ERROR(CreateDirectories(dir + "/blocks"));
  VIGIL_ASSIGN_OR_RETURN(lock_, FileLock::Acquire(dir + "/LOCK"));
  VIGIL_ASSIGN_OR_RETURN(manifest_, LoadManifest(dir));

  // Files no manifest names are left over from a flush or compaction that a
  // crash interrupted before its manifest was saved: garbage.
  VIGIL_ASSIGN_OR_RETURN(auto names, ListDirectory(dir + "/blocks"));
  for (const std::string& name : names) {
    bool live =
        std::any_of(manifest_.blocks.begin(), manifest_.blocks.end(),
                    [&](const ManifestBlock& b) { return BlockFileName(b.file_number) == name; });
    if (!live) VIGIL_RETURN_IF_ERROR(RemoveFile(dir + "/blocks/" + name));
  }

  auto version = std::make_shared<Version>();
  std::sort(manifest_.blocks.begin(), manifest_.blocks.end(),
            [](const ManifestBlock& a, const ManifestBlock& b) { return a.order < b.order; });
  for (const ManifestBlock& mb : manifest_.blocks) {
    VIGIL_ASSIGN_OR_RETURN(auto reader, BlockReader::Open(BlockPath(mb.file_number)));
    for (const BlockSeries& s : reader->series()) {
      if (auto existing = catalog_.Get(s.id)) {
        SeriesStats merged = existing->stats;
        merged.Merge(s.stats);
        catalog_.SetStats(s.id, merged);
      } else {
        catalog_.Insert(s.id, s.key, s.stats);
      }
    }
    version->blocks.push_back({mb.file_number, mb.order, std::move(reader)});
  }
  for (const Tombstone& t : manifest_.tombstones) catalog_.RemoveRun(t.run, t.max_series_id);
  next_series_id_ = std::max(manifest_.next_series_id, catalog_.max_id() + 1);

  version->head = std::make_shared<Head>(options_.head_chunk_points);
  InstallVersion(version);

  WalOptions wo;
  wo.dir = dir + "/wal";
  wo.segment_bytes = options_.wal_segment_bytes;
  VIGIL_ASSIGN_OR_RETURN(wal_, Wal::Open(wo));
  WalReplayStats rs;
  VIGIL_RETURN_IF_ERROR(wal_->Replay(
      manifest_.wal_start, [this](std::string_view rec) { return ReplayRecord(rec); }, &rs));
  counters_.replayed_records = rs.records;
  counters_.torn_tail_bytes = rs.torn_tail_bytes;
  last_flush_ms_ = options_.clock->NowMillis();
  return Status::OK();
}

Status Engine::ReplayRecord(std::string_view bytes) {
  VIGIL_ASSIGN_OR_RETURN(WalRecord record, DecodeWalRecord(bytes));
  auto version = CurrentVersion();
  if (auto* del = std::get_if<DeleteRunRecord>(&record)) {
    auto removed = catalog_.RemoveRun(del->run, del->max_series_id);
    version->head->DropSeries(removed);
    manifest_.tombstones.push_back({del->run, del->max_series_id});
    return Status::OK();
  }
  auto& batch = std::get<BatchRecord>(record);
  for (NewSeries& ns : batch.new_series) {
    bool deleted = std::any_of(
        manifest_.tombstones.begin(), manifest_.tombstones.end(),
        [&](const Tombstone& t) { return t.run == ns.key.run && ns.id <= t.max_series_id; });
    if (ns.id >= next_series_id_) next_series_id_ = ns.id + 1;
    if (!deleted) catalog_.Insert(ns.id, std::move(ns.key), SeriesStats{});
  }
  for (const SeriesSamples& s : batch.samples) {
    if (!catalog_.Get(s.id)) continue;  // its run was deleted later in the log
    version->head->Append(s.id, s.steps, s.times, s.values);
    catalog_.AppendStats(s.id, s.steps, s.times, s.values);
  }
  return Status::OK();
}

void Engine::Close() {
  std::call_once(close_once_, [this] {
    {
      std::lock_guard lock(queue_mu_);
      closing_ = true;
    }
    queue_cv_.notify_all();
    if (commit_thread_.joinable()) commit_thread_.join();
    if (wal_) (void)wal_->Sync();
    // With the commit thread gone, the flush of the head is done here.
    if (bg_thread_.joinable()) {
      auto v = CurrentVersion();
      bool flush = options_.flush_on_close && v->head && !v->head->empty();
      {
        std::unique_lock lock(bg_mu_);
        // Let a flush in progress finish.
        bg_cv_.wait(lock, [&] { return !flush_in_progress_; });
        if (flush) {
          auto seg = wal_->Rotate();
          if (seg.ok()) {
            ModifyVersion([&](Version& nv) {
              nv.imm = nv.head;
              nv.head = std::make_shared<Head>(options_.head_chunk_points);
            });
            wal_start_for_imm_ = *seg;
            flush_in_progress_ = true;
            bg_cv_.notify_all();
            bg_cv_.wait(lock, [&] { return !flush_in_progress_; });
          }
        }
        bg_stop_ = true;
      }
      bg_cv_.notify_all();
      bg_thread_.join();
    }
  });
}

std::shared_ptr<const Engine::Version> Engine::CurrentVersion() const {
  std::lock_guard lock(version_mu_);
  return version_;
}

void Engine::InstallVersion(std::shared_ptr<const Version> v) {
  std::lock_guard lock(version_mu_);
  version_ = std::move(v);
}

void Engine::ModifyVersion(const std::function<void(Version&)>& edit) {
  std::lock_guard lock(version_mu_);
  auto v = std::make_shared<Version>(*version_);
  edit(*v);
  version_ = std::move(v);
}

std::vector<SeriesInfo> Engine::ListSeries(std::string_view run) const {
  return catalog_.ListRun(run);
}

std::optional<SeriesInfo> Engine::FindSeries(const SeriesKey& key) const {
  auto id = catalog_.Find(key.Canonical());
  if (!id) return std::nullopt;
  return catalog_.Get(*id);
}

std::optional<SeriesInfo> Engine::GetSeries(uint64_t id) const {
  return catalog_.Get(id);
}

size_t Engine::series_count() const {
  return catalog_.size();
}

namespace {

bool Overlaps(const ChunkMeta& m, const ReadRange& r) {
  int64_t lo = r.axis == Axis::kStep ? m.min_step : m.min_time;
  int64_t hi = r.axis == Axis::kStep ? m.max_step : m.max_time;
  return hi >= r.from && lo <= r.to;
}

void AddHeadChunks(const std::shared_ptr<Head>& head, uint64_t id, const ReadRange& range,
                   std::vector<ChunkView>* out) {
  if (!head) return;
  HeadSeriesView view;
  if (!head->Read(id, &view)) return;
  for (SealedChunk& c : view.chunks) {
    if (!Overlaps(c.meta, range)) continue;
    ChunkView cv;
    cv.meta = c.meta;
    cv.bytes = *c.bytes;
    cv.owner = std::move(c.bytes);
    out->push_back(std::move(cv));
  }
  if (!view.values.empty()) {
    ChunkView cv;
    cv.meta = ComputeChunkMeta(view.steps, view.times, view.values);
    if (!Overlaps(cv.meta, range)) return;
    cv.raw_steps = std::move(view.steps);
    cv.raw_times = std::move(view.times);
    cv.raw_values = std::move(view.values);
    out->push_back(std::move(cv));
  }
}

}  // namespace

Status Engine::ScanSeries(uint64_t id, const ReadRange& range, std::vector<ChunkView>* out) const {
  if (!catalog_.Get(id)) return Status::NotFound(fmt::format("series {} does not exist", id));
  auto v = CurrentVersion();
  for (const LiveBlock& b : v->blocks) {
    const BlockSeries* s = b.reader->Find(id);
    if (!s) continue;
    for (const BlockChunk& c : s->chunks) {
      if (!Overlaps(c.meta, range)) continue;
      ChunkView cv;
      cv.meta = c.meta;
      cv.bytes = b.reader->RawChunkBytes(c);
      cv.owner = b.reader;
      cv.check_crc = true;
      cv.masked_crc = c.masked_crc;
      cv.file = &b.reader->path();
      cv.offset = c.offset;
      out->push_back(std::move(cv));
    }
  }
  AddHeadChunks(v->imm, id, range, out);
  AddHeadChunks(v->head, id, range, out);
  return Status::OK();
}

Status Engine::ReadSeries(uint64_t id, const ReadRange& range, SeriesColumns* out) const {
  std::vector<ChunkView> chunks;
  VIGIL_RETURN_IF_ERROR(ScanSeries(id, range, &chunks));
  SeriesColumns all;
  size_t total = 0;
  for (const ChunkView& c : chunks) total += c.meta.count;
  all.steps.reserve(total);
  all.times.reserve(total);
  all.values.reserve(total);
  for (const ChunkView& c : chunks) {
    VIGIL_RETURN_IF_ERROR(c.Decode(&all.steps, &all.times, &all.values));
  }
  const std::vector<int64_t>& axis = range.axis == Axis::kStep ? all.steps : all.times;
  // Keep the points in range; order by the axis, stable for equal values.
  std::vector<uint32_t> idx;
  idx.reserve(axis.size());
  bool sorted = true;
  for (size_t i = 0; i < axis.size(); ++i) {
    if (axis[i] < range.from || axis[i] > range.to) continue;
    if (!idx.empty() && axis[i] < axis[idx.back()]) sorted = false;
    idx.push_back(static_cast<uint32_t>(i));
  }
  if (!sorted) {
    std::stable_sort(idx.begin(), idx.end(),
                     [&](uint32_t a, uint32_t b) { return axis[a] < axis[b]; });
  }
  if (sorted && idx.size() == axis.size()) {
    out->steps = std::move(all.steps);
    out->times = std::move(all.times);
    out->values = std::move(all.values);
    return Status::OK();
  }
  out->steps.clear();
  out->times.clear();
  out->values.clear();
  out->steps.reserve(idx.size());
  out->times.reserve(idx.size());
  out->values.reserve(idx.size());
  for (uint32_t i : idx) {
    out->steps.push_back(all.steps[i]);
    out->times.push_back(all.times[i]);
    out->values.push_back(all.values[i]);
  }
  return Status::OK();
}

EngineStats Engine::stats() const {
  EngineStats s;
  {
    std::lock_guard lock(stats_mu_);
    s = counters_;
  }
  s.series = catalog_.size();
  auto v = CurrentVersion();
  for (const auto& h : {v->imm, v->head}) {
    if (!h) continue;
    s.head_points += h->points();
    s.head_bytes += h->bytes();
  }
  s.blocks = v->blocks.size();
  for (const LiveBlock& b : v->blocks) {
    s.block_bytes += b.reader->file_size();
    s.block_points += b.reader->points();
  }
  s.wal_bytes = wal_ ? wal_->total_bytes() : 0;
  {
    std::lock_guard lock(queue_mu_);
    s.pending_points = pending_points_;
  }
  return s;
}

}  // namespace vigil::storage
