#include "collect/procfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>

#include <fmt/format.h>

namespace vigil::collect {
namespace {

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t j = i;
    while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  size_t n = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    f(line, ++n);
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

bool ToU64(std::string_view s, uint64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}
bool ToI64(std::string_view s, int64_t* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}
bool ToDouble(std::string_view s, double* v) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *v);
  return ec == std::errc() && p == s.data() + s.size();
}

Status Bad(std::string_view file, size_t line, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{} line {}: {}", file, line, what));
}

}  // namespace

Result<std::vector<CpuTimes>> ParseProcStat(std::string_view text) {
  std::vector<CpuTimes> cpus;
  Status err;
  ForEachLine(text, [&](std::string_view line, size_t n) {
    if (!err.ok() || line.substr(0, 3) != "cpu") return;
    auto f = Fields(line);
    if (f.size() < 5) {
      err = Bad("/proc/stat", n, "a cpu line with fewer than 4 counters");
      return;
    }
    CpuTimes c;
    c.name = std::string(f[0]);
    uint64_t* slots[] = {&c.user,   &c.nice, &c.system,  &c.idle,
                         &c.iowait, &c.irq,  &c.softirq, &c.steal};
    for (size_t i = 0; i < 8 && i + 1 < f.size(); ++i) {
      if (!ToU64(f[i + 1], slots[i])) {
        err = Bad("/proc/stat", n, fmt::format("counter '{}' is not a number", f[i + 1]));
        return;
      }
    }
    cpus.push_back(std::move(c));
  });
  if (!err.ok()) return err;
  if (cpus.empty() || cpus[0].name != "cpu") {
    return Status::InvalidArgument("/proc/stat: no 'cpu' total line first");
  }
  return cpus;
}

Result<LoadAvg> ParseLoadAvg(std::string_view text) {
  auto f = Fields(text.substr(0, text.find('\n')));
  LoadAvg l;
  if (f.size() < 3 || !ToDouble(f[0], &l.one) || !ToDouble(f[1], &l.five) ||
      !ToDouble(f[2], &l.fifteen)) {
    return Bad("/proc/loadavg", 1, "expected three load averages");
  }
  return l;
}

Result<MemInfo> ParseMemInfo(std::string_view text) {
  MemInfo m;
  bool has_total = false, has_available = false;
  Status err;
  ForEachLine(text, [&](std::string_view line, size_t n) {
    if (!err.ok() || line.empty()) return;
    auto f = Fields(line);
    if (f.size() < 2 || f[0].back() != ':') {
      err = Bad("/proc/meminfo", n, "expected 'Name: value [kB]'");
      return;
    }
    uint64_t v = 0;
    if (!ToU64(f[1], &v)) {
      err = Bad("/proc/meminfo", n, fmt::format("value '{}' is not a number", f[1]));
      return;
    }
    if (f.size() >= 3 && f[2] == "kB") v *= 1024;
    std::string_view k = f[0].substr(0, f[0].size() - 1);
    if (k == "MemTotal")
      m.total = v, has_total = true;
    else if (k == "MemFree")
      m.free = v;
    else if (k == "MemAvailable")
      m.available = v, has_available = true;
    else if (k == "Buffers")
      m.buffers = v;
    else if (k == "Cached")
      m.cached = v;
    else if (k == "SwapTotal")
      m.swap_total = v;
    else if (k == "SwapFree")
      m.swap_free = v;
  });
  if (!err.ok()) return err;
  if (!has_total) return Status::InvalidArgument("/proc/meminfo: no MemTotal");
  // Kernels before 3.14 lack MemAvailable; estimate it as free + page cache.
  if (!has_available) m.available = m.free + m.buffers + m.cached;
  return m;
}

