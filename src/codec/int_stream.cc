#include "codec/int_stream.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <limits>
#include <vector>

#include "codec/bit_reader.h"
#include "codec/bit_writer.h"
#include "codec/varint.h"

namespace vigil::codec {
namespace {

using format::kGroupSize;
using format::kMaxFieldWidth;
using format::kMaxSelectorBits;
using format::kMaxWidthTable;

size_t VarintLength(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

int BitLength(uint64_t v) {
  return 64 - std::countl_zero(v);
}

// The residual of order `order` at index i >= order, modulo 2^64.
template <int kOrder>
uint64_t Residual(std::span<const int64_t> v, size_t i) {
  auto a = static_cast<uint64_t>(v[i]);
  auto b = static_cast<uint64_t>(v[i - 1]);
  if constexpr (kOrder == 1) {
    return a - b;
  } else {
    auto c = static_cast<uint64_t>(v[i - 2]);
    return (a - b) - (b - c);
  }
}

// Per bit length b (0..64): how many residuals lie in groups whose widest
// zigzag(residual) has b bits, and how many such groups there are.
struct GroupHistogram {
  uint64_t residuals[65] = {};
  uint64_t groups = 0;
};

// The offset of a residual field of `width` bits (offset binary): fields
// hold r + 2^(width-1), so [-2^(width-1), 2^(width-1)) maps to
// [0, 2^width), the range of a zigzag in width bits; decoding is one
// subtraction.
inline uint64_t FieldBias(int width) {
  return width == 0 ? 0 : uint64_t{1} << (width - 1);
}

template <int kOrder>
void Histogram(std::span<const int64_t> values, GroupHistogram* h) {
  size_t n = values.size();
  for (size_t start = kOrder; start < n; start += kGroupSize) {
    size_t end = std::min(n, start + kGroupSize);
    uint64_t any = 0;  // OR of the group's zigzags: same bit length as the max
    for (size_t i = start; i < end; ++i) {
      any |= ZigZagEncode(static_cast<int64_t>(Residual<kOrder>(values, i)));
    }
    h->residuals[BitLength(any)] += end - start;
    ++h->groups;
  }
}

// Chooses the selector width s and the width table for a histogram so that
// the stream is smallest. The table's widths split the sorted distinct
// group bit lengths into contiguous ranges, each costing its residual count
// times its largest length; best[j][e] is the least payload for the first
// e lengths in j + 1 ranges, the last ending at e. Returns payload bits.
uint64_t ChooseTable(const GroupHistogram& h, DeltaStreamPlan* plan) {
  int len[65];
  uint64_t cum[66];
  int k = 0;
  cum[0] = 0;
  for (int b = 0; b <= 64; ++b) {
    if (h.residuals[b] == 0) continue;
    len[k] = b;
    cum[k + 1] = cum[k] + h.residuals[b];
    ++k;
  }
  constexpr uint64_t kInf = std::numeric_limits<uint64_t>::max();
  constexpr int kMaxRanges = kMaxWidthTable;
  uint64_t best[kMaxRanges][66];
  uint8_t from[kMaxRanges][66];
  for (int e = 1; e <= k; ++e) {
    best[0][e] = cum[e] * static_cast<uint64_t>(len[e - 1]);
    from[0][e] = 0;
  }
  for (int j = 1; j < kMaxRanges; ++j) {
    for (int e = 1; e <= k; ++e) {
      best[j][e] = kInf;
      from[j][e] = 0;
      for (int s = j; s < e; ++s) {  // ranges 0..j-1 cover s >= j lengths
        if (best[j - 1][s] == kInf) continue;
        uint64_t c = best[j - 1][s] + (cum[e] - cum[s]) * static_cast<uint64_t>(len[e - 1]);
        if (c < best[j][e]) {
          best[j][e] = c;
          from[j][e] = static_cast<uint8_t>(s);
        }
      }
    }
  }
  // Smallest total over s: selectors, table bytes and payload.
  uint64_t best_total = kInf;
  int best_s = 0, best_ranges = 1;
  for (int s = 0; s <= kMaxSelectorBits; ++s) {
    int ranges = std::min(1 << s, k);
    uint64_t payload = best[ranges - 1][k];
    if (payload == kInf) continue;
    uint64_t total = payload + h.groups * static_cast<uint64_t>(s) + 8 * (uint64_t{1} << s);
    if (total < best_total) {
      best_total = total;
      best_s = s;
      best_ranges = ranges;
    }
  }
  plan->selector_bits = best_s;
  int e = k;
  for (int j = best_ranges - 1; j >= 0; --j) {
    plan->widths[j] = static_cast<uint8_t>(len[e - 1]);
    e = from[j][e];
  }
  // Unused table entries repeat the widest width (the table stays sorted).
  for (int j = best_ranges; j < kMaxWidthTable; ++j)
    plan->widths[j] = plan->widths[best_ranges - 1];
  return best[best_ranges - 1][k] + h.groups * static_cast<uint64_t>(best_s);
}

Status Corrupt(const char* what) {
  return Status::Corruption(what);
}

Status CheckEnd(const BitSpan& bits, uint64_t end) {
  if (end > bits.size_bits()) return Corrupt("bit stream truncated");
  if ((end + 7) / 8 != bits.size_bits() / 8) return Corrupt("trailing bytes after bit stream");
  return Status::OK();
}

// Decodes one group of `count` residuals of w bits from bit `pos` on into
// out[0..count), continuing v and delta (kOrder 0: fields are offsets from
// v, as in a packed stream). The fields' positions are known up
// front, so their loads are independent and proceed in parallel; only the
// two additions per value form a chain.
template <int kOrder, size_t kCount>
[[gnu::always_inline]] inline void DecodeGroup(const BitSpan& bits, uint64_t pos, int w,
                                               size_t count, uint64_t& v, uint64_t& delta,
                                               int64_t* out) {
  if constexpr (kCount != 0) count = kCount;
  const uint64_t bias = kOrder == 0 ? 0 : FieldBias(w);
  auto apply = [&](size_t j, uint64_t field) {
    if constexpr (kOrder == 0) {  // packed: v is the minimum, field the offset
      out[j] = static_cast<int64_t>(v + field);
      return;
    }
    uint64_t r = field - bias;
    if constexpr (kOrder == 2) {
      delta += r;
      v += delta;
    } else {
      v += r;
    }
    out[j] = static_cast<int64_t>(v);
  };
  if (w == 0) {
    for (size_t j = 0; j < count; ++j) apply(j, 0);
  } else if (kCount != 0 && w * kCount <= BitSpan::kMaxUncheckedBits &&
             bits.CanReadUnchecked(pos)) {
    // The whole group (<= 57 bits: widths up to 7) in one word.
    uint64_t word = bits.Word(pos);
    for (size_t j = 0; j < count; ++j) {
      apply(j, word >> (64 - w));
      word <<= w;
    }
  } else if (kCount != 0 && w * (kCount / 2) <= BitSpan::kMaxUncheckedBits &&
             bits.CanReadUnchecked(pos + (kCount / 2) * static_cast<uint64_t>(w))) {
    // Each half of the group (widths up to 14) in one word.
    for (size_t half = 0; half < 2; ++half) {
      uint64_t word = bits.Word(pos + half * (kCount / 2) * static_cast<uint64_t>(w));
      for (size_t j = 0; j < kCount / 2; ++j) {
        apply(half * (kCount / 2) + j, word >> (64 - w));
        word <<= w;
      }
    }
  } else if (bits.CanReadUnchecked(pos + count * static_cast<uint64_t>(w))) [[likely]] {
    if (w <= BitSpan::kMaxUncheckedBits) {
      for (size_t j = 0; j < count; ++j) apply(j, bits.ReadUnchecked(pos + j * w, w));
    } else {
      for (size_t j = 0; j < count; ++j) apply(j, bits.ReadUncheckedWide(pos + j * w, w));
    }
  } else {  // the last bytes of the stream: bounds-checked reads
    for (size_t j = 0; j < count; ++j) apply(j, bits.Read(pos + j * w, w));
  }
}

// out[i] = v + (i + 1) * delta for i in [0, n), modulo 2^64, in four
// independent chains so that the stores, not one chain of additions, set
// the pace.
void FillArithmetic(int64_t* out, size_t n, uint64_t v, uint64_t delta) {
  uint64_t a[4] = {v + delta, v + 2 * delta, v + 3 * delta, v + 4 * delta};
  const uint64_t step = 4 * delta;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int k = 0; k < 4; ++k) {
      out[i + k] = static_cast<int64_t>(a[k]);
      a[k] += step;
    }
  }
  for (int k = 0; i < n; ++i, ++k) out[i] = static_cast<int64_t>(a[k]);
}

// Decodes the residual groups from index kOrder on; returns the bit
// position after the last group.
template <int kOrder>
uint64_t DecodeGroups(const BitSpan& bits, int s, const uint8_t* table, size_t n, uint64_t v,
                      uint64_t delta, int64_t* out) {
  uint64_t pos = 0;
  for (size_t i = kOrder; i < n; i += kGroupSize) {
    size_t count = std::min<size_t>(kGroupSize, n - i);
    size_t sel = 0;
    if (s != 0) {
      sel = bits.CanReadUnchecked(pos + static_cast<uint64_t>(s)) ? bits.ReadUnchecked(pos, s)
                                                                  : bits.Read(pos, s);
      pos += static_cast<uint64_t>(s);
    }
    int w = table[sel];
    if (count == kGroupSize) {
      DecodeGroup<kOrder, kGroupSize>(bits, pos, w, count, v, delta, out + i);
    } else {
      DecodeGroup<kOrder, 0>(bits, pos, w, count, v, delta, out + i);
    }
    pos += count * static_cast<uint64_t>(w);
  }
  return pos;
}

}  // namespace

