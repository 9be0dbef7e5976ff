// Readers of the bit fields a BitWriter wrote (most significant bit first),
// from a byte range they never read outside of:
//
//   - BitReader, sequential, for codes whose length is known only once read
//     (XOR streams);
//   - BitSpan, random access by bit position, for fields at positions known
//     in advance (fixed-width groups of integer streams): independent loads
//     let the CPU extract many fields in parallel.
//
// BitReader keeps up to 63 bits in a 64-bit buffer and refills it with one
// 8-byte load (Giesen's "bit extraction" variant 4), so decoders peek at a
// whole code and consume it with a shift instead of looping over bits.
// Reading past the end yields zero bits instead of failing, so hot loops
// need no bounds check per field; a decoder calls ExactlyConsumed() once at
// the end to detect an overrun. BitSpan::Read is likewise zero past the
// end; ReadUnchecked is for callers that checked the range first. Because every
// field consumes at most 64 bits and the loops run a bounded number of
// times (the chunk's count), a corrupt stream can neither read out of bounds
// nor loop forever.
//
// Thread-safety: a reader is used by one thread at a time.
#pragma once

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace vigil::codec {

// One big-endian 64-bit word from 8 bytes at p.
inline uint64_t LoadBigEndian64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, 8);
  if constexpr (std::endian::native == std::endian::little) w = __builtin_bswap64(w);
  return w;
}

class BitSpan {
 public:
  // Widest field ReadUnchecked() extracts with one load.
  static constexpr int kMaxUncheckedBits = 57;

  explicit BitSpan(std::string_view in)
      : data_(reinterpret_cast<const uint8_t*>(in.data())), size_(in.size()) {}

  uint64_t size_bits() const { return static_cast<uint64_t>(size_) * 8; }

  // True if ReadUnchecked may read any field that ends by bit `end`.
  bool CanReadUnchecked(uint64_t end) const { return end / 8 + 8 <= size_; }

  // The n-bit field at bit `pos`, 1 <= n <= kMaxUncheckedBits.
  // REQUIRES: CanReadUnchecked(pos + n).
  uint64_t ReadUnchecked(uint64_t pos, int n) const {
    assert(n >= 1 && n <= kMaxUncheckedBits && CanReadUnchecked(pos + n));
    return Word(pos) >> (64 - n);
  }

  // The n-bit field at bit `pos`, 33 <= n <= 64, with two loads.
  // REQUIRES: CanReadUnchecked(pos + n).
  uint64_t ReadUncheckedWide(uint64_t pos, int n) const {
    assert(n >= 33 && n <= 64);
    return (ReadUnchecked(pos, 32) << (n - 32)) | ReadUnchecked(pos + 32, n - 32);
  }

  // The 64 bits from bit `pos` on, of which the first 57 are the stream's.
  // REQUIRES: CanReadUnchecked(pos).
  uint64_t Word(uint64_t pos) const {
    assert(CanReadUnchecked(pos));
    return LoadBigEndian64(data_ + pos / 8) << (pos % 8);
  }

  // The n-bit field at bit `pos`, 0 <= n <= 64; bits past the end are 0.
  uint64_t Read(uint64_t pos, int n) const {
    assert(n >= 0 && n <= 64);
    if (n > 32) return (Read(pos, n - 32) << 32) | Read(pos + static_cast<uint64_t>(n - 32), 32);
    uint64_t byte = pos / 8;
    uint8_t tmp[8] = {};
    if (byte < size_) std::memcpy(tmp, data_ + byte, std::min<uint64_t>(8, size_ - byte));
    uint64_t w = LoadBigEndian64(tmp) << (pos % 8);  // >= 57 valid bits, n <= 32
    return (w >> 1) >> (63 - n);
  }

 private:
  const uint8_t* data_;
  size_t size_;
};

class BitReader {
 public:
  // Minimum number of buffered bits after Refill().
  static constexpr int kMinBuffered = 56;

  explicit BitReader(std::string_view in)
      : data_(reinterpret_cast<const uint8_t*>(in.data())), size_(in.size()) {}

  // Tops the buffer up to at least kMinBuffered bits (zero bits past the
  // end of the input).
  void Refill() {
    // Invariant: count_ <= 63 and the buffer's top count_ bits are the
    // stream from bit ConsumedBits() on. Bits below them are either zero or
    // the stream's next bits (a partially counted byte), so OR-ing the same
    // bytes in again on the next refill is harmless.
    buf_ |= Load(next_) >> count_;
    next_ += static_cast<size_t>((63 - count_) >> 3);
    count_ |= 56;
  }

  // The buffer: the next bits of the stream, left-aligned. Only the top
  // count() bits are guaranteed; call Refill() first.
  uint64_t buffer() const { return buf_; }
  int count() const { return count_; }

  // REQUIRES: 0 <= n <= count() and n < 64.
  void Consume(int n) {
    assert(n >= 0 && n <= count_ && n < 64);
    buf_ <<= n;
    count_ -= n;
  }

  // Reads an n-bit field, 0 <= n <= kMinBuffered, without refilling.
  // REQUIRES: n <= count().
  uint64_t ReadBuffered(int n) {
    uint64_t v = (buf_ >> 1) >> (63 - n);  // n == 0 gives 0, no shift by 64
    buf_ <<= n;
    count_ -= n;
    return v;
  }

  // Reads an n-bit field, 0 <= n <= 64.
  uint64_t Read(int n) {
    assert(n >= 0 && n <= 64);
    Refill();
    if (n <= kMinBuffered) return ReadBuffered(n);
    uint64_t hi = ReadBuffered(32);
    Refill();
    return (hi << (n - 32)) | ReadBuffered(n - 32);
  }

  bool ReadBit() {
    Refill();
    return ReadBuffered(1) != 0;
  }

  // Bits consumed so far (may exceed 8 * size() after an overrun).
  uint64_t ConsumedBits() const { return static_cast<uint64_t>(next_) * 8 - count_; }

  // True if the fields read so far lie within the input and the input has
  // no whole byte after the last one (only zero padding bits may follow).
  bool ExactlyConsumed() const { return (ConsumedBits() + 7) / 8 == size_; }

  bool Overrun() const { return ConsumedBits() > static_cast<uint64_t>(size_) * 8; }

 private:
  // Eight bytes from `pos` as a big-endian integer; bytes past the end are 0.
  uint64_t Load(size_t pos) const {
    if (pos + 8 <= size_) return LoadBigEndian64(data_ + pos);
    uint8_t tail[8] = {};
    if (pos < size_) std::memcpy(tail, data_ + pos, size_ - pos);
    return LoadBigEndian64(tail);
  }

  const uint8_t* data_;
  size_t size_;
  size_t next_ = 0;  // next byte to load; may pass size_ (zeros beyond)
  uint64_t buf_ = 0;
  int count_ = 0;
};

}  // namespace vigil::codec
