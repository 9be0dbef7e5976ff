// On-disk constants of the WAL framing (the layer below the typed records of
// storage/record/). Specified in docs/format/wal.md; shared by LogWriter,
// LogReader and Wal. Changing any value here changes the file format.
//
// A segment file is a sequence of 32 KiB blocks (the last one may be short).
// Each record is cut into one or more fragments; a fragment never crosses a
// block boundary:
//
//   fragment := checksum: fixed32 LE   masked CRC-32C of type byte + payload
//               length:   fixed16 LE   payload bytes, <= kBlockSize - kHeaderSize
//               type:     uint8        FragmentType below
//               payload:  `length` bytes
//
//   byte   0      4      6    7
//          +------+------+----+-------------------
//          | crc  | len  |type| payload ...
//          +------+------+----+-------------------
//
// When fewer than kHeaderSize bytes are left in a block, they are filled with
// zeros (the trailer) and the next fragment starts the next block.
//
// Thread-safety: constants only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vigil::storage::log {

enum FragmentType : uint8_t {
  // Never written. Zero-filled space (a preallocated or torn tail) reads as a
  // header of type 0, so the type cannot be mistaken for a fragment.
  kZeroType = 0,
  kFullType = 1,    // a whole record
  kFirstType = 2,   // first fragment of a record
  kMiddleType = 3,  // interior fragment of a record
  kLastType = 4,    // last fragment of a record
};
inline constexpr int kMaxFragmentType = kLastType;

// Block size: large enough that the 7-byte headers cost ~0.02% for big
// records, small enough that a reader resynchronises at the next block
// boundary after a damaged header (as in leveldb).
inline constexpr size_t kBlockSize = 32768;

// checksum (4) + length (2) + type (1).
inline constexpr size_t kHeaderSize = 4 + 2 + 1;

// Largest payload of one fragment: a block minus its header. Fits in the
// 16-bit length field.
inline constexpr size_t kMaxFragmentPayload = kBlockSize - kHeaderSize;
static_assert(kMaxFragmentPayload <= 0xffff);

// Segment file names: the segment number in decimal, zero-padded to at least
// kSegmentNameDigits digits, then kSegmentSuffix ("00000042.wal"). Numbers
// start at 1 and only grow.
inline constexpr int kSegmentNameDigits = 8;
inline constexpr std::string_view kSegmentSuffix = ".wal";

}  // namespace vigil::storage::log
