#include "storage/block.h"

#include <algorithm>
#include <bit>
#include <limits>

#include <fmt/format.h>

#include "codec/varint.h"
#include "core/crc32c.h"
#include "storage/block_format.h"
#include "storage/file.h"

namespace vigil::storage {

using codec::GetFixed32;
using codec::GetFixed64;
using codec::GetLengthPrefixed;
using codec::GetVarint64;
using codec::PutFixed32;
using codec::PutFixed64;
using codec::PutLengthPrefixed;
using codec::PutVarint64;
using codec::ZigZagDecode;
using codec::ZigZagEncode;

namespace {

uint64_t Bits(double v) {
  return std::bit_cast<uint64_t>(v);
}
double FromBits(uint64_t b) {
  return std::bit_cast<double>(b);
}
// Differences in uint64 so that any pair of int64 values is representable.
uint64_t Diff(int64_t a, int64_t base) {
  return static_cast<uint64_t>(a) - static_cast<uint64_t>(base);
}
int64_t AddDiff(int64_t base, uint64_t d) {
  return static_cast<int64_t>(static_cast<uint64_t>(base) + d);
}

void PutPoint(std::string* out, const Point& p, int64_t min_step, int64_t min_time) {
  PutVarint64(out, Diff(p.step, min_step));
  PutVarint64(out, Diff(p.time_ms, min_time));
  PutFixed64(out, Bits(p.value));
}

bool GetPoint(std::string_view* in, Point* p, int64_t min_step, int64_t min_time) {
  uint64_t ds, dt, bits;
  if (!GetVarint64(in, &ds) || !GetVarint64(in, &dt) || !GetFixed64(in, &bits)) return false;
  *p = {AddDiff(min_step, ds), AddDiff(min_time, dt), FromBits(bits)};
  return true;
}

void PutStats(std::string* out, const SeriesStats& s) {
  PutVarint64(out, s.count);
  PutVarint64(out, s.nan_count);
  PutVarint64(out, ZigZagEncode(s.first_step));
  PutVarint64(out, ZigZagEncode(s.first_time));
  PutVarint64(out, ZigZagEncode(s.last_step));
  PutVarint64(out, ZigZagEncode(s.last_time));
  PutFixed64(out, Bits(s.last_value));
  PutVarint64(out, ZigZagEncode(s.max_step_seen));
  PutFixed64(out, Bits(s.min_value));
  PutFixed64(out, Bits(s.max_value));
}

bool GetZigZag(std::string_view* in, int64_t* v) {
  uint64_t u;
  if (!GetVarint64(in, &u)) return false;
  *v = ZigZagDecode(u);
  return true;
}

bool GetDouble(std::string_view* in, double* v) {
  uint64_t b;
  if (!GetFixed64(in, &b)) return false;
  *v = FromBits(b);
  return true;
}

bool GetStats(std::string_view* in, SeriesStats* s) {
  return GetVarint64(in, &s->count) && GetVarint64(in, &s->nan_count) &&
         GetZigZag(in, &s->first_step) && GetZigZag(in, &s->first_time) &&
         GetZigZag(in, &s->last_step) && GetZigZag(in, &s->last_time) &&
         GetDouble(in, &s->last_value) && GetZigZag(in, &s->max_step_seen) &&
         GetDouble(in, &s->min_value) && GetDouble(in, &s->max_value);
}

}  // namespace

// ---------------------------------------------------------------- writer

BlockWriter::BlockWriter(std::string path, std::unique_ptr<WritableFile> file)
    : path_(std::move(path)), file_(std::move(file)) {}

BlockWriter::~BlockWriter() {
  if (!finished_) {
    file_.reset();
    (void)RemoveFile(path_ + ".tmp");
  }
}

Result<std::unique_ptr<BlockWriter>> BlockWriter::Create(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(auto file, WritableFile::Open(path + ".tmp", /*truncate=*/true));
  std::string header(block_format::kMagic);
  PutFixed32(&header, block_format::kVersion);
  PutFixed32(&header, 0);
  VIGIL_RETURN_IF_ERROR(file->Append(header));
  return std::unique_ptr<BlockWriter>(new BlockWriter(path, std::move(file)));
}

void BlockWriter::BeginSeries(uint64_t id, const SeriesKey& key) {
  id_ = id;
  key_ = key;
  chunks_.clear();
}

Status BlockWriter::AddChunk(const ChunkMeta& meta, std::string_view bytes) {
  BlockChunk c;
  c.meta = meta;
  c.offset = file_->size();
  c.length = static_cast<uint32_t>(bytes.size());
  c.masked_crc = crc32c::Mask(crc32c::Value(bytes));
  VIGIL_RETURN_IF_ERROR(file_->Append(bytes));
  points_ += meta.count;
  chunks_.push_back(c);
  return Status::OK();
}

void BlockWriter::EndSeries(const SeriesStats& stats) {
  if (chunks_.empty()) return;
  // Callers guarantee ascending ids; a violation would make Find() wrong.
  if (have_last_id_ && id_ <= last_id_) std::abort();
  last_id_ = id_;
  have_last_id_ = true;
  ++series_count_;
  std::string& s = section_;
  PutVarint64(&s, id_);
  PutLengthPrefixed(&s, key_.run);
  PutLengthPrefixed(&s, key_.metric);
  PutVarint64(&s, key_.labels.size());
  for (const Label& l : key_.labels) {
    PutLengthPrefixed(&s, l.name);
    PutLengthPrefixed(&s, l.value);
  }
  PutStats(&s, stats);
  PutVarint64(&s, chunks_.front().offset);
  PutVarint64(&s, chunks_.size());
  for (const BlockChunk& c : chunks_) {
    const ChunkMeta& m = c.meta;
    PutVarint64(&s, c.length);
    PutFixed32(&s, c.masked_crc);
    PutVarint64(&s, m.count);
    PutVarint64(&s, m.nan_count);
    s.push_back(static_cast<char>((m.steps_sorted ? block_format::kFlagStepsSorted : 0) |
                                  (m.times_sorted ? block_format::kFlagTimesSorted : 0)));
    PutVarint64(&s, ZigZagEncode(m.min_step));
    PutVarint64(&s, Diff(m.max_step, m.min_step));
    PutVarint64(&s, ZigZagEncode(m.min_time));
    PutVarint64(&s, Diff(m.max_time, m.min_time));
    for (const Point* p : {&m.first, &m.last, &m.min, &m.max})
      PutPoint(&s, *p, m.min_step, m.min_time);
  }
}

Status BlockWriter::Finish() {
  std::string count;
  PutVarint64(&count, series_count_);
  const uint64_t series_offset = file_->size();
  uint32_t crc = crc32c::Extend(crc32c::Value(count), section_.data(), section_.size());
  VIGIL_RETURN_IF_ERROR(file_->Append(count));
  VIGIL_RETURN_IF_ERROR(file_->Append(section_));
  std::string footer;
  PutFixed64(&footer, series_offset);
  PutFixed64(&footer, count.size() + section_.size());
  PutFixed32(&footer, crc32c::Mask(crc));
  PutFixed32(&footer, 0);
  footer.append(block_format::kMagic);
  VIGIL_RETURN_IF_ERROR(file_->Append(footer));
  VIGIL_RETURN_IF_ERROR(file_->Sync());
  VIGIL_RETURN_IF_ERROR(file_->Close());
  VIGIL_RETURN_IF_ERROR(RenameFile(path_ + ".tmp", path_));
  auto slash = path_.rfind('/');
  VIGIL_RETURN_IF_ERROR(SyncDirectory(slash == std::string::npos ? "." : path_.substr(0, slash)));
  finished_ = true;
  return Status::OK();
}

// ---------------------------------------------------------------- reader

BlockReader::~BlockReader() = default;

const std::string& BlockReader::path() const {
  return file_->path();
}
uint64_t BlockReader::file_size() const {
  return file_->data().size();
}

Result<std::shared_ptr<const BlockReader>> BlockReader::Open(const std::string& path) {
  VIGIL_ASSIGN_OR_RETURN(auto file, MappedFile::Open(path));
  std::shared_ptr<BlockReader> r(new BlockReader());
  r->file_ = std::move(file);
  VIGIL_RETURN_IF_ERROR(r->Parse());
  return std::shared_ptr<const BlockReader>(std::move(r));
}

Status BlockReader::Parse() {
  std::string_view data = file_->data();
  auto corrupt = [&](uint64_t offset, std::string_view what) {
    return Status::Corruption(fmt::format("block {} at offset {}: {}", path(), offset, what));
  };
  if (data.size() < block_format::kHeaderSize + block_format::kFooterSize) {
    return corrupt(0, fmt::format("file of {} bytes is too short to be a block", data.size()));
  }
  if (data.substr(0, 8) != block_format::kMagic) return corrupt(0, "bad magic in header");
  if (codec::DecodeFixed32(data.data() + 8) != block_format::kVersion) {
    return corrupt(8, "unsupported block format version");
  }
  const size_t footer_at = data.size() - block_format::kFooterSize;
  std::string_view footer = data.substr(footer_at);
  if (footer.substr(24) != block_format::kMagic) return corrupt(footer_at, "bad magic in footer");
  uint64_t series_offset = codec::DecodeFixed64(footer.data());
  uint64_t series_length = codec::DecodeFixed64(footer.data() + 8);
  uint32_t masked_crc = codec::DecodeFixed32(footer.data() + 16);
  if (series_offset < block_format::kHeaderSize || series_offset > footer_at ||
      series_length != footer_at - series_offset) {
    return corrupt(footer_at, "footer's series section bounds are out of range");
  }
  std::string_view in = data.substr(series_offset, series_length);
  if (crc32c::Unmask(masked_crc) != crc32c::Value(in)) {
    return corrupt(series_offset, "series section checksum mismatch");
  }
  auto bad = [&](std::string_view what) {
    return corrupt(series_offset + (series_length - in.size()), what);
  };
  uint64_t count;
  if (!GetVarint64(&in, &count) || count > in.size()) return bad("bad series count");
  series_.reserve(count);
  min_time_ = std::numeric_limits<int64_t>::max();
  max_time_ = std::numeric_limits<int64_t>::min();
  for (uint64_t i = 0; i < count; ++i) {
    BlockSeries s;
    std::string_view run, metric;
    uint64_t nlabels;
    if (!GetVarint64(&in, &s.id) || !GetLengthPrefixed(&in, &run) ||
        !GetLengthPrefixed(&in, &metric) || !GetVarint64(&in, &nlabels) || nlabels > in.size()) {
      return bad("truncated series key");
    }
    if (!series_.empty() && s.id <= series_.back().id) return bad("series ids out of order");
    s.key.run = run;
    s.key.metric = metric;
    for (uint64_t k = 0; k < nlabels; ++k) {
      std::string_view name, value;
      if (!GetLengthPrefixed(&in, &name) || !GetLengthPrefixed(&in, &value)) {
        return bad("truncated label");
      }
      s.key.labels.push_back({std::string(name), std::string(value)});
    }
    uint64_t offset, nchunks;
    if (!GetStats(&in, &s.stats) || !GetVarint64(&in, &offset) || !GetVarint64(&in, &nchunks) ||
        nchunks > in.size()) {
      return bad("truncated series stats");
    }
    s.chunks.reserve(nchunks);
    for (uint64_t c = 0; c < nchunks; ++c) {
      BlockChunk ch;
      uint64_t length, cnt, nan;
      uint64_t step_span, time_span;
      ChunkMeta& m = ch.meta;
      if (!GetVarint64(&in, &length) || !GetFixed32(&in, &ch.masked_crc) ||
          !GetVarint64(&in, &cnt) || !GetVarint64(&in, &nan) || in.empty()) {
        return bad("truncated chunk entry");
      }
      auto flags = static_cast<uint8_t>(in[0]);
      in.remove_prefix(1);
      if (!GetZigZag(&in, &m.min_step) || !GetVarint64(&in, &step_span) ||
          !GetZigZag(&in, &m.min_time) || !GetVarint64(&in, &time_span)) {
        return bad("truncated chunk extent");
      }
      m.max_step = AddDiff(m.min_step, step_span);
      m.max_time = AddDiff(m.min_time, time_span);
      for (Point* p : {&m.first, &m.last, &m.min, &m.max}) {
        if (!GetPoint(&in, p, m.min_step, m.min_time)) return bad("truncated chunk summary");
      }
      if (cnt == 0 || cnt > 0xffffffffu || nan > cnt || offset > series_offset ||
          length > series_offset - offset) {
        return bad("chunk entry out of range");
      }
      m.count = static_cast<uint32_t>(cnt);
      m.nan_count = static_cast<uint32_t>(nan);
      m.steps_sorted = flags & block_format::kFlagStepsSorted;
      m.times_sorted = flags & block_format::kFlagTimesSorted;
      ch.offset = offset;
      ch.length = static_cast<uint32_t>(length);
      offset += length;
      points_ += m.count;
      min_time_ = std::min(min_time_, m.min_time);
      max_time_ = std::max(max_time_, m.max_time);
      s.chunks.push_back(ch);
    }
    series_.push_back(std::move(s));
  }
  if (!in.empty()) return bad("trailing bytes after the last series");
  return Status::OK();
}

const BlockSeries* BlockReader::Find(uint64_t id) const {
  auto it = std::lower_bound(series_.begin(), series_.end(), id,
                             [](const BlockSeries& s, uint64_t v) { return s.id < v; });
  return (it != series_.end() && it->id == id) ? &*it : nullptr;
}

std::string_view BlockReader::RawChunkBytes(const BlockChunk& chunk) const {
  return file_->data().substr(chunk.offset, chunk.length);
}

Result<std::string_view> BlockReader::ChunkBytes(const BlockChunk& chunk) const {
  std::string_view bytes = file_->data().substr(chunk.offset, chunk.length);
  if (crc32c::Unmask(chunk.masked_crc) != crc32c::Value(bytes)) {
    return Status::Corruption(
        fmt::format("block {} at offset {}: chunk checksum mismatch", path(), chunk.offset));
  }
  return bytes;
}

}  // namespace vigil::storage
