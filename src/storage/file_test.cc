// Tests of the POSIX file primitives.
#include "storage/file.h"

#include <sys/stat.h>

#include <string>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::storage {
namespace {

using vigil::testing::ReadFileOrDie;
using vigil::testing::TempDir;
using vigil::testing::WriteFileOrDie;

TEST(WritableFileTest, AppendFlushReadBack) {
  TempDir dir;
  auto f = WritableFile::Open(dir.Join("f"), false);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_TRUE((*f)->Append("hello ").ok());
  ASSERT_TRUE((*f)->Append("world").ok());
  EXPECT_EQ(11u, (*f)->size());
  EXPECT_EQ("", ReadFileOrDie(dir.Join("f"))) << "buffered until Flush";
  ASSERT_TRUE((*f)->Flush().ok());
  EXPECT_EQ("hello world", ReadFileOrDie(dir.Join("f")));
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_EQ(dir.Join("f"), (*f)->path());
}

TEST(WritableFileTest, AppendsLargerThanBufferKeepOrder) {
  TempDir dir;
  auto rng = vigil::testing::SeededRng();
  auto f = WritableFile::Open(dir.Join("f"), false);
  ASSERT_TRUE(f.ok());
  std::string want;
  for (size_t n : {10ul, 3ul << 20, 5ul, (1ul << 20) - 3, 700000ul, 1ul << 20, 1ul}) {
    std::string chunk(n, '\0');
    for (char& c : chunk) c = static_cast<char>(rng());
    ASSERT_TRUE((*f)->Append(chunk).ok());
    want += chunk;
    EXPECT_EQ(want.size(), (*f)->size());
  }
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE(ReadFileOrDie(dir.Join("f")) == want);
}

TEST(WritableFileTest, OpenAppendsOrTruncates) {
  TempDir dir;
  WriteFileOrDie(dir.Join("f"), "abc");
  {
    auto f = WritableFile::Open(dir.Join("f"), /*truncate=*/false);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(3u, (*f)->size());
    ASSERT_TRUE((*f)->Append("def").ok());
  }  // the destructor flushes and closes
  EXPECT_EQ("abcdef", ReadFileOrDie(dir.Join("f")));
  auto f = WritableFile::Open(dir.Join("f"), /*truncate=*/true);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(0u, (*f)->size());
  EXPECT_EQ("", ReadFileOrDie(dir.Join("f")));
}

TEST(WritableFileTest, AppendAfterCloseFails) {
  TempDir dir;
  auto f = WritableFile::Open(dir.Join("f"), false);
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE((*f)->Close().ok());
  EXPECT_TRUE((*f)->Close().ok()) << "closing twice is harmless";
  EXPECT_FALSE((*f)->Append("x").ok());
}

TEST(WritableFileTest, OpenInMissingDirectoryNamesPath) {
  TempDir dir;
  auto f = WritableFile::Open(dir.Join("no/such/f"), false);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(StatusCode::kIOError, f.status().code());
  EXPECT_NE(std::string::npos, f.status().message().find(dir.Join("no/such/f")));
}

TEST(MappedFileTest, MapsContents) {
  TempDir dir;
  WriteFileOrDie(dir.Join("m"), "mapped bytes");
  auto m = MappedFile::Open(dir.Join("m"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ("mapped bytes", (*m)->data());
  EXPECT_EQ(dir.Join("m"), (*m)->path());
}

TEST(MappedFileTest, EmptyFileIsEmptyView) {
  TempDir dir;
  WriteFileOrDie(dir.Join("e"), "");
  auto m = MappedFile::Open(dir.Join("e"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_TRUE((*m)->data().empty());
}

TEST(MappedFileTest, MissingFileIsIOError) {
  TempDir dir;
  auto m = MappedFile::Open(dir.Join("missing"));
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(StatusCode::kIOError, m.status().code());
  EXPECT_NE(std::string::npos, m.status().message().find("missing"));
}

TEST(FileTest, ReadFileToString) {
  TempDir dir;
  std::string big(200000, 'q');
  WriteFileOrDie(dir.Join("r"), big);
  auto s = ReadFileToString(dir.Join("r"));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(big, *s);
  EXPECT_FALSE(ReadFileToString(dir.Join("nope")).ok());
}

TEST(FileTest, WriteFileAtomicallyReplaces) {
  TempDir dir;
  const std::string p = dir.Join("manifest");
  ASSERT_TRUE(WriteFileAtomically(p, "version 1").ok());
  EXPECT_EQ("version 1", ReadFileOrDie(p));
  ASSERT_TRUE(WriteFileAtomically(p, "v2").ok());
  EXPECT_EQ("v2", ReadFileOrDie(p));
  EXPECT_FALSE(FileExists(p + ".tmp")) << "the temporary file is renamed away";
  auto names = ListDirectory(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(std::vector<std::string>{"manifest"}, *names);
}

TEST(FileTest, WriteFileAtomicallyFailureLeavesOldFile) {
  TempDir dir;
  const std::string p = dir.Join("d");
  ASSERT_TRUE(CreateDirectories(p).ok());  // rename of a file over a directory fails
  Status s = WriteFileAtomically(p, "x");
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(FileExists(p + ".tmp"));
  struct stat st;
  ASSERT_EQ(0, ::stat(p.c_str(), &st));
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(FileTest, LockContention) {
  TempDir dir;
  const std::string lock_path = dir.Join("LOCK");
  auto first = FileLock::Acquire(lock_path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto second = FileLock::Acquire(lock_path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(StatusCode::kFailedPrecondition, second.status().code());
  EXPECT_NE(std::string::npos, second.status().message().find("data directory " + dir.path() +
                                                              " is in use by another process"))
      << second.status().ToString();
  first = Status::Internal("release");  // destroys the lock
  auto third = FileLock::Acquire(lock_path);
  EXPECT_TRUE(third.ok()) << "released with its owner: " << third.status().ToString();
}

TEST(FileTest, TruncateFile) {
  TempDir dir;
  WriteFileOrDie(dir.Join("t"), "0123456789");
  ASSERT_TRUE(TruncateFile(dir.Join("t"), 4).ok());
  EXPECT_EQ("0123", ReadFileOrDie(dir.Join("t")));
  EXPECT_EQ(4u, *FileSize(dir.Join("t")));
  EXPECT_FALSE(TruncateFile(dir.Join("missing"), 0).ok());
}

TEST(FileTest, ListDirectorySorted) {
  TempDir dir;
  for (const char* n : {"c", "a", "b.wal"}) WriteFileOrDie(dir.Join(n), "x");
  ASSERT_TRUE(CreateDirectories(dir.Join("sub")).ok());
  auto names = ListDirectory(dir.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ((std::vector<std::string>{"a", "b.wal", "c", "sub"}), *names);
  EXPECT_EQ(StatusCode::kIOError, ListDirectory(dir.Join("missing")).status().code());
}

TEST(FileTest, DirectorySizeIsRecursive) {
  TempDir dir;
  ASSERT_TRUE(CreateDirectories(dir.Join("a/b/c")).ok());
  WriteFileOrDie(dir.Join("x"), std::string(10, 'x'));
  WriteFileOrDie(dir.Join("a/b/y"), std::string(100, 'y'));
  WriteFileOrDie(dir.Join("a/b/c/z"), std::string(1000, 'z'));
  auto size = DirectorySize(dir.path());
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(1110u, *size);
}

TEST(FileTest, RemoveRenameExists) {
  TempDir dir;
  WriteFileOrDie(dir.Join("a"), "x");
  EXPECT_TRUE(FileExists(dir.Join("a")));
  ASSERT_TRUE(RenameFile(dir.Join("a"), dir.Join("b")).ok());
  EXPECT_FALSE(FileExists(dir.Join("a")));
  EXPECT_TRUE(FileExists(dir.Join("b")));
  ASSERT_TRUE(RemoveFile(dir.Join("b")).ok());
  EXPECT_FALSE(FileExists(dir.Join("b")));
  EXPECT_TRUE(RemoveFile(dir.Join("b")).ok()) << "already absent is OK";
  EXPECT_FALSE(RenameFile(dir.Join("b"), dir.Join("c")).ok());
  EXPECT_EQ(StatusCode::kIOError, FileSize(dir.Join("b")).status().code());
}

TEST(FileTest, CreateDirectoriesNestedAndExisting) {
  TempDir dir;
  ASSERT_TRUE(CreateDirectories(dir.Join("x/y/z")).ok());
  EXPECT_TRUE(CreateDirectories(dir.Join("x/y/z")).ok());
  EXPECT_TRUE(SyncDirectory(dir.Join("x/y")).ok());
  WriteFileOrDie(dir.Join("file"), "x");
  EXPECT_FALSE(CreateDirectories(dir.Join("file/sub")).ok());
}

}  // namespace
}  // namespace vigil::storage
