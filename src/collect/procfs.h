// Readers of the Linux /proc and /sys files the collector samples: pure
// parsers from a file's text to a struct (tested against recorded files in
// testdata/), and ProcFs, which reads them under a root directory ("" for
// the live system; a fixture directory in tests).
//
//   /proc/stat        per-CPU jiffies           ParseProcStat
//   /proc/loadavg     load averages             ParseLoadAvg
//   /proc/meminfo     memory and swap (kB)      ParseMemInfo
//   /proc/diskstats   sectors read/written      ParseDiskStats
//   /proc/net/dev     bytes received/sent       ParseNetDev
//   /proc/PID/stat    ppid, CPU ticks, threads  ParsePidStat
//   /proc/PID/io      bytes read/written        ParsePidIo
//   /proc/PID/fd/     open files (entries)      ProcFs::CountOpenFiles
//
// Parsers return InvalidArgument naming the file and line for text they do
// not understand. Thread-safety: parsers are pure; a ProcFs is immutable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace vigil::collect {

struct CpuTimes {
  std::string name;  // "cpu" (all CPUs) or "cpu0", "cpu1", ...
  uint64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
  uint64_t Idle() const { return idle + iowait; }
  uint64_t Total() const { return user + nice + system + idle + iowait + irq + softirq + steal; }
};
Result<std::vector<CpuTimes>> ParseProcStat(std::string_view text);

struct LoadAvg {
  double one = 0, five = 0, fifteen = 0;
};
Result<LoadAvg> ParseLoadAvg(std::string_view text);

struct MemInfo {  // bytes
  uint64_t total = 0, free = 0, available = 0, buffers = 0, cached = 0;
  uint64_t swap_total = 0, swap_free = 0;
};
Result<MemInfo> ParseMemInfo(std::string_view text);

struct DiskStat {
  std::string device;
  uint64_t read_bytes = 0, write_bytes = 0;  // sectors * 512 (always 512 in diskstats)
};
Result<std::vector<DiskStat>> ParseDiskStats(std::string_view text);

struct NetDev {
  std::string interface;
  uint64_t rx_bytes = 0, tx_bytes = 0;
};
Result<std::vector<NetDev>> ParseNetDev(std::string_view text);

struct PidStat {
  int pid = 0;
  std::string comm;
  char state = '?';
  int ppid = 0;
  uint64_t utime = 0, stime = 0;  // clock ticks
  int64_t num_threads = 0;
  uint64_t starttime = 0;  // clock ticks after boot; tells a reused pid apart
  int64_t rss_pages = 0;
};
Result<PidStat> ParsePidStat(std::string_view text);

struct PidIo {
  uint64_t read_bytes = 0, write_bytes = 0;  // storage I/O
  uint64_t rchar = 0, wchar = 0;             // all read()/write() bytes
};
Result<PidIo> ParsePidIo(std::string_view text);

struct HostSnapshot {
  std::vector<CpuTimes> cpus;  // [0] is the "cpu" total line
  LoadAvg load;
  MemInfo mem;
  std::vector<DiskStat> disks;  // whole disks only (those in /sys/block, minus loop/ram)
  std::vector<NetDev> nets;
};

struct ProcessSnapshot {
  PidStat stat;
  std::optional<PidIo> io;  // absent without permission (another user's process)
  int64_t open_files = -1;  // -1 without permission
};

class ProcFs {
 public:
  // `root` is prepended to every path: "" reads the live /proc and /sys.
  explicit ProcFs(std::string root = "");

  Result<HostSnapshot> ReadHost() const;
  // `pid` and all its descendants (children, grandchildren, ...), `pid`
  // first; NotFound if `pid` does not exist.
  Result<std::vector<int>> ProcessTree(int pid) const;
  // NotFound if the process is gone.
  Result<ProcessSnapshot> ReadProcess(int pid) const;
  int64_t CountOpenFiles(int pid) const;
  bool Exists(int pid) const;

  Result<std::string> ReadFile(const std::string& relative) const;  // "proc/stat"

 private:
  std::string root_;
};

}  // namespace vigil::collect
