// Chunk codec: the compressed, immutable encoding of up to kMaxChunkPoints
// consecutive points of one series. Storage seals points into chunks; the
// query layer decodes them. Format: docs/format/chunks.md; every on-disk
// constant is in codec/chunk_format.h.
//
// Lossless for every bit pattern: steps and times (int64) by delta-of-delta,
// values (float64) by whichever of these is smallest for the chunk's values:
//   - XOR of float64 (Gorilla's scheme, one window per group of 8 values),
//     always applicable;
//   - XOR of float32, when every value is exactly a float32 widened to
//     float64 (as `loss.item()` of an fp32 tensor is);
//   - scaled decimal integers, when every value is m / 10^d for one d and
//     int64 m that decode back bit-exact (short decimals: 0.8125, 93, 0.51).
//
// Columns are stored as separate streams so a reader can decode only the
// ones it needs (e.g. steps and values for a step-indexed chart).
//
// Thread-safety: pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"

namespace vigil::codec {

// Bounded so that a chunk's count fits in 16 bits and a decode's work is
// bounded; storage uses far fewer (512 by default).
inline constexpr size_t kMaxChunkPoints = 65535;

enum class ValueEncoding : uint8_t {
  kXor64 = 0,
  kXor32 = 1,
  kDecimal = 2,
};

std::string_view ValueEncodingName(ValueEncoding e);

struct ChunkInfo {
  uint32_t count = 0;
  ValueEncoding encoding = ValueEncoding::kXor64;
};

// Encodes points i in [0, n) (n = values.size(), 1 <= n <= kMaxChunkPoints,
// steps/times/values of equal length) and appends the chunk to *out, picking
// the smallest applicable value encoding. Steps and times may go in any
// order (out-of-order and repeated steps are legal), any int64 value.
void EncodeChunk(std::span<const int64_t> steps, std::span<const int64_t> times,
                 std::span<const double> values, std::string* out);

// As EncodeChunk with a fixed value encoding. NotSupported if some value
// cannot be represented bit-exactly by `encoding`. For tests and benchmarks.
Status EncodeChunkWith(ValueEncoding encoding, std::span<const int64_t> steps,
                       std::span<const int64_t> times, std::span<const double> values,
                       std::string* out);

// Reads the header only.
Result<ChunkInfo> PeekChunk(std::string_view chunk);

// Decodes `chunk` (exactly one chunk's bytes), appending each column to the
// vector given; a null pointer skips that column's decoding (its stream is
// not read, so damage there goes unnoticed). Any malformed input
// (truncated, bad header, stream overrun) yields Corruption, leaves the
// vectors as they were and never reads out of bounds: chunk bytes can come
// from a damaged disk. Allocates at most count elements per column.
// REQUIRES: the non-null vectors are distinct objects.
Status DecodeChunk(std::string_view chunk, std::vector<int64_t>* steps, std::vector<int64_t>* times,
                   std::vector<double>* values);

}  // namespace vigil::codec
