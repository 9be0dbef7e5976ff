// BitWriter: appends a stream of bit fields to a std::string, most
// significant bit first (bit 7 of the first byte is the first bit written),
// the order every chunk stream uses (codec/chunk_format.h). The codes that
// give the bits a meaning live in the stream codecs, not here.
//
// Thread-safety: a BitWriter is used by one thread at a time.
#pragma once

#include <cassert>
#include <cstdint>
#include <string>

namespace vigil::codec {

class BitWriter {
 public:
  // Appends to *out, which must outlive the writer. Bytes reach *out in
  // groups of four as they fill, and the rest on Finish().
  explicit BitWriter(std::string* out) : out_(out) {}
  BitWriter(const BitWriter&) = delete;
  BitWriter& operator=(const BitWriter&) = delete;

  // Writes the low n bits of v, most significant first.
  // REQUIRES: n <= 64 and v < 2^n (bits above n are zero).
  void Write(uint64_t v, int n) {
    assert(n >= 0 && n <= 64);
    assert(n == 64 || (v >> n) == 0);
    if (n > 32) {
      Write32(v >> 32, n - 32);
      v &= 0xffffffffu;
      n = 32;
    }
    Write32(v, n);
  }

  void WriteBit(bool bit) { Write32(bit ? 1 : 0, 1); }

  // Number of bits written so far.
  uint64_t bit_count() const { return bits_; }

  // Pads the last byte with zero bits and appends it. Call once, last.
  void Finish() {
    int bytes = (fill_ + 7) / 8;
    uint64_t v = acc_ << (bytes * 8 - fill_);
    for (int i = bytes - 1; i >= 0; --i) out_->push_back(static_cast<char>(v >> (8 * i)));
    fill_ = 0;
  }

 private:
  // REQUIRES: n <= 32, v < 2^n.
  void Write32(uint64_t v, int n) {
    // Invariant: fill_ < 32 between calls, so fill_ + n < 64 and the shift
    // keeps every pending bit; the bits of acc_ above fill_ are garbage.
    acc_ = (acc_ << n) | v;
    fill_ += n;
    bits_ += static_cast<uint64_t>(n);
    if (fill_ >= 32) {
      fill_ -= 32;
      auto w = static_cast<uint32_t>(acc_ >> fill_);
      char buf[4] = {static_cast<char>(w >> 24), static_cast<char>(w >> 16),
                     static_cast<char>(w >> 8), static_cast<char>(w)};
      out_->append(buf, 4);
    }
  }

  std::string* out_;
  uint64_t acc_ = 0;  // pending bits in the low fill_ bits
  int fill_ = 0;      // 0..31
  uint64_t bits_ = 0;
};

}  // namespace vigil::codec
