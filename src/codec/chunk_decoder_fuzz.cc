// libFuzzer target for the chunk codec. The first input byte picks a mode:
//
//   odd:  the rest is a chunk from a damaged disk: DecodeChunk (with the
//         columns the mode's bits pick) must return OK or Corruption without
//         reading out of bounds, and an OK decode holds PeekChunk's count;
//   even: the rest is points (24 bytes each: step, time, value bits),
//         shaped by bits 1-2 into raw, float32, decimal or integer values:
//         every encoding that accepts them must decode them bit-exactly.
//
//   build/<asan-dir>/chunk_decoder_fuzz -max_total_time=60
#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "codec/chunk_codec.h"
#include "codec/chunk_format.h"

namespace {

using vigil::Status;
using namespace vigil::codec;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void DecodeArbitrary(uint8_t mode, std::string_view chunk) {
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  Status st = DecodeChunk(chunk, (mode & 2) ? &steps : nullptr, (mode & 4) ? &times : nullptr,
                          (mode & 8) ? &values : nullptr);
  auto info = PeekChunk(chunk);
  if (st.ok()) {
    Check(info.ok());
    if (mode & 2) Check(steps.size() == info->count);
    if (mode & 4) Check(times.size() == info->count);
    if (mode & 8) Check(values.size() == info->count);
  } else {
    Check(st.IsCorruption());
    Check(steps.empty() && times.empty() && values.empty());
  }
}

double Shape(uint8_t shape, uint64_t bits) {
  switch (shape) {
    case 1:  // float32 widened
      return static_cast<double>(std::bit_cast<float>(static_cast<uint32_t>(bits)));
    case 2: {  // a short decimal
      auto m = static_cast<int64_t>(bits % 2000001) - 1000000;
      int d = static_cast<int>((bits >> 32) % (format::kMaxDecimalDigits + 1));
      return static_cast<double>(m) / format::kPow10[d];
    }
    case 3:  // a small integer
      return static_cast<double>(bits % 101);
    default:
      return std::bit_cast<double>(bits);
  }
}

void RoundTrip(uint8_t mode, const uint8_t* data, size_t size) {
  size_t n = std::min(size / 24, kMaxChunkPoints);
  if (n == 0) return;
  std::vector<int64_t> steps(n), times(n);
  std::vector<double> values(n);
  for (size_t i = 0; i < n; ++i) {
    steps[i] = static_cast<int64_t>(Load64(data + 24 * i));
    times[i] = static_cast<int64_t>(Load64(data + 24 * i + 8));
    values[i] = Shape(static_cast<uint8_t>((mode >> 1) & 3), Load64(data + 24 * i + 16));
  }
  auto expect = [&](const std::string& chunk) {
    std::vector<int64_t> s, t;
    std::vector<double> v;
    Check(DecodeChunk(chunk, &s, &t, &v).ok());
    Check(s == steps && t == times && v.size() == n);
    for (size_t i = 0; i < n; ++i) {
      Check(std::bit_cast<uint64_t>(v[i]) == std::bit_cast<uint64_t>(values[i]));
    }
  };
  std::string best;
  EncodeChunk(steps, times, values, &best);
  expect(best);
  for (auto e : {ValueEncoding::kXor64, ValueEncoding::kXor32, ValueEncoding::kDecimal}) {
    std::string chunk;
    Status st = EncodeChunkWith(e, steps, times, values, &chunk);
    if (!st.ok()) {
      Check(st.code() == vigil::StatusCode::kNotSupported && e != ValueEncoding::kXor64);
      continue;
    }
    expect(chunk);
    Check(best.size() <= chunk.size());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint8_t mode = data[0];
  if (mode & 1) {
    DecodeArbitrary(mode, std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  } else {
    RoundTrip(mode, data + 1, size - 1);
  }
  return 0;
}