DeltaStreamPlan PlanDeltaStream(std::span<const int64_t> values, int order) {
  assert(order == 1 || order == 2);
  DeltaStreamPlan plan;
  size_t n = values.size();
  if (n == 0) return plan;
  plan.header_bytes = VarintLength(ZigZagEncode(values[0]));
  if (order == 2 && n >= 2) {
    plan.header_bytes += VarintLength(ZigZagEncode(static_cast<int64_t>(Residual<1>(values, 1))));
  }
  if (n <= static_cast<size_t>(order)) return plan;
  GroupHistogram h;
  if (order == 1) {
    Histogram<1>(values, &h);
  } else {
    Histogram<2>(values, &h);
  }
  plan.payload_bits = ChooseTable(h, &plan);
  plan.header_bytes += 1 + (size_t{1} << plan.selector_bits);
  return plan;
}

void EncodeDeltaStream(std::span<const int64_t> values, int order, const DeltaStreamPlan& plan,
                       std::string* out) {
  assert(order == 1 || order == 2);
  size_t n = values.size();
  if (n == 0) return;
  PutVarint64(out, ZigZagEncode(values[0]));
  if (order == 2 && n >= 2) {
    PutVarint64(out, ZigZagEncode(static_cast<int64_t>(Residual<1>(values, 1))));
  }
  if (n <= static_cast<size_t>(order)) return;
  int s = plan.selector_bits;
  int table_size = 1 << s;
  out->push_back(static_cast<char>(s));
  for (int j = 0; j < table_size; ++j) out->push_back(static_cast<char>(plan.widths[j]));
  BitWriter w(out);
  uint64_t r[kGroupSize];
  for (size_t start = static_cast<size_t>(order); start < n; start += kGroupSize) {
    size_t count = std::min<size_t>(kGroupSize, n - start);
    uint64_t any = 0;  // OR of zigzags: its bit length is the width needed
    for (size_t j = 0; j < count; ++j) {
      r[j] = order == 1 ? Residual<1>(values, start + j) : Residual<2>(values, start + j);
      any |= ZigZagEncode(static_cast<int64_t>(r[j]));
    }
    // The group's selector: the narrowest table width that holds it.
    int sel = 0;
    while (plan.widths[sel] < BitLength(any)) ++sel;
    assert(sel < table_size);
    int width = plan.widths[sel];
    w.Write(static_cast<uint64_t>(sel), s);
    // Each residual in offset binary: r + 2^(width-1), in [0, 2^width).
    uint64_t bias = FieldBias(width);
    uint64_t mask = width == 64 ? ~uint64_t{0} : (uint64_t{1} << width) - 1;
    for (size_t j = 0; j < count; ++j) w.Write((r[j] + bias) & mask, width);
  }
  w.Finish();
}

