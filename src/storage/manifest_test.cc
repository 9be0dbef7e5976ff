#include "storage/manifest.h"

#include <gtest/gtest.h>

#include "storage/file.h"
#include "testing/testing.h"

namespace vigil::storage {
namespace {

Manifest Sample() {
  Manifest m;
  m.wal_start = 12;
  m.next_file = 9;
  m.next_series_id = 1234;
  m.blocks = {{7, 3}, {8, 5}};
  m.tombstones = {{"r8x2", 1200}};
  return m;
}

TEST(Manifest, RoundTrips) {
  auto m = DecodeManifest(EncodeManifest(Sample()), "M");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(Sample(), *m);
}

TEST(Manifest, MissingFileIsEmpty) {
  vigil::testing::TempDir dir;
  auto m = LoadManifest(dir.path());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Manifest{}, *m);
  ASSERT_TRUE(SaveManifest(dir.path(), Sample()).ok());
  EXPECT_EQ(Sample(), *LoadManifest(dir.path()));
}

TEST(Manifest, DetectsAFlippedByte) {
  std::string text = EncodeManifest(Sample());
  text[text.find("block 7") + 6] = '6';
  auto m = DecodeManifest(text, "M");
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(m.status().IsCorruption());
  EXPECT_NE(std::string::npos, m.status().message().find("checksum")) << m.status().message();
}

TEST(Manifest, DetectsTruncation) {
  std::string text = EncodeManifest(Sample());
  for (size_t n = 0; n < text.size(); ++n) {
    EXPECT_FALSE(DecodeManifest(text.substr(0, n), "M").ok()) << n;
  }
}

TEST(Manifest, RejectsUnknownLinesWithTheirNumber) {
  std::string body = "vigil-manifest 1\nwal_start 1\nbogus 3\n";
  auto m = DecodeManifest(body, "M");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(std::string::npos, m.status().message().find("line 3")) << m.status().message();
}

TEST(Manifest, BlockFileNames) {
  EXPECT_EQ("00000007.blk", BlockFileName(7));
}

}  // namespace
}  // namespace vigil::storage
