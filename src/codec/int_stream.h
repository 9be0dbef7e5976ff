// Integer streams of a chunk: the step and time columns and the mantissas
// of decimal values. Two layouts (byte/bit layout in chunk_format.h):
//
//   - delta stream of order 1 (deltas) or 2 (delta-of-delta): the first
//     value(s) as varints, then the residuals in groups of 8, each group in
//     one of up to 8 bit widths that the encoder picks per stream to
//     minimise its size;
//   - packed stream (frame of reference): every value minus the minimum in
//     a fixed number of bits.
//
// All arithmetic is modulo 2^64, so any int64 sequence (INT64_MIN/MAX,
// out of order, repeated) round-trips. Decoders take the point count from
// the chunk header and return Corruption for any stream that is truncated,
// overlong or has an invalid field; they never read outside `in`.
//
// Thread-safety: pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "codec/chunk_format.h"
#include "core/status.h"

namespace vigil::codec {

// The width table chosen for a delta stream and its encoded size.
struct DeltaStreamPlan {
  int selector_bits = 0;                        // s: the table has 2^s widths
  uint8_t widths[format::kMaxWidthTable] = {};  // ascending
  size_t header_bytes = 0;                      // varints, s and the table
  uint64_t payload_bits = 0;                    // bucket codes and residuals
  size_t size() const { return header_bytes + static_cast<size_t>((payload_bits + 7) / 8); }
};

// Plans a delta stream of `order` (1 or 2) for `values`: one pass over the
// residuals, then a dynamic programme over the groups' distinct bit lengths.
DeltaStreamPlan PlanDeltaStream(std::span<const int64_t> values, int order);

// Appends the delta stream of `values` to *out, with the widths of `plan`
// (from PlanDeltaStream for the same values and order).
void EncodeDeltaStream(std::span<const int64_t> values, int order, const DeltaStreamPlan& plan,
                       std::string* out);
inline void EncodeDeltaStream(std::span<const int64_t> values, int order, std::string* out) {
  EncodeDeltaStream(values, order, PlanDeltaStream(values, order), out);
}

// Decodes n values (n >= 1) from exactly the bytes of `in` into out[0..n).
Status DecodeDeltaStream(std::string_view in, int order, size_t n, int64_t* out);

// An integer column of a chunk (steps or times): one kind byte
// (format::IntColumn), then
//   kDeltaOfDelta: a delta stream of order 2;
//   kLinear:       varint zigzag(stride), then the packed stream of
//                  u[i] = v[i] - i * stride (modulo 2^64).
// The encoder writes whichever is smaller (ties: delta-of-delta). Linear
// wins for jittered clocks (t = t0 + i * interval + jitter): it stores the
// jitter itself, about log2(range) bits, where delta-of-delta stores a
// difference of differences of it, with a range four times as wide.
void EncodeIntColumn(std::span<const int64_t> values, std::string* out);
// Decodes n values (n >= 1) from exactly the bytes of `in`.
Status DecodeIntColumn(std::string_view in, size_t n, int64_t* out);

// Size in bytes of the packed stream of `values`.
size_t PackedStreamSize(std::span<const int64_t> values);
void EncodePackedStream(std::span<const int64_t> values, std::string* out);
Status DecodePackedStream(std::string_view in, size_t n, int64_t* out);

}  // namespace vigil::codec
