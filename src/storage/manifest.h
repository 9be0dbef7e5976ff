// Manifest: the engine's record of which files hold its data. Replaced
// atomically (write to MANIFEST.tmp, fsync, rename, fsync the directory) on
// every change of the block set, so that a crash leaves either the old or
// the new set and files that no manifest names are garbage to delete.
//
// Text, one fact per line, ending in a CRC-32C line over the lines before:
//   vigil-manifest 1
//   wal_start 12          WAL segments below 12 are in blocks already
//   next_file 9           file numbers are never reused
//   next_series_id 1234   series ids are never reused
//   block 7 3             block file 00000007.blk holds data of order 3
//   tombstone r8x2 1200   series of run r8x2 with id <= 1200 are deleted
//   crc 1f2e3d4c
// Block order: blocks hold successive spans of appends, and a series' points
// are read from blocks in ascending order, so append order survives
// compaction (a merged block takes the smallest order of its inputs).
//
// Thread-safety: value type plus pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"

namespace vigil::storage {

struct ManifestBlock {
  uint64_t file_number = 0;
  uint64_t order = 0;
  friend bool operator==(const ManifestBlock&, const ManifestBlock&) = default;
};

struct Tombstone {
  std::string run;
  uint64_t max_series_id = 0;
  friend bool operator==(const Tombstone&, const Tombstone&) = default;
};

struct Manifest {
  uint64_t wal_start = 1;
  uint64_t next_file = 1;
  uint64_t next_series_id = 1;
  std::vector<ManifestBlock> blocks;  // ascending order
  std::vector<Tombstone> tombstones;
  friend bool operator==(const Manifest&, const Manifest&) = default;
};

std::string EncodeManifest(const Manifest& m);
Result<Manifest> DecodeManifest(std::string_view text, std::string_view path_for_errors);

// Reads dir/MANIFEST; an empty Manifest if the file does not exist.
Result<Manifest> LoadManifest(const std::string& dir);
Status SaveManifest(const std::string& dir, const Manifest& m);

// "00000007.blk"
std::string BlockFileName(uint64_t file_number);

}  // namespace vigil::storage
