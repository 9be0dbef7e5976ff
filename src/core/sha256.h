// SHA-256 (FIPS 180-4): the digest vigil stores in place of an API token's
// secret (server/auth/token_store.h). A plain, portable implementation: the
// inputs it hashes are short (a token per request), so no SIMD path.
//
// Thread-safety: the functions are pure; a Sha256Hasher object is not
// thread-safe, distinct objects are independent.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vigil {

inline constexpr size_t kSha256DigestBytes = 32;
using Sha256Digest = std::array<uint8_t, kSha256DigestBytes>;

// Incremental hashing: Update() any number of times, then Finish() once.
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(std::string_view data);
  // REQUIRES: not called before on this object.
  Sha256Digest Finish();

 private:
  void Compress(const uint8_t* block);  // one 64-byte block

  std::array<uint32_t, 8> h_;  // the running hash value H(i)
  std::array<uint8_t, 64> buffer_;
  size_t buffered_ = 0;       // bytes in buffer_, always < 64 between calls
  uint64_t total_bytes_ = 0;  // message length so far
  bool finished_ = false;
};

Sha256Digest Sha256(std::string_view data);

// The digest as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

// `digest` as 64 lower-case hex digits.
std::string DigestToHex(const Sha256Digest& digest);

}  // namespace vigil