Result<std::vector<DiskStat>> ParseDiskStats(std::string_view text) {
  std::vector<DiskStat> out;
  Status err;
  ForEachLine(text, [&](std::string_view line, size_t n) {
    if (!err.ok()) return;
    auto f = Fields(line);
    if (f.empty()) return;
    // major minor name reads merged sectors_read ms writes merged sectors_written ...
    uint64_t rs = 0, ws = 0;
    if (f.size() < 10 || !ToU64(f[5], &rs) || !ToU64(f[9], &ws)) {
      err = Bad("/proc/diskstats", n, "expected at least 10 fields with sector counts");
      return;
    }
    out.push_back(DiskStat{std::string(f[2]), rs * 512, ws * 512});
  });
  if (!err.ok()) return err;
  return out;
}

Result<std::vector<NetDev>> ParseNetDev(std::string_view text) {
  std::vector<NetDev> out;
  Status err;
  ForEachLine(text, [&](std::string_view line, size_t n) {
    if (!err.ok() || n <= 2 || line.empty()) return;  // two header lines
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      err = Bad("/proc/net/dev", n, "expected 'interface: counters'");
      return;
    }
    auto name = Fields(line.substr(0, colon));
    auto f = Fields(line.substr(colon + 1));
    NetDev d;
    // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes ...
    if (name.size() != 1 || f.size() < 9 || !ToU64(f[0], &d.rx_bytes) ||
        !ToU64(f[8], &d.tx_bytes)) {
      err = Bad("/proc/net/dev", n, "expected an interface with 16 counters");
      return;
    }
    d.interface = std::string(name[0]);
    out.push_back(std::move(d));
  });
  if (!err.ok()) return err;
  return out;
}

Result<PidStat> ParsePidStat(std::string_view text) {
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // it ends at the last ')'.
  size_t open = text.find('('), close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return Bad("/proc/PID/stat", 1, "no '(comm)'");
  }
  PidStat s;
  int64_t pid = 0;
  auto head = Fields(text.substr(0, open));
  if (head.size() != 1 || !ToI64(head[0], &pid)) return Bad("/proc/PID/stat", 1, "bad pid");
  s.pid = static_cast<int>(pid);
  s.comm = std::string(text.substr(open + 1, close - open - 1));
  auto f = Fields(text.substr(close + 1, text.find('\n', close) - close - 1));
  // f[0] is field 3 (state); field k of proc(5) is f[k - 3].
  int64_t ppid = 0;
  if (f.size() < 22 || f[0].size() != 1 || !ToI64(f[1], &ppid) || !ToU64(f[11], &s.utime) ||
      !ToU64(f[12], &s.stime) || !ToI64(f[17], &s.num_threads) || !ToU64(f[19], &s.starttime) ||
      !ToI64(f[21], &s.rss_pages)) {
    return Bad("/proc/PID/stat", 1, "expected at least 24 fields");
  }
  s.state = f[0][0];
  s.ppid = static_cast<int>(ppid);
  return s;
}

Result<PidIo> ParsePidIo(std::string_view text) {
  PidIo io;
  int found = 0;
  Status err;
  ForEachLine(text, [&](std::string_view line, size_t n) {
    if (!err.ok() || line.empty()) return;
    auto f = Fields(line);
    uint64_t v = 0;
    if (f.size() != 2 || !ToU64(f[1], &v)) {
      err = Bad("/proc/PID/io", n, "expected 'name: value'");
      return;
    }
    if (f[0] == "rchar:")
      io.rchar = v, ++found;
    else if (f[0] == "wchar:")
      io.wchar = v, ++found;
    else if (f[0] == "read_bytes:")
      io.read_bytes = v, ++found;
    else if (f[0] == "write_bytes:")
      io.write_bytes = v, ++found;
  });
  if (!err.ok()) return err;
  if (found < 4)
    return Status::InvalidArgument("/proc/PID/io: missing rchar/wchar/read_bytes/write_bytes");
  return io;
}

ProcFs::ProcFs(std::string root) : root_(std::move(root)) {}

