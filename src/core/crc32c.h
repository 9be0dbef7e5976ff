// CRC-32C (Castagnoli), the checksum of every on-disk record and block.
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise;
// both give the same value. Thread-safe (pure functions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace vigil::crc32c {

// CRC-32C of data[0, n) continuing from the CRC `init` of earlier bytes.
uint32_t Extend(uint32_t init, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) {
  return Extend(0, data, n);
}
inline uint32_t Value(std::string_view s) {
  return Extend(0, s.data(), s.size());
}

// A stored CRC is masked (as in leveldb) so that a CRC computed over bytes
// that themselves embed CRCs does not degenerate.
inline constexpr uint32_t kMaskDelta = 0xa282ead8u;
inline uint32_t Mask(uint32_t crc) {
  return ((crc >> 15) | (crc << 17)) + kMaskDelta;
}
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - kMaskDelta;
  return (rot >> 17) | (rot << 15);
}

}  // namespace vigil::crc32c