Status DecodeDeltaStream(std::string_view in, int order, size_t n, int64_t* out) {
  assert(order == 1 || order == 2);
  if (n == 0) return Corrupt("empty integer stream");
  uint64_t u;
  if (!GetVarint64(&in, &u)) return Corrupt("truncated first value");
  auto v = static_cast<uint64_t>(ZigZagDecode(u));
  out[0] = static_cast<int64_t>(v);
  uint64_t delta = 0;
  if (order == 2 && n >= 2) {
    if (!GetVarint64(&in, &u)) return Corrupt("truncated first delta");
    delta = static_cast<uint64_t>(ZigZagDecode(u));
    v += delta;
    out[1] = static_cast<int64_t>(v);
  }
  if (n <= static_cast<size_t>(order)) {
    return in.empty() ? Status::OK() : Corrupt("trailing bytes after integer stream");
  }
  if (in.empty()) return Corrupt("truncated selector width");
  int s = static_cast<uint8_t>(in[0]);
  if (s > kMaxSelectorBits) return Corrupt("invalid selector width");
  size_t table_size = size_t{1} << s;
  if (in.size() < 1 + table_size) return Corrupt("truncated width table");
  uint8_t table[kMaxWidthTable];
  for (size_t j = 0; j < table_size; ++j) {
    table[j] = static_cast<uint8_t>(in[1 + j]);
    if (table[j] > kMaxFieldWidth) return Corrupt("invalid width in width table");
  }
  in.remove_prefix(1 + table_size);
  BitSpan bits(in);
  if (s == 0 && table[0] == 0) {
    // Every residual is 0 and there are no bits: an arithmetic sequence
    // (steps that advance by 1), or a constant for order 1.
    FillArithmetic(out + order, n - static_cast<size_t>(order), v, order == 2 ? delta : 0);
    return CheckEnd(bits, 0);
  }
  uint64_t end = order == 1 ? DecodeGroups<1>(bits, s, table, n, v, delta, out)
                            : DecodeGroups<2>(bits, s, table, n, v, delta, out);
  return CheckEnd(bits, end);
}

