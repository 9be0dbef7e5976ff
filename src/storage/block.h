// Block files: immutable sets of sealed chunks for many series, with a
// series section (keys, stats, per-chunk summaries) read into memory when
// the block is opened. Format: storage/block_format.h.
//
// BlockWriter streams chunks to a temporary file and finishes it atomically
// (fsync, rename, directory fsync); BlockReader maps the file and checks the
// footer and the section's CRC at open and each chunk's CRC on access.
//
// Thread-safety: a BlockWriter is used by one thread. A BlockReader is
// immutable after Open and may be shared by any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/types.h"
#include "storage/chunk_meta.h"
#include "storage/series_stats.h"

namespace vigil::storage {

class WritableFile;
class MappedFile;

struct BlockChunk {
  ChunkMeta meta;
  uint64_t offset = 0;  // in the file
  uint32_t length = 0;
  uint32_t masked_crc = 0;
};

struct BlockSeries {
  uint64_t id = 0;
  SeriesKey key;
  SeriesStats stats;
  std::vector<BlockChunk> chunks;  // append order
};

class BlockWriter {
 public:
  // Writes to `path` + ".tmp"; Finish() renames it to `path`.
  static Result<std::unique_ptr<BlockWriter>> Create(const std::string& path);
  ~BlockWriter();  // removes the temporary file unless Finish() succeeded
  BlockWriter(const BlockWriter&) = delete;
  BlockWriter& operator=(const BlockWriter&) = delete;

  // Series in strictly ascending id order; chunks of a series in append
  // order between BeginSeries and EndSeries. A series with no chunks is
  // dropped.
  void BeginSeries(uint64_t id, const SeriesKey& key);
  Status AddChunk(const ChunkMeta& meta, std::string_view bytes);
  void EndSeries(const SeriesStats& stats);
  Status Finish();

  uint64_t points() const { return points_; }

 private:
  BlockWriter(std::string path, std::unique_ptr<WritableFile> file);

  std::string path_;
  std::unique_ptr<WritableFile> file_;
  std::string section_;  // the series section, built as series end
  uint64_t series_count_ = 0;
  // The open series.
  uint64_t id_ = 0;
  SeriesKey key_;
  std::vector<BlockChunk> chunks_;
  uint64_t points_ = 0;
  uint64_t last_id_ = 0;
  bool have_last_id_ = false;
  bool finished_ = false;
};

class BlockReader {
 public:
  static Result<std::shared_ptr<const BlockReader>> Open(const std::string& path);
  ~BlockReader();
  BlockReader(const BlockReader&) = delete;
  BlockReader& operator=(const BlockReader&) = delete;

  const std::vector<BlockSeries>& series() const { return series_; }
  // The series with this id, or null.
  const BlockSeries* Find(uint64_t id) const;
  // The chunk's bytes, after checking its CRC (Corruption naming the file
  // and offset otherwise).
  Result<std::string_view> ChunkBytes(const BlockChunk& chunk) const;
  // The chunk's bytes unchecked (the caller checks masked_crc itself).
  std::string_view RawChunkBytes(const BlockChunk& chunk) const;

  const std::string& path() const;
  uint64_t file_size() const;
  uint64_t points() const { return points_; }
  int64_t min_time() const { return min_time_; }
  int64_t max_time() const { return max_time_; }

 private:
  BlockReader() = default;
  Status Parse();

  std::unique_ptr<MappedFile> file_;
  std::vector<BlockSeries> series_;  // ascending id
  uint64_t points_ = 0;
  int64_t min_time_ = 0;
  int64_t max_time_ = 0;
};

}  // namespace vigil::storage
