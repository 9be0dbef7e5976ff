#include "collect/host_collector.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

#include "core/clock.h"
#include "testing/testing.h"

namespace vigil::collect {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

std::string TestData(const std::string& name) {
  std::string file = __FILE__;
  return file.substr(0, file.rfind('/')) + "/testdata/" + name;
}

std::optional<double> Find(const SampleSet& s, const std::string& metric,
                           const Labels& labels = {}) {
  for (const Sample& x : s.samples) {
    if (x.metric == metric && x.labels == labels) return x.value;
  }
  return std::nullopt;
}

TEST(HostCollector, FirstRoundHasGaugesOnly) {
  HostCollector c(ProcFs(TestData("host0")));
  SampleSet first;
  ASSERT_TRUE(c.Collect(10 * kSecond, &first).ok());
  // Utilisation and rates need a previous reading: none on the first round.
  EXPECT_FALSE(Find(first, "sys/cpu/utilization").has_value());
  EXPECT_FALSE(Find(first, "sys/disk/read_bytes_per_sec", {{"device", "vda"}}).has_value());
  EXPECT_TRUE(Find(first, "sys/mem/total_bytes").has_value());
  EXPECT_DOUBLE_EQ(*Find(first, "sys/swap/used_bytes"), 0);
}

// host1 is host0 one second later with known deltas (testdata/README.md).
// The collector keeps its root, so it reads through a symlink that moves
// from host0 to host1 between the rounds.
TEST(HostCollector, UtilisationAndRatesFromTwoReadings) {
  vigil::testing::TempDir dir;
  std::string link = dir.Join("root");
  ASSERT_EQ(::symlink(TestData("host0").c_str(), link.c_str()), 0);
  HostCollector c(ProcFs{link});
  SampleSet a, b;
  ASSERT_TRUE(c.Collect(10 * kSecond, &a).ok());
  ::unlink(link.c_str());
  ASSERT_EQ(::symlink(TestData("host1").c_str(), link.c_str()), 0);
  ASSERT_TRUE(c.Collect(11 * kSecond, &b).ok());
  ::unlink(link.c_str());

  // cpu: +150 user +50 system +200 idle -> 50%; cpu0 75%, cpu1 25%.
  EXPECT_DOUBLE_EQ(*Find(b, "sys/cpu/utilization"), 50.0);
  EXPECT_DOUBLE_EQ(*Find(b, "sys/cpu/core_utilization", {{"cpu", "0"}}), 75.0);
  EXPECT_DOUBLE_EQ(*Find(b, "sys/cpu/core_utilization", {{"cpu", "1"}}), 25.0);
  // vda: +2048 sectors read, +4096 written in one second.
  EXPECT_DOUBLE_EQ(*Find(b, "sys/disk/read_bytes_per_sec", {{"device", "vda"}}), 1 << 20);
  EXPECT_DOUBLE_EQ(*Find(b, "sys/disk/write_bytes_per_sec", {{"device", "vda"}}), 2 << 20);
  EXPECT_FALSE(Find(b, "sys/disk/read_bytes_per_sec", {{"device", "vda1"}}).has_value());
  // eth0: +1000 received, +500 sent.
  EXPECT_DOUBLE_EQ(*Find(b, "sys/net/rx_bytes_per_sec", {{"interface", "eth0"}}), 1000);
  EXPECT_DOUBLE_EQ(*Find(b, "sys/net/tx_bytes_per_sec", {{"interface", "eth0"}}), 500);
  EXPECT_DOUBLE_EQ(*Find(b, "sys/net/rx_bytes_per_sec", {{"interface", "ifb0"}}), 0);
  // Gauges: used = total - available.
  EXPECT_DOUBLE_EQ(*Find(b, "sys/mem/used_bytes"),
                   *Find(b, "sys/mem/total_bytes") - *Find(b, "sys/mem/available_bytes"));
}

TEST(ProcessTreeCollector, SumsTheTreeFromFixtures) {
  vigil::testing::TempDir dir;
  std::string link = dir.Join("root");
  ASSERT_EQ(::symlink(TestData("host0").c_str(), link.c_str()), 0);
  ProcessTreeCollector c(1234, ProcFs{link});
  SampleSet a, b;
  ASSERT_TRUE(c.Collect(10 * kSecond, &a).ok());
  EXPECT_FALSE(Find(a, "sys/proc/cpu_percent").has_value());
  ::unlink(link.c_str());
  ASSERT_EQ(::symlink(TestData("host1").c_str(), link.c_str()), 0);
  ASSERT_TRUE(c.Collect(11 * kSecond, &b).ok());
  ::unlink(link.c_str());
  // 1234 +100 ticks, 1235 +200 ticks in one second; 1236 is not in the tree.
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  EXPECT_DOUBLE_EQ(*Find(b, "sys/proc/cpu_percent"), 100.0 * 300 / ticks);
  // The zombie 1238 is not counted.
  EXPECT_EQ(*Find(b, "sys/proc/count"), 3);
  EXPECT_EQ(*Find(b, "sys/proc/threads"), 4 + 2 + 1);
  EXPECT_EQ(*Find(b, "sys/proc/rss_bytes"),
            (2560.0 + 256 + 128) * static_cast<double>(sysconf(_SC_PAGESIZE)));
  EXPECT_EQ(*Find(b, "sys/proc/open_files"), 3 + 1 + 1);
  // Each of the three went from 1 MiB to 3 MiB read.
  EXPECT_DOUBLE_EQ(*Find(b, "sys/proc/read_bytes_per_sec"), 3.0 * (2 << 20));
  EXPECT_DOUBLE_EQ(*Find(b, "sys/proc/write_bytes_per_sec"), 0);
}

TEST(ProcessTreeCollector, RootGoneIsNotFound) {
  ProcessTreeCollector c(999999, ProcFs(TestData("host0")));
  SampleSet s;
  EXPECT_EQ(c.Collect(kSecond, &s).code(), StatusCode::kNotFound);
}

// A child that allocates and touches `mib` MiB, forks a sleeping grandchild
// holding `grand_mib` MiB, says it is ready ('r'), and on 'g' burns
// `burn_ms` of CPU time, says done ('d') and sleeps until killed.
struct Worker {
  pid_t pid = -1;
  int to_child = -1, from_child = -1;
};

void TouchAndKeep(size_t mib) {
  // volatile: the compiler may not elide an allocation nobody reads.
  volatile char* m = static_cast<volatile char*>(std::malloc(mib << 20));
  for (size_t i = 0; i < (mib << 20); i += 4096) m[i] = 1;
}

Worker SpawnWorker(size_t mib, size_t grand_mib, int burn_ms) {
  int up[2], down[2];
  Worker w;
  if (::pipe(up) != 0 || ::pipe(down) != 0) return w;
  w.pid = ::fork();
  if (w.pid != 0) {
    ::close(up[1]);
    ::close(down[0]);
    w.from_child = up[0];
    w.to_child = down[1];
    return w;
  }
  if (::fork() == 0) {
    TouchAndKeep(grand_mib);
    (void)!::write(up[1], "r", 1);
    for (;;) ::pause();
  }
  TouchAndKeep(mib);
  char c;
  (void)!::write(up[1], "r", 1);
  if (::read(down[0], &c, 1) != 1) _exit(1);
  timespec start{}, now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
  volatile uint64_t x = 0;
  do {
    for (int i = 0; i < 100000; ++i) x = x + 1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1'000'000 <
           burn_ms);
  (void)!::write(up[1], "d", 1);
  for (;;) ::pause();
}

TEST(ProcessTreeCollector, LiveChildDoingKnownWork) {
  constexpr size_t kMiB = 64, kGrandMiB = 16;
  constexpr int kBurnMs = 500;
  Worker w = SpawnWorker(kMiB, kGrandMiB, kBurnMs);
  ASSERT_GT(w.pid, 0);
  char c;
  ASSERT_EQ(::read(w.from_child, &c, 1), 1);  // one of child and grandchild
  ASSERT_EQ(::read(w.from_child, &c, 1), 1);  // the other
  ProcessTreeCollector col(w.pid);
  SampleSet a, b;
  int64_t t0 = MonotonicNanos();
  ASSERT_TRUE(col.Collect(t0, &a).ok());
  ASSERT_EQ(::write(w.to_child, "g", 1), 1);
  ASSERT_EQ(::read(w.from_child, &c, 1), 1);
  ASSERT_EQ(c, 'd');
  int64_t t1 = MonotonicNanos();
  ASSERT_TRUE(col.Collect(t1, &b).ok());
  for (int pid : col.pids()) ::kill(pid, SIGKILL);
  ::waitpid(w.pid, nullptr, 0);
  ::close(w.to_child);
  ::close(w.from_child);

  EXPECT_EQ(*Find(a, "sys/proc/count"), 2);
  EXPECT_EQ(*Find(b, "sys/proc/threads"), 2);
  const double rss = *Find(b, "sys/proc/rss_bytes");
  EXPECT_GE(rss, static_cast<double>((kMiB + kGrandMiB) << 20));
  EXPECT_LT(rss, static_cast<double>((kMiB + kGrandMiB + 32) << 20));
  // cpu_percent over the window times its length is the CPU time the tree
  // used: the burn, within a few clock ticks (whatever else the machine runs).
  const double cpu_seconds = *Find(b, "sys/proc/cpu_percent") / 100.0 * (t1 - t0) / 1e9;
  EXPECT_GT(cpu_seconds, kBurnMs / 1000.0 - 0.03);
  EXPECT_LT(cpu_seconds, kBurnMs / 1000.0 + 0.06);
  // After the kill, the root is gone.
  SampleSet after;
  EXPECT_EQ(col.Collect(MonotonicNanos(), &after).code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace vigil::collect
