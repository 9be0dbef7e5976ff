// On-disk constants of the chunk format (docs/format/chunks.md). Every byte
// and bit code a chunk holds is named here with its layout; the encoders and
// decoders in this folder include this file and nothing else defines a
// format constant.
//
// Chunk (all integers little-endian varints unless said otherwise):
//
//   +--------+-----------+-------------+-------------+-------+-------+--------+
//   | format | count     | steps_len   | times_len   | steps | times | values |
//   | 1 byte | varint    | varint      | varint      | bytes | bytes | rest   |
//   +--------+-----------+-------------+-------------+-------+-------+--------+
//
//   format:    bits 7..4 = kChunkVersion, bits 3..0 = ValueEncoding.
//   count:     number of points, 1..kMaxChunkPoints.
//   steps_len, times_len: byte lengths of the two integer columns, so that
//              a reader can skip a column; the values stream is the rest of
//              the chunk and must be consumed exactly.
//   steps, times: integer columns (below): a kind byte, then a stream.
//
// Bit streams are written most significant bit first into consecutive bytes
// (bit 7 of byte 0 is the first bit) and padded with zero bits to a byte.
//
// Thread-safety: constants only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace vigil::codec::format {

// ---- chunk header -------------------------------------------------------

// Version in the high nibble of the format byte. A reader rejects any other
// version as Corruption (there is no older format to read).
inline constexpr uint8_t kChunkVersion = 1;
inline constexpr int kVersionShift = 4;
inline constexpr uint8_t kEncodingMask = 0x0f;
// Largest valid ValueEncoding (kDecimal).
inline constexpr uint8_t kMaxValueEncoding = 2;

// ---- integer streams (steps, times, decimal mantissas) ------------------
//
// A "delta stream" of order k (k = 1: deltas, k = 2: delta-of-delta) of n
// int64 values v[0..n):
//
//   varint zigzag(v[0])                                  if n >= 1
//   varint zigzag(v[1] - v[0])                           if n >= 2 and k == 2
//   1 byte s, the selector width in bits (0..3)          if n > k
//   2^s bytes: the width table w[0..2^s), each 0..64     if n > k
//   bit stream                                           if n > k
//
// The residuals r[i] for i in [k, n) (delta v[i] - v[i-1], or
// delta-of-delta (v[i] - v[i-1]) - (v[i-1] - v[i-2])) are taken modulo
// 2^64 (uint64 wrap-around), so every int64 sequence round-trips. They form
// groups of kGroupSize (the last group holds the remaining 1..8). Each
// group in the bit stream is:
//
//   s bits: selector j (index into the width table)
//   for each residual of the group: r + 2^(w[j]-1) in w[j] bits (offset
//   binary, modulo 2^64; 0 bits if w[j] = 0)
//
// so every residual of a group has the same bit bucket, the narrowest of
// the table that holds every residual of the group: width w holds r in
// [-2^(w-1), 2^(w-1)), i.e. zigzag(r) < 2^w. (Offset binary rather than
// zigzag: the same range, decoded by one subtraction.) The encoder picks s
// and the table per stream to minimise the stream's size (a dynamic
// programme over the groups' bit lengths). A width of 0 makes a group cost
// only its selector: steps that advance by a constant (all residuals 0)
// take s = 0, w = {0} and no bits at all, only the header bytes.
//
// Why groups, not Gorilla's per-value prefix codes: with one width per
// group the decoder knows where every field of the group starts and
// extracts them independently (several loads in flight) instead of
// decoding one variable-length code before it can find the next; and for
// jittered timestamps, whose residuals spread evenly over a few bits, one
// selector per 8 values costs less than a prefix per value (measured on
// 250 ms +- 4 ms times: 4.4 bits/point, against 4.8 for the best per-value
// unary buckets; steps + 1: 5 bytes per chunk of 512 against 72).
inline constexpr int kGroupSize = 8;
inline constexpr int kMaxSelectorBits = 3;
inline constexpr int kMaxWidthTable = 1 << kMaxSelectorBits;
inline constexpr int kMaxFieldWidth = 64;