size_t PackedStreamSize(std::span<const int64_t> values) {
  if (values.empty()) return 0;
  auto [lo, hi] = std::minmax_element(values.begin(), values.end());
  int width = BitLength(static_cast<uint64_t>(*hi) - static_cast<uint64_t>(*lo));
  return VarintLength(ZigZagEncode(*lo)) + 1 +
         static_cast<size_t>((static_cast<uint64_t>(width) * values.size() + 7) / 8);
}

void EncodePackedStream(std::span<const int64_t> values, std::string* out) {
  if (values.empty()) return;
  int64_t lo = *std::min_element(values.begin(), values.end());
  int64_t hi = *std::max_element(values.begin(), values.end());
  int width = BitLength(static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo));
  PutVarint64(out, ZigZagEncode(lo));
  out->push_back(static_cast<char>(width));
  BitWriter w(out);
  for (int64_t v : values) w.Write(static_cast<uint64_t>(v) - static_cast<uint64_t>(lo), width);
  w.Finish();
}

Status DecodePackedStream(std::string_view in, size_t n, int64_t* out) {
  if (n == 0) return Corrupt("empty packed stream");
  uint64_t u;
  if (!GetVarint64(&in, &u)) return Corrupt("truncated minimum");
  auto lo = static_cast<uint64_t>(ZigZagDecode(u));
  if (in.empty()) return Corrupt("truncated width");
  int width = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (width > format::kMaxPackedWidth) return Corrupt("invalid packed width");
  BitSpan bits(in);
  uint64_t unused = 0;
  for (size_t i = 0; i < n; i += kGroupSize) {
    size_t count = std::min<size_t>(kGroupSize, n - i);
    uint64_t pos = i * static_cast<uint64_t>(width);
    if (count == kGroupSize) {
      DecodeGroup<0, kGroupSize>(bits, pos, width, count, lo, unused, out + i);
    } else {
      DecodeGroup<0, 0>(bits, pos, width, count, lo, unused, out + i);
    }
  }
  return CheckEnd(bits, n * static_cast<uint64_t>(width));
}

void EncodeIntColumn(std::span<const int64_t> values, std::string* out) {
  const size_t n = values.size();
  DeltaStreamPlan plan = PlanDeltaStream(values, 2);
  if (n >= 2) {
    // The stride from the end points: over a chunk of hundreds of points a
    // bounded jitter moves it by less than one unit.
    const uint64_t span = static_cast<uint64_t>(values[n - 1]) - static_cast<uint64_t>(values[0]);
    const auto stride = static_cast<int64_t>(span) / static_cast<int64_t>(n - 1);
    std::vector<int64_t> u(n);
    for (size_t i = 0; i < n; ++i) {
      u[i] = static_cast<int64_t>(static_cast<uint64_t>(values[i]) -
                                  static_cast<uint64_t>(i) * static_cast<uint64_t>(stride));
    }
    const size_t linear = VarintLength(ZigZagEncode(stride)) + PackedStreamSize(u);
    if (linear < plan.size()) {
      out->push_back(static_cast<char>(format::IntColumn::kLinear));
      PutVarint64(out, ZigZagEncode(stride));
      EncodePackedStream(u, out);
      return;
    }
  }
  out->push_back(static_cast<char>(format::IntColumn::kDeltaOfDelta));
  EncodeDeltaStream(values, 2, plan, out);
}

Status DecodeIntColumn(std::string_view in, size_t n, int64_t* out) {
  if (in.empty()) return Corrupt("missing integer column kind");
  const auto kind = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  if (kind == static_cast<uint8_t>(format::IntColumn::kDeltaOfDelta)) {
    return DecodeDeltaStream(in, 2, n, out);
  }
  if (kind != static_cast<uint8_t>(format::IntColumn::kLinear)) {
    return Corrupt("invalid integer column kind");
  }
  uint64_t z;
  if (!GetVarint64(&in, &z)) return Corrupt("truncated stride");
  const auto stride = static_cast<uint64_t>(ZigZagDecode(z));
  VIGIL_RETURN_IF_ERROR(DecodePackedStream(in, n, out));
  for (size_t i = 0; i < n; ++i) {
    out[i] =
        static_cast<int64_t>(static_cast<uint64_t>(out[i]) + static_cast<uint64_t>(i) * stride);
  }
  return Status::OK();
}

}  // namespace vigil::codec
