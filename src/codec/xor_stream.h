// XOR value streams (Gorilla): each value's IEEE bits XOR-ed with the
// previous value's, the non-zero middle ("meaningful bits") stored inside a
// leading/trailing-zero window that is reused while it fits. Two widths:
//
//   - Xor64 on float64 bits: always applicable;
//   - Xor32 on float32 bits: applicable iff every value is a float32 widened
//     to float64 (IsFloat32Exact), as values logged from fp32 tensors are.
//     It stores half the bits and decodes by widening.
//
// Layout and bit codes: chunk_format.h. Decoders take the count from the
// chunk header and return Corruption for a malformed stream, never reading
// outside `in`.
//
// Thread-safety: pure functions; any thread.
#pragma once

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace vigil::codec {

// True iff v round-trips through float bit-exactly: every finite float32
// value, +-0, +-Inf, and NaNs whose payload survives narrowing.
inline bool IsFloat32Exact(double v) {
  // Narrowing a finite double beyond float's range would give Inf (not v);
  // test it first so the conversion below is always in range.
  if (std::fabs(v) > static_cast<double>(FLT_MAX) && !std::isinf(v)) return false;
  auto f = static_cast<float>(v);
  return std::bit_cast<uint64_t>(static_cast<double>(f)) == std::bit_cast<uint64_t>(v);
}

void EncodeXor64(std::span<const double> values, std::string* out);
Status DecodeXor64(std::string_view in, size_t n, double* out);

// REQUIRES: IsFloat32Exact(v) for every value.
void EncodeXor32(std::span<const double> values, std::string* out);
Status DecodeXor32(std::string_view in, size_t n, double* out);

}  // namespace vigil::codec