Result<std::string> ProcFs::ReadFile(const std::string& relative) const {
  std::string path = root_ + "/" + relative;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return errno == ENOENT || errno == ESRCH ? Status::NotFound(path)
                                             : Status::FromErrno("open", path, errno);
  }
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return e == ESRCH ? Status::NotFound(path) : Status::FromErrno("read", path, e);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Result<HostSnapshot> ProcFs::ReadHost() const {
  HostSnapshot h;
  VIGIL_ASSIGN_OR_RETURN(std::string stat, ReadFile("proc/stat"));
  VIGIL_ASSIGN_OR_RETURN(h.cpus, ParseProcStat(stat));
  VIGIL_ASSIGN_OR_RETURN(std::string load, ReadFile("proc/loadavg"));
  VIGIL_ASSIGN_OR_RETURN(h.load, ParseLoadAvg(load));
  VIGIL_ASSIGN_OR_RETURN(std::string mem, ReadFile("proc/meminfo"));
  VIGIL_ASSIGN_OR_RETURN(h.mem, ParseMemInfo(mem));
  if (auto disk = ReadFile("proc/diskstats"); disk.ok()) {
    VIGIL_ASSIGN_OR_RETURN(auto all, ParseDiskStats(*disk));
    std::string block = root_ + "/sys/block";
    struct stat st;
    const bool have_sys = ::stat(block.c_str(), &st) == 0;
    for (auto& d : all) {
      // Whole disks only: partitions would count the same bytes twice.
      if (d.device.rfind("loop", 0) == 0 || d.device.rfind("ram", 0) == 0) continue;
      std::string dev = block + "/" + d.device;
      if (have_sys && ::stat(dev.c_str(), &st) != 0) continue;
      h.disks.push_back(std::move(d));
    }
  }
  if (auto net = ReadFile("proc/net/dev"); net.ok()) {
    VIGIL_ASSIGN_OR_RETURN(h.nets, ParseNetDev(*net));
  }
  return h;
}

bool ProcFs::Exists(int pid) const {
  std::string path = fmt::format("{}/proc/{}/stat", root_, pid);
  return ::access(path.c_str(), F_OK) == 0;
}

Result<std::vector<int>> ProcFs::ProcessTree(int pid) const {
  if (!Exists(pid)) return Status::NotFound(fmt::format("process {}", pid));
  std::multimap<int, int> children;  // ppid -> pid
  std::string dir = root_ + "/proc";
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::FromErrno("opendir", dir, errno);
  while (dirent* e = ::readdir(d)) {
    uint64_t p = 0;
    if (!ToU64(e->d_name, &p)) continue;
    auto text = ReadFile(fmt::format("proc/{}/stat", p));
    if (!text.ok()) continue;  // exited meanwhile
    auto st = ParsePidStat(*text);
    if (st.ok()) children.emplace(st->ppid, st->pid);
  }
  ::closedir(d);
  std::vector<int> tree{pid};
  for (size_t i = 0; i < tree.size(); ++i) {
    auto [lo, hi] = children.equal_range(tree[i]);
    for (auto it = lo; it != hi; ++it) {
      if (it->second != pid) tree.push_back(it->second);
    }
  }
  return tree;
}

int64_t ProcFs::CountOpenFiles(int pid) const {
  std::string dir = fmt::format("{}/proc/{}/fd", root_, pid);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int64_t n = 0;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

Result<ProcessSnapshot> ProcFs::ReadProcess(int pid) const {
  ProcessSnapshot p;
  VIGIL_ASSIGN_OR_RETURN(std::string stat, ReadFile(fmt::format("proc/{}/stat", pid)));
  VIGIL_ASSIGN_OR_RETURN(p.stat, ParsePidStat(stat));
  if (auto io = ReadFile(fmt::format("proc/{}/io", pid)); io.ok()) {
    if (auto parsed = ParsePidIo(*io); parsed.ok()) p.io = *parsed;
  }
  p.open_files = CountOpenFiles(pid);
  return p;
}

}  // namespace vigil::collect
