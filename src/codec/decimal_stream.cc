#include "codec/decimal_stream.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <memory>

#include "codec/int_stream.h"

namespace vigil::codec {
namespace {

using format::DecimalMantissa;
using format::kMaxDecimalDigits;
using format::kMaxDecimalMantissa;
using format::kPow10;

// The mantissa of v at d digits if m / 10^d (the decoder's formula) gives
// v's bits back. The candidate is v * 10^d rounded to the nearest integer;
// when the product's rounding pushes it off by one the value is treated as
// not fitting at d, which only costs compression, never correctness.
bool FitsAt(double v, int d, int64_t* m) {
  double scaled = v * kPow10[d];
  if (!(std::fabs(scaled) < static_cast<double>(kMaxDecimalMantissa))) return false;  // NaN too
  auto c = static_cast<int64_t>(scaled);          // truncates; |scaled| < 2^51 so in range
  double frac = scaled - static_cast<double>(c);  // exact
  if (frac >= 0.5) ++c;
  if (frac <= -0.5) --c;
  if (std::bit_cast<uint64_t>(static_cast<double>(c) / kPow10[d]) != std::bit_cast<uint64_t>(v)) {
    return false;
  }
  *m = c;
  return true;
}

// static_cast<double>(m) for |m| < 2^51: adding m to the bits of 1.5 * 2^52
// puts 2^51 + m in the mantissa field of a double of value 1.5 * 2^52 + m.
// Unlike cvtsi2sd for int64 this vectorises with SSE2.
constexpr double kBias = 6755399441055744.0;  // 1.5 * 2^52
constexpr uint64_t kBiasBits = 0x4338000000000000;
static_assert(std::bit_cast<uint64_t>(kBias) == kBiasBits);

inline double MantissaToDouble(int64_t m) {
  return std::bit_cast<double>(static_cast<uint64_t>(m) + kBiasBits) - kBias;
}

// out[i] = m[i] / scale, two at a time: there is no packed int64 -> double
// conversion before AVX-512, but the bias trick and the division vectorise
// with SSE2 (GCC's -O2 does not vectorise this loop by itself).
void ToValues(const int64_t* m, size_t n, double scale, double* out) {
  using V2u = uint64_t __attribute__((vector_size(16)));
  using V2d = double __attribute__((vector_size(16)));
  const V2d scale2 = {scale, scale};
  const V2d bias2 = {kBias, kBias};
  const V2u bias_bits2 = {kBiasBits, kBiasBits};
  size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    V2u u;
    std::memcpy(&u, m + i, sizeof(u));
    V2d d = std::bit_cast<V2d>(u + bias_bits2) - bias2;
    d /= scale2;
    std::memcpy(out + i, &d, sizeof(d));
  }
  for (; i < n; ++i) out[i] = MantissaToDouble(m[i]) / scale;
}

// Mantissas decoded into a stack buffer up to this count (8 KiB).
constexpr size_t kStackMantissas = 1024;

}  // namespace

bool DecimalScanner::Add(double v) {
  if (!ok_) return false;
  int64_t m;
  // A value that fits at d fits at every larger d (same rational, same
  // rounding), so only digits_ and above need trying.
  for (int d = digits_; d <= kMaxDecimalDigits; ++d) {
    if (FitsAt(v, d, &m)) {
      digits_ = d;
      mantissas_.push_back(m);
      digits_of_.push_back(static_cast<uint8_t>(d));
      return true;
    }
  }
  ok_ = false;
  return false;
}

bool DecimalScanner::Finish(int* digits, std::vector<int64_t>* mantissas) {
  if (!ok_) return false;
  mantissas->resize(mantissas_.size());
  for (size_t i = 0; i < mantissas_.size(); ++i) {
    int64_t m = mantissas_[i];
    int shift = digits_ - digits_of_[i];
    if (shift > 0) {
      if (__builtin_mul_overflow(m, format::kPow10Int[shift], &m)) return false;
      if (m >= kMaxDecimalMantissa || m <= -kMaxDecimalMantissa) return false;
    }
    (*mantissas)[i] = m;
  }
  *digits = digits_;
  return true;
}

void EncodeDecimal(int digits, std::span<const int64_t> mantissas, std::string* out) {
  size_t packed = PackedStreamSize(mantissas);
  DeltaStreamPlan delta = PlanDeltaStream(mantissas, 1);
  DeltaStreamPlan dod = PlanDeltaStream(mantissas, 2);
  DecimalMantissa kind = DecimalMantissa::kPacked;
  size_t best = packed;
  if (delta.size() < best) {
    kind = DecimalMantissa::kDelta;
    best = delta.size();
  }
  if (dod.size() < best) kind = DecimalMantissa::kDeltaOfDelta;
  out->push_back(static_cast<char>(digits | (static_cast<int>(kind) << format::kDecimalKindShift)));
  switch (kind) {
    case DecimalMantissa::kPacked:
      EncodePackedStream(mantissas, out);
      break;
    case DecimalMantissa::kDelta:
      EncodeDeltaStream(mantissas, 1, delta, out);
      break;
    case DecimalMantissa::kDeltaOfDelta:
      EncodeDeltaStream(mantissas, 2, dod, out);
      break;
  }
}

Status DecodeDecimal(std::string_view in, size_t n, double* out) {
  if (n == 0) return Status::Corruption("empty value stream");
  if (in.empty()) return Status::Corruption("truncated decimal header");
  auto header = static_cast<uint8_t>(in[0]);
  in.remove_prefix(1);
  int digits = header & format::kDecimalDigitsMask;
  int kind = (header >> format::kDecimalKindShift) & 0x3;
  if ((header & format::kDecimalReservedBit) != 0 || digits > kMaxDecimalDigits ||
      kind > format::kMaxDecimalMantissaKind) {
    return Status::Corruption("invalid decimal header");
  }
  // The mantissas go to a scratch array (on the stack for chunks of usual
  // size), then become values in one vectorised loop.
  int64_t stack_buf[kStackMantissas];
  std::unique_ptr<int64_t[]> heap_buf;
  int64_t* m = stack_buf;
  if (n > kStackMantissas) {
    heap_buf.reset(new int64_t[n]);
    m = heap_buf.get();
  }
  Status st;
  switch (static_cast<DecimalMantissa>(kind)) {
    case DecimalMantissa::kPacked:
      st = DecodePackedStream(in, n, m);
      break;
    case DecimalMantissa::kDelta:
      st = DecodeDeltaStream(in, 1, n, m);
      break;
    case DecimalMantissa::kDeltaOfDelta:
      st = DecodeDeltaStream(in, 2, n, m);
      break;
  }
  if (!st.ok()) return st;
  ToValues(m, n, kPow10[digits], out);
  return Status::OK();
}

}  // namespace vigil::codec
