#include "collect/host_collector.h"

#include <unistd.h>

#include <fmt/format.h>

namespace vigil::collect {
namespace {

double Percent(uint64_t part, uint64_t whole) {
  return whole == 0 ? 0.0 : 100.0 * static_cast<double>(part) / static_cast<double>(whole);
}

// Busy share of a CPU between two readings. Counters that went backwards
// (a CPU taken offline and back) give no value.
bool Utilization(const CpuTimes& prev, const CpuTimes& cur, double* out) {
  if (cur.Total() <= prev.Total() || cur.Idle() < prev.Idle()) return false;
  uint64_t total = cur.Total() - prev.Total();
  uint64_t idle = cur.Idle() - prev.Idle();
  *out = Percent(idle > total ? 0 : total - idle, total);
  return true;
}

}  // namespace

Status HostCollector::Collect(int64_t now_ns, SampleSet* out) {
  VIGIL_ASSIGN_OR_RETURN(HostSnapshot h, fs_.ReadHost());
  for (const CpuTimes& c : h.cpus) {
    for (const CpuTimes& p : last_cpus_) {
      if (p.name != c.name) continue;
      double u = 0;
      if (!Utilization(p, c, &u)) break;
      if (c.name == "cpu") {
        out->Add("sys/cpu/utilization", {}, u);
      } else {
        out->Add("sys/cpu/core_utilization", {{"cpu", c.name.substr(3)}}, u);
      }
      break;
    }
  }
  last_cpus_ = h.cpus;
  out->Add("sys/load/1", {}, h.load.one);
  out->Add("sys/load/5", {}, h.load.five);
  out->Add("sys/load/15", {}, h.load.fifteen);
  const MemInfo& m = h.mem;
  out->Add("sys/mem/total_bytes", {}, static_cast<double>(m.total));
  out->Add("sys/mem/available_bytes", {}, static_cast<double>(m.available));
  out->Add("sys/mem/used_bytes", {},
           static_cast<double>(m.total > m.available ? m.total - m.available : 0));
  out->Add("sys/swap/total_bytes", {}, static_cast<double>(m.swap_total));
  out->Add("sys/swap/used_bytes", {},
           static_cast<double>(m.swap_total > m.swap_free ? m.swap_total - m.swap_free : 0));
  for (const DiskStat& d : h.disks) {
    if (auto r = rates_.Update("disk_r/" + d.device, d.read_bytes, now_ns)) {
      out->Add("sys/disk/read_bytes_per_sec", {{"device", d.device}}, *r);
    }
    if (auto r = rates_.Update("disk_w/" + d.device, d.write_bytes, now_ns)) {
      out->Add("sys/disk/write_bytes_per_sec", {{"device", d.device}}, *r);
    }
  }
  for (const NetDev& n : h.nets) {
    if (auto r = rates_.Update("net_rx/" + n.interface, n.rx_bytes, now_ns)) {
      out->Add("sys/net/rx_bytes_per_sec", {{"interface", n.interface}}, *r);
    }
    if (auto r = rates_.Update("net_tx/" + n.interface, n.tx_bytes, now_ns)) {
      out->Add("sys/net/tx_bytes_per_sec", {{"interface", n.interface}}, *r);
    }
  }
  rates_.Sweep();
  return Status::OK();
}

ProcessTreeCollector::ProcessTreeCollector(int root_pid, ProcFs fs)
    : root_(root_pid),
      fs_(std::move(fs)),
      ticks_per_second_(sysconf(_SC_CLK_TCK)),
      page_size_(sysconf(_SC_PAGESIZE)) {}

Status ProcessTreeCollector::Collect(int64_t now_ns, SampleSet* out) {
  VIGIL_ASSIGN_OR_RETURN(pids_, fs_.ProcessTree(root_));
  double rss = 0, threads = 0, open_files = 0, count = 0;
  uint64_t delta_ticks = 0, read_bytes = 0, write_bytes = 0;
  bool io_complete = true;
  std::map<std::pair<int, uint64_t>, uint64_t> ticks;
  for (int pid : pids_) {
    auto p = fs_.ReadProcess(pid);
    if (!p.ok()) {
      if (pid == root_) return Status::NotFound(fmt::format("process {} exited", root_));
      continue;  // a descendant exited meanwhile
    }
    const PidStat& s = p->stat;
    if (s.state == 'Z') continue;  // a zombie holds no resources
    ++count;
    rss += static_cast<double>(s.rss_pages) * static_cast<double>(page_size_);
    threads += static_cast<double>(s.num_threads);
    if (p->open_files >= 0) open_files += static_cast<double>(p->open_files);
    const auto key = std::make_pair(s.pid, s.starttime);
    const uint64_t t = s.utime + s.stime;
    ticks[key] = t;
    if (auto it = last_ticks_.find(key); it != last_ticks_.end() && t >= it->second) {
      delta_ticks += t - it->second;
    }
    if (p->io) {
      read_bytes += p->io->read_bytes;
      write_bytes += p->io->write_bytes;
    } else {
      io_complete = false;
    }
  }
  if (last_ns_ != 0 && now_ns > last_ns_) {
    double seconds = static_cast<double>(now_ns - last_ns_) / 1e9;
    out->Add("sys/proc/cpu_percent", {},
             100.0 * static_cast<double>(delta_ticks) / static_cast<double>(ticks_per_second_) /
                 seconds);
  }
  last_ns_ = now_ns;
  last_ticks_ = std::move(ticks);
  out->Add("sys/proc/rss_bytes", {}, rss);
  out->Add("sys/proc/threads", {}, threads);
  out->Add("sys/proc/open_files", {}, open_files);
  out->Add("sys/proc/count", {}, count);
  // The tree's I/O total drops when a child that did I/O exits; the
  // CounterRate's reset rule then counts the survivors' bytes from zero,
  // an under-estimate for one interval rather than a negative rate.
  if (io_complete) {
    if (auto r = io_rates_.Update("read", read_bytes, now_ns)) {
      out->Add("sys/proc/read_bytes_per_sec", {}, *r);
    }
    if (auto r = io_rates_.Update("write", write_bytes, now_ns)) {
      out->Add("sys/proc/write_bytes_per_sec", {}, *r);
    }
  }
  return Status::OK();
}

}  // namespace vigil::collect
