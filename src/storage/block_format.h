// On-disk constants of a block file (blocks/NNNNNNNN.blk): the immutable
// file that a flush or a compaction writes. Full specification with a
// worked example: docs/format/blocks.md.
//
//   block     := header chunk* series_section footer
//   header    := magic[8] = "VGLBLK\0\1" | version fixed32 = 1 | reserved fixed32 = 0
//   chunk     := the bytes of one encoded chunk (docs/format/chunks.md);
//                the chunks of one series are contiguous and in append order
//   series_section :=
//       varint series_count
//       series_count x {                        (ascending id)
//         varint id
//         lp run | lp metric | varint label_count | label_count x (lp name | lp value)
//         stats: varint count | varint nan_count | zz first_step | zz first_time
//                | zz last_step | zz last_time | fixed64 last_value
//                | zz max_step_seen | fixed64 min_value | fixed64 max_value
//         varint first_chunk_offset             (file offset of its first chunk)
//         varint chunk_count
//         chunk_count x {
//           varint length | fixed32 masked_crc32c(chunk bytes)
//           varint count | varint nan_count | byte flags (1 steps_sorted, 2 times_sorted)
//           zz min_step | varint max_step - min_step
//           zz min_time | varint max_time - min_time
//           4 x point (first, last, min, max):
//               varint step - min_step | varint time - min_time | fixed64 value
//         }
//       }
//   footer    := fixed64 series_offset | fixed64 series_length
//                | fixed32 masked_crc32c(series_section) | fixed32 reserved = 0
//                | magic[8]
//
// lp = varint length + bytes; zz = zigzag varint; fixed = little-endian;
// fixed64 values are the raw IEEE-754 bits. Differences such as
// max_step - min_step are computed in uint64 (wrapping), so every int64 is
// representable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vigil::storage::block_format {

inline constexpr std::string_view kMagic{"VGLBLK\0\1", 8};
inline constexpr uint32_t kVersion = 1;
inline constexpr size_t kHeaderSize = 16;
inline constexpr size_t kFooterSize = 32;
inline constexpr uint8_t kFlagStepsSorted = 1;
inline constexpr uint8_t kFlagTimesSorted = 2;
inline constexpr std::string_view kFileSuffix = ".blk";

}  // namespace vigil::storage::block_format
