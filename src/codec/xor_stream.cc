#include "codec/xor_stream.h"

#include <algorithm>
#include <cassert>

#include "codec/bit_reader.h"
#include "codec/bit_writer.h"
#include "codec/chunk_format.h"

namespace vigil::codec {
namespace {

using format::kGroupSize;

// What differs between the two widths: the word and its header fields.
struct Word64 {
  using W = uint64_t;
  static constexpr int kBits = 64;
  static constexpr int kLeadBits = format::kXor64LeadBits;
  static constexpr int kLenBits = format::kXor64LenBits;
  static W ToWord(double v) { return std::bit_cast<uint64_t>(v); }
  static double FromWord(W w) { return std::bit_cast<double>(w); }
};

struct Word32 {
  using W = uint32_t;
  static constexpr int kBits = 32;
  static constexpr int kLeadBits = format::kXor32LeadBits;
  static constexpr int kLenBits = format::kXor32LenBits;
  static W ToWord(double v) { return std::bit_cast<uint32_t>(static_cast<float>(v)); }
  static double FromWord(W w) { return static_cast<double>(std::bit_cast<float>(w)); }
};

template <typename T>
void EncodeXor(std::span<const double> values, std::string* out) {
  using W = typename T::W;
  constexpr int kHeaderBits = T::kLeadBits + T::kLenBits;  // of a new window
  size_t n = values.size();
  if (n == 0) return;
  BitWriter w(out);
  W prev = T::ToWord(values[0]);
  w.Write(prev, T::kBits);
  int lead = 0;  // the window
  int len = T::kBits;
  W x[kGroupSize];
  for (size_t start = 1; start < n; start += kGroupSize) {
    size_t count = std::min<size_t>(kGroupSize, n - start);
    W any = 0;
    for (size_t j = 0; j < count; ++j) {
      W cur = T::ToWord(values[start + j]);
      x[j] = cur ^ prev;
      any |= x[j];
      prev = cur;
    }
    if (any == 0) {
      w.Write(0b0, 1);  // '0': the group repeats the previous value
      continue;
    }
    int glead = std::countl_zero(any);
    int gtrail = std::countr_zero(any);
    int glen = T::kBits - glead - gtrail;
    int trail = T::kBits - lead - len;
    // Reuse the window if the group fits it and that costs no more than a
    // new, tight window (a far too wide window wastes bits on zeros).
    auto c = static_cast<int>(count);
    if (glead >= lead && gtrail >= trail && c * len <= c * glen + kHeaderBits) {
      w.Write(0b10, 2);  // '10': same window
    } else {
      lead = glead;
      len = glen;
      trail = gtrail;
      w.Write(0b11, 2);  // '11': new window, lead, len - 1
      w.Write(static_cast<uint64_t>(lead), T::kLeadBits);
      w.Write(static_cast<uint64_t>(len - 1), T::kLenBits);
    }
    for (size_t j = 0; j < count; ++j) w.Write(static_cast<uint64_t>(x[j] >> trail), len);
  }
  w.Finish();
}

template <typename T>
Status DecodeXor(std::string_view in, size_t n, double* out) {
  using W = typename T::W;
  constexpr int kHeaderBits = 2 + T::kLeadBits + T::kLenBits;
  if (n == 0) return Status::Corruption("empty value stream");
  BitSpan bits(in);
  auto prev = static_cast<W>(bits.Read(0, T::kBits));
  out[0] = T::FromWord(prev);
  uint64_t pos = T::kBits;
  int lead = 0;
  int len = T::kBits;
  for (size_t i = 1; i < n; i += kGroupSize) {
    size_t count = std::min<size_t>(kGroupSize, n - i);
    uint64_t head = bits.CanReadUnchecked(pos + kHeaderBits) ? bits.ReadUnchecked(pos, kHeaderBits)
                                                             : bits.Read(pos, kHeaderBits);
    if ((head >> (kHeaderBits - 1)) == 0) {  // '0'
      pos += 1;
      for (size_t j = 0; j < count; ++j) out[i + j] = T::FromWord(prev);
      continue;
    }
    if ((head >> (kHeaderBits - 2)) == 0b11) {  // '11'
      lead = static_cast<int>((head >> T::kLenBits) & ((1u << T::kLeadBits) - 1));
      len = static_cast<int>(head & ((1u << T::kLenBits) - 1)) + 1;
      if (lead + len > T::kBits) return Status::Corruption("XOR window exceeds the word");
      pos += kHeaderBits;
    } else {  // '10'
      pos += 2;
    }
    int shift = T::kBits - lead - len;
    uint64_t end = pos + count * static_cast<uint64_t>(len);
    // The group's fields lie at known positions: independent loads.
    if (len <= BitSpan::kMaxUncheckedBits && bits.CanReadUnchecked(end)) [[likely]] {
      // A field sits at the top of Word(); shifted down by 64 - W + lead it
      // is in place in the W-bit word, above bits of the next field that
      // the mask clears.
      const int down = 64 - T::kBits + lead;
      const uint64_t mask = (~uint64_t{0} >> (64 - len)) << shift;
      for (size_t j = 0; j < count; ++j) {
        prev ^= static_cast<W>((bits.Word(pos + j * len) >> down) & mask);
        out[i + j] = T::FromWord(prev);
      }
    } else if (bits.CanReadUnchecked(end)) {
      // Fields of 58..64 bits (a value changing sign or exponent): two loads.
      for (size_t j = 0; j < count; ++j) {
        prev ^= static_cast<W>(bits.ReadUncheckedWide(pos + j * len, len) << shift);
        out[i + j] = T::FromWord(prev);
      }
    } else {  // the last bytes of the stream: bounds-checked reads
      for (size_t j = 0; j < count; ++j) {
        prev ^= static_cast<W>(bits.Read(pos + j * len, len) << shift);
        out[i + j] = T::FromWord(prev);
      }
    }
    pos = end;
  }
  if (pos > bits.size_bits()) return Status::Corruption("bit stream truncated");
  if ((pos + 7) / 8 != bits.size_bits() / 8) {
    return Status::Corruption("trailing bytes after bit stream");
  }
  return Status::OK();
}

}  // namespace

void EncodeXor64(std::span<const double> values, std::string* out) {
  EncodeXor<Word64>(values, out);
}
Status DecodeXor64(std::string_view in, size_t n, double* out) {
  return DecodeXor<Word64>(in, n, out);
}

void EncodeXor32(std::span<const double> values, std::string* out) {
  assert(std::all_of(values.begin(), values.end(), IsFloat32Exact));
  EncodeXor<Word32>(values, out);
}
Status DecodeXor32(std::string_view in, size_t n, double* out) {
  return DecodeXor<Word32>(in, n, out);
}

}  // namespace vigil::codec
