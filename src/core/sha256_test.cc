#include "core/sha256.h"

#include <string>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil {
namespace {

// Vectors from NIST's "Cryptographic Standards and Guidelines: Examples with
// Intermediate Values" for SHA-256, and FIPS 180-2 appendix B.
TEST(Sha256, EmptyString) {
  EXPECT_EQ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Sha256Hex(""));
}

TEST(Sha256, Abc) {
  EXPECT_EQ("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", Sha256Hex("abc"));
}

TEST(Sha256, TwoBlockMessage448Bits) {
  EXPECT_EQ("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
}

TEST(Sha256, Message896Bits) {
  EXPECT_EQ(
      "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
      Sha256Hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmn"
                "opqklmnopqrlmnopqrsmnopqrstnopqrstu"));
}

TEST(Sha256, OneMillionA) {
  EXPECT_EQ("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
            Sha256Hex(std::string(1000000, 'a')));
}

TEST(Sha256, RawDigestMatchesHex) {
  Sha256Digest d = Sha256("abc");
  EXPECT_EQ(0xba, d[0]);
  EXPECT_EQ(0x78, d[1]);
  EXPECT_EQ(0xad, d[31]);
  EXPECT_EQ(Sha256Hex("abc"), DigestToHex(d));
}

// Lengths around the padding boundaries (55, 56, 63, 64 bytes) fed in
// pieces of every size must match the one-shot digest of the same bytes.
TEST(Sha256, IncrementalEqualsOneShotAtEverySplit) {
  auto rng = testing::SeededRng();
  for (size_t len : {0u, 1u, 55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u, 200u}) {
    std::string msg(len, '\0');
    for (auto& c : msg) c = static_cast<char>(rng());
    std::string want = Sha256Hex(msg);
    for (size_t piece = 1; piece <= len; ++piece) {
      Sha256Hasher h;
      for (size_t i = 0; i < len; i += piece) h.Update(std::string_view(msg).substr(i, piece));
      EXPECT_EQ(want, DigestToHex(h.Finish())) << len << " " << piece;
    }
  }
}

TEST(Sha256, PaddingBoundaryLengthsDiffer) {
  // 55 bytes pad into one block, 56 into two: a wrong length field or
  // padding rule shows up as equal or known-wrong digests here.
  EXPECT_EQ("9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            Sha256Hex(std::string(55, 'a')));
  EXPECT_EQ("b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            Sha256Hex(std::string(56, 'a')));
  EXPECT_EQ("ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
            Sha256Hex(std::string(64, 'a')));
}

}  // namespace
}  // namespace vigil
