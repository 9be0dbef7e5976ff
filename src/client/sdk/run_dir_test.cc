#include "client/sdk/run_dir.h"

#include <gtest/gtest.h>

#include "client/sdk/run_dir_format.h"
#include "testing/testing.h"

namespace vigil::client {
namespace {

using vigil::testing::ReadFileOrDie;
using vigil::testing::TempDir;
using vigil::testing::WriteFileOrDie;

std::vector<std::string> ReadLines(const std::string& path, bool* torn) {
  auto r = BatchFileReader::Open(path);
  EXPECT_TRUE(r.ok());
  std::vector<std::string> lines;
  *torn = false;
  std::string line;
  while (true) {
    auto k = (*r)->Next(&line);
    EXPECT_TRUE(k.ok());
    if (*k == BatchFileReader::Line::kEnd) break;
    if (*k == BatchFileReader::Line::kTorn) {
      *torn = true;
      break;
    }
    lines.push_back(line);
  }
  return lines;
}

TEST(RunDirTest, WritesTheThreeFiles) {
  TempDir tmp;
  std::string dir = tmp.Join("root/abc");
  auto w = RunDirWriter::Open(dir);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->WriteRunJson(R"({"project":"p","id":"abc"})").ok());
  ASSERT_TRUE((*w)->AppendBatch(R"({"series":[]})").ok());
  ASSERT_TRUE((*w)->AppendBatch(R"({"series":[1]})").ok());
  ASSERT_TRUE((*w)->WriteFinishJson(R"({"state":"finished"})").ok());
  EXPECT_EQ(ReadFileOrDie(dir + "/" + kRunJsonFile), R"({"project":"p","id":"abc"})");
  EXPECT_EQ(ReadFileOrDie(dir + "/" + kBatchesFile), "{\"series\":[]}\n{\"series\":[1]}\n");
  EXPECT_EQ(ReadFileOrDie(dir + "/" + kFinishJsonFile), R"({"state":"finished"})");
  EXPECT_EQ((*w)->batches_bytes(), ReadFileOrDie(dir + "/" + kBatchesFile).size());
}

TEST(RunDirTest, RunJsonReplacedWhole) {
  TempDir tmp;
  auto w = RunDirWriter::Open(tmp.path());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->WriteRunJson(std::string(1000, 'x')).ok());
  ASSERT_TRUE((*w)->WriteRunJson("short").ok());
  EXPECT_EQ(ReadFileOrDie(tmp.Join(kRunJsonFile)), "short");
}

TEST(RunDirTest, ReaderSeesTornLastLine) {
  TempDir tmp;
  WriteFileOrDie(tmp.Join(kBatchesFile), "a\nb\n{\"torn");
  bool torn;
  auto lines = ReadLines(tmp.Join(kBatchesFile), &torn);
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(torn);
}

TEST(RunDirTest, ReaderCountsLinesAndOffsets) {
  TempDir tmp;
  WriteFileOrDie(tmp.Join(kBatchesFile), "one\ntwo\nthree\n");
  auto r = BatchFileReader::Open(tmp.Join(kBatchesFile), 4);
  ASSERT_TRUE(r.ok());
  std::string line;
  ASSERT_EQ(*(*r)->Next(&line), BatchFileReader::Line::kComplete);
  EXPECT_EQ(line, "two");
  EXPECT_EQ((*r)->offset(), 8u);
  EXPECT_EQ((*r)->line_number(), 1u);
  ASSERT_EQ(*(*r)->Next(&line), BatchFileReader::Line::kComplete);
  EXPECT_EQ(line, "three");
  EXPECT_EQ(*(*r)->Next(&line), BatchFileReader::Line::kEnd);
  EXPECT_EQ((*r)->offset(), 14u);
}

TEST(RunDirTest, ReopenTerminatesTornLine) {
  TempDir tmp;
  WriteFileOrDie(tmp.Join(kBatchesFile), "good\n{\"to");
  auto w = RunDirWriter::Open(tmp.path());
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->AppendBatch("next").ok());
  EXPECT_EQ(ReadFileOrDie(tmp.Join(kBatchesFile)), "good\n{\"to\nnext\n");
}

TEST(RunDirTest, MissingFileIsNotFound) {
  TempDir tmp;
  auto r = BatchFileReader::Open(tmp.Join("nope.jsonl"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
}

TEST(RunDirTest, OpenFailsWhenPathIsAFile) {
  TempDir tmp;
  WriteFileOrDie(tmp.Join("file"), "x");
  EXPECT_FALSE(RunDirWriter::Open(tmp.Join("file")).ok());
}

}  // namespace
}  // namespace vigil::client
