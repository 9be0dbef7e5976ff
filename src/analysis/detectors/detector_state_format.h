// The byte layout of a serialised detector state (Detector::SaveState), the
// form in which the alerting layer checkpoints detectors across server
// restarts. All integers little-endian, doubles as their IEEE-754 bit
// pattern in a little-endian uint64.
//
//   offset  size  field
//   0       4     magic "vdet"
//   4       1     version (kStateVersion)
//   5       1     FindingKind of the detector (detector.h)
//   6       1     has_last_step (0/1)
//   7       8     last_step (int64)
//   15      8     last_score (double)
//   23      1     active (0/1)
//   24      n     detector fields, in the order of that detector's
//                 SaveFields (see its .cc); a ring of doubles is a uint32
//                 count followed by the doubles
//   24+n    4     masked CRC-32C (core/crc32c.h) of bytes [0, 24+n)
//
// Worked example: a non_finite detector that saw step 7, last score 1,
// active: "vdet" 01 00 01 07 00 00 00 00 00 00 00  00 00 00 00 00 00 f0 3f
// 01, then its fields (none) and the 4 CRC bytes: 28 bytes in all.
//
// A version change makes old checkpoints unreadable (RestoreState returns
// Corruption) and the caller falls back to replaying the stored tail.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil::analysis::state_format {

inline constexpr char kMagic[4] = {'v', 'd', 'e', 't'};
inline constexpr uint8_t kStateVersion = 1;
inline constexpr size_t kHeaderSize = 24;  // magic..active, before the fields
inline constexpr size_t kTrailerSize = 4;  // the CRC
// A ring stored in a state never holds more than this many doubles (the
// largest window a detector accepts); a larger count is Corruption.
inline constexpr uint32_t kMaxRing = 4096;

}  // namespace vigil::analysis::state_format
