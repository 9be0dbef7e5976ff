#include "collect/procfs.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace vigil::collect {
namespace {

std::string TestData(const std::string& name) {
  std::string file = __FILE__;
  return file.substr(0, file.rfind('/')) + "/testdata/" + name;
}

TEST(ParseProcStat, RecordedFileHasTotalThenCores) {
  ProcFs fs(TestData("host0"));
  auto text = fs.ReadFile("proc/stat");
  ASSERT_TRUE(text.ok());
  auto cpus = ParseProcStat(*text);
  ASSERT_TRUE(cpus.ok()) << cpus.status().ToString();
  ASSERT_EQ(cpus->size(), 3u);
  EXPECT_EQ((*cpus)[0].name, "cpu");
  EXPECT_EQ((*cpus)[1].name, "cpu0");
  EXPECT_EQ((*cpus)[0].user, 917595u);
  EXPECT_EQ((*cpus)[0].idle, 3705451u);
  EXPECT_EQ((*cpus)[2].steal, 735u);
}

TEST(ParseProcStat, OldKernelWithFourCounters) {
  auto cpus = ParseProcStat("cpu 1 2 3 4\ncpu0 1 2 3 4\nintr 5\n");
  ASSERT_TRUE(cpus.ok());
  EXPECT_EQ((*cpus)[0].Total(), 10u);
  EXPECT_EQ((*cpus)[0].iowait, 0u);
}

TEST(ParseProcStat, MissingTotalLine) {
  EXPECT_FALSE(ParseProcStat("cpu0 1 2 3 4\n").ok());
  EXPECT_FALSE(ParseProcStat("").ok());
}

TEST(ParseProcStat, NonNumericCounter) {
  auto r = ParseProcStat("cpu 1 2 x 4\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("line 1"), std::string::npos);
}

TEST(ParseLoadAvg, ThreeAverages) {
  auto l = ParseLoadAvg("0.52 1.25 2.00 3/456 7890\n");
  ASSERT_TRUE(l.ok());
  EXPECT_DOUBLE_EQ(l->one, 0.52);
  EXPECT_DOUBLE_EQ(l->five, 1.25);
  EXPECT_DOUBLE_EQ(l->fifteen, 2.0);
  EXPECT_FALSE(ParseLoadAvg("0.5 1.0\n").ok());
}

TEST(ParseMemInfo, RecordedFileInBytes) {
  ProcFs fs(TestData("host0"));
  auto m = ParseMemInfo(*fs.ReadFile("proc/meminfo"));
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_GT(m->total, 0u);
  EXPECT_EQ(m->total % 1024, 0u);  // kB scaled to bytes
  EXPECT_LE(m->available, m->total);
}

TEST(ParseMemInfo, MemAvailableEstimatedOnOldKernels) {
  auto m = ParseMemInfo("MemTotal: 1000 kB\nMemFree: 100 kB\nBuffers: 20 kB\nCached: 30 kB\n");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->available, 150u * 1024);
}

TEST(ParseMemInfo, NoTotal) {
  EXPECT_FALSE(ParseMemInfo("MemFree: 100 kB\n").ok());
}

TEST(ParseDiskStats, SectorsAre512Bytes) {
  auto d = ParseDiskStats(
      " 254       0 vda 66592 11850 7009906 24433 505386 68664 92760016 625766 0 65240 668293\n");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].device, "vda");
  EXPECT_EQ((*d)[0].read_bytes, 7009906ull * 512);
  EXPECT_EQ((*d)[0].write_bytes, 92760016ull * 512);
}

TEST(ParseDiskStats, ShortLine) {
  EXPECT_FALSE(ParseDiskStats("8 0 sda 1 2 3\n").ok());
}

TEST(ParseNetDev, SkipsHeadersAndReadsBytes) {
  ProcFs fs(TestData("host0"));
  auto n = ParseNetDev(*fs.ReadFile("proc/net/dev"));
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  auto eth0 = std::find_if(n->begin(), n->end(), [](auto& d) { return d.interface == "eth0"; });
  ASSERT_NE(eth0, n->end());
  EXPECT_EQ(eth0->rx_bytes, 347416350u);
  EXPECT_EQ(eth0->tx_bytes, 426968u);
}

TEST(ParseNetDev, InterfaceWithoutSpaceAfterColon) {
  // Large counters run into the colon: "eth0:1234567890 ...".
  auto n = ParseNetDev("h1\nh2\n  eth0:1234567890 1 0 0 0 0 0 0 42 1 0 0 0 0 0 0\n");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ((*n)[0].rx_bytes, 1234567890u);
  EXPECT_EQ((*n)[0].tx_bytes, 42u);
}

TEST(ParsePidStat, CommWithSpacesAndParentheses) {
  ProcFs fs(TestData("host0"));
  auto s = ParsePidStat(*fs.ReadFile("proc/1234/stat"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->pid, 1234);
  EXPECT_EQ(s->comm, "my (weird) proc");
  EXPECT_EQ(s->state, 'S');
  EXPECT_EQ(s->ppid, 1);
  EXPECT_EQ(s->utime, 500u);
  EXPECT_EQ(s->stime, 100u);
  EXPECT_EQ(s->num_threads, 4);
  EXPECT_EQ(s->starttime, 1000u);
  EXPECT_EQ(s->rss_pages, 2560);
}

TEST(ParsePidStat, Truncated) {
  EXPECT_FALSE(ParsePidStat("1 (init) S 0 1 1").ok());
  EXPECT_FALSE(ParsePidStat("1 init S 0").ok());
}

TEST(ParsePidIo, AllFourCounters) {
  auto io = ParsePidIo("rchar: 1\nwchar: 2\nsyscr: 3\nsyscw: 4\nread_bytes: 5\nwrite_bytes: 6\n");
  ASSERT_TRUE(io.ok());
  EXPECT_EQ(io->rchar, 1u);
  EXPECT_EQ(io->wchar, 2u);
  EXPECT_EQ(io->read_bytes, 5u);
  EXPECT_EQ(io->write_bytes, 6u);
  EXPECT_FALSE(ParsePidIo("rchar: 1\n").ok());
}

TEST(ProcFs, HostKeepsWholeDisksOnly) {
  auto h = ProcFs(TestData("host0")).ReadHost();
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  std::vector<std::string> disks;
  for (auto& d : h->disks) disks.push_back(d.device);
  // vda1 (a partition, not in sys/block) and loop0 (a loop device) are left out.
  EXPECT_EQ(disks, (std::vector<std::string>{"vda", "zram0"}));
}

TEST(ProcFs, ProcessTreeFollowsDescendants) {
  auto tree = ProcFs(TestData("host0")).ProcessTree(1234);
  ASSERT_TRUE(tree.ok()) << tree.status().ToString();
  std::vector<int> pids = *tree;
  EXPECT_EQ(pids.front(), 1234);
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<int>{1234, 1235, 1237, 1238}));  // not 1236
}

TEST(ProcFs, ProcessTreeOfMissingPid) {
  auto tree = ProcFs(TestData("host0")).ProcessTree(999999);
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), StatusCode::kNotFound);
}

TEST(ProcFs, ReadProcessCountsOpenFiles) {
  auto p = ProcFs(TestData("host0")).ReadProcess(1234);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->open_files, 3);
  ASSERT_TRUE(p->io.has_value());
  EXPECT_EQ(p->io->read_bytes, 1u << 20);
}

}  // namespace
}  // namespace vigil::collect
