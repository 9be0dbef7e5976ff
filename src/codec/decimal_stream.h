// Decimal value streams: values that are short decimals (0.8125, 93,
// 0.001) stored as integer mantissas m with one power of ten d per chunk;
// value = static_cast<double>(m) / 10^d, an exactly rounded IEEE division,
// so a value qualifies iff that formula gives back its exact bits (which
// rules out -0.0, NaN and +-Inf). The mantissas go into whichever integer
// stream is smallest: packed (frame of reference), deltas or
// delta-of-delta (int_stream.h). Layout: chunk_format.h.
//
// DecimalScanner finds d and the mantissas in the same pass over the values
// as the other encodings' checks; it gives up at the first value that does
// not fit, so non-decimal data costs one value's tries.
//
// Thread-safety: a DecimalScanner is used by one thread; the functions are
// pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "codec/chunk_format.h"
#include "core/status.h"

namespace vigil::codec {

class DecimalScanner {
 public:
  explicit DecimalScanner(size_t expected_count) {
    mantissas_.reserve(expected_count);
    digits_of_.reserve(expected_count);
  }

  // Adds the next value; false (for good) once a value is not a decimal
  // this encoding can hold.
  bool Add(double v);

  // True while every value added so far fits.
  bool ok() const { return ok_; }

  // The chunk's d and every value's mantissa at that d, or false if the
  // values do not fit together (a mantissa would reach 2^51).
  // REQUIRES: ok().
  bool Finish(int* digits, std::vector<int64_t>* mantissas);

 private:
  bool ok_ = true;
  int digits_ = 0;  // max over values of the least d each needs
  std::vector<int64_t> mantissas_;
  std::vector<uint8_t> digits_of_;  // the d each mantissa was found at
};

// Appends the decimal stream of mantissas at `digits`, choosing the
// smallest mantissa stream (ties: packed, then deltas).
void EncodeDecimal(int digits, std::span<const int64_t> mantissas, std::string* out);

// Decodes n values from exactly the bytes of `in` into out[0..n).
Status DecodeDecimal(std::string_view in, size_t n, double* out);

}  // namespace vigil::codec