// An "integer column" (the steps and the times of a chunk):
//
//   1 byte kind (IntColumn)
//   kDeltaOfDelta: a delta stream of order 2
//   kLinear:       varint zigzag(stride), then a packed stream of
//                  u[i] = v[i] - i * stride (modulo 2^64); v[i] = u[i] + i * stride
//
// The encoder writes the smaller. Measured on 250 ms +- 3 ms times, 1,024
// points: 3.0 bits/point linear against 4.4 delta-of-delta.
enum class IntColumn : uint8_t {
  kDeltaOfDelta = 0,
  kLinear = 1,
};

// A "packed stream" (frame of reference) of n int64 values:
//
//   varint zigzag(min)
//   1 byte width w (0..64): bit length of max - min (as uint64)
//   bit stream: for each i, (v[i] - min) as uint64 in w bits
inline constexpr int kMaxPackedWidth = 64;

// ---- XOR streams (values, kXor64 and kXor32) ----------------------------
//
// A bit stream over the values' IEEE bits (W = 64 for kXor64, W = 32 for
// kXor32, whose words are the values narrowed to float). The first word
// raw in W bits; then the XORs x[i] = word[i] ^ word[i-1], i in [1, n), in
// groups of kGroupSize (the last group holds the remaining 1..8). Each
// group is one of:
//
//   '0'                               every x of the group is 0 (repeats)
//   '10' + count * len bits           the window is reused
//   '11' + lead (LeadBits) + len - 1 (LenBits) + count * len bits
//                                     a new window
//
// A window is `lead` leading zero bits, then `len` meaningful bits, then
// W - lead - len trailing zero bits, which every x of the group fits; each
// x is stored as its len meaningful bits. The window before the first '11'
// is lead = 0, len = W (the whole word). lead + len must not exceed W.
//
// This is Gorilla's XOR scheme with one control code and one window per
// group of 8 instead of per value: it measures smaller on training metrics
// (the per-value control bits are gone, e.g. 52.8 vs 54.8 bits/value on a
// noisy float64 loss, 0.4 vs 1.1 on a step LR schedule) and decodes the 8
// fields of a group at known positions, independently.
inline constexpr int kXor64LeadBits = 6;  // lead 0..63
inline constexpr int kXor64LenBits = 6;   // len 1..64 as len - 1
inline constexpr int kXor32LeadBits = 5;  // lead 0..31
inline constexpr int kXor32LenBits = 5;   // len 1..32 as len - 1

// ---- decimal stream (values, kDecimal) ----------------------------------
//
//   1 byte: bits 4..0 = d (0..kMaxDecimalDigits), bits 6..5 = mantissa
//           stream kind (DecimalMantissa), bit 7 = 0
//   then the mantissas m[0..n) as a packed stream, or a delta stream of
//   order 1 or 2.
//
// Value i decodes as static_cast<double>(m[i]) / kPow10[d]: an IEEE division
// by an exact power of ten, hence the double nearest to m / 10^d, the same
// double as parsing the decimal text. The encoder only uses it when every
// value reproduces bit-exactly (which rules out -0.0, NaN and Inf) and
// |m| < 2^51, so that the decoder may convert m to double exactly with the
// vectorisable 1.5 * 2^52 bias trick instead of a scalar int64 conversion.
// (A corrupt m outside that range decodes to a wrong value, never to UB.)
inline constexpr int kMaxDecimalDigits = 15;
inline constexpr uint8_t kDecimalDigitsMask = 0x1f;
inline constexpr int kDecimalKindShift = 5;
inline constexpr uint8_t kDecimalReservedBit = 0x80;
inline constexpr int64_t kMaxDecimalMantissa = int64_t{1} << 51;  // exclusive

enum class DecimalMantissa : uint8_t {
  kPacked = 0,
  kDelta = 1,
  kDeltaOfDelta = 2,
};
inline constexpr uint8_t kMaxDecimalMantissaKind = 2;

// 10^d for d in [0, kMaxDecimalDigits]; each is exact in a double.
inline constexpr double kPow10[kMaxDecimalDigits + 1] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
inline constexpr int64_t kPow10Int[kMaxDecimalDigits + 1] = {1,
                                                             10,
                                                             100,
                                                             1000,
                                                             10000,
                                                             100000,
                                                             1000000,
                                                             10000000,
                                                             100000000,
                                                             1000000000,
                                                             10000000000,
                                                             100000000000,
                                                             1000000000000,
                                                             10000000000000,
                                                             100000000000000,
                                                             1000000000000000};

}  // namespace vigil::codec::format
