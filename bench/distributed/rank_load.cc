// rank_load: N ranks of one distributed job in one process, for the scale
// benchmark (bench/distributed/run.py, docs/distributed.md "Scale").
//
//   rank_load --server URL --id RUN [--project P] [--ranks 1024] [--metrics 20]
//             [--rate 2] [--duration 60] [--ranks-per-node 8]
//             [--heartbeat-ms 5000] [--flush-ms 1000] [--ack-sample 128]
//
// Each rank is a real vigil::Run of the C++ SDK with its own connection (its
// own delivery thread and HttpClient), rank r of world size N on node
// "node-<r / ranks-per-node>", all joined to run RUN. Every rank logs
// `metrics` series per step at `rate` steps per second for `duration`
// seconds, on its own thread, the steps of all ranks aligned as in a
// synchronous job; heartbeats go out every heartbeat-ms (the SDK's default
// 5 s). The first five series are the phases time/data, time/forward,
// time/backward, time/optimizer and time/comm (about one step period in
// total, the same on every rank within +-2%: a clean job, no straggler),
// then train/loss and other training metrics.
//
// Client-side acknowledgement latency: for up to ack-sample ranks, the time
// from logging a step's last point to the moment Run::stats().delivered
// covers it, polled every 5 ms. It includes the SDK's batching (a batch
// leaves flush-ms after its first point), so it is at most about flush-ms
// plus the time the server takes to acknowledge.
//
// Prints {"event":"logging"} when the ranks start logging (all joined),
// {"event":"logged"} when the last step is logged, and one JSON line at the
// end: configuration, points logged, delivered, dropped, steps logged more
// than a period late, the ack latency percentiles, the time all ranks took
// to join, and this process's CPU while logging.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <latch>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <vigil/vigil.h>

namespace {

using Clock = std::chrono::steady_clock;

struct Flags {
  std::string server = "http://127.0.0.1:7070";
  std::string id = "scale";
  std::string project = "scale";
  int ranks = 1024;
  int metrics = 20;
  double rate = 2;
  double duration = 60;
  int ranks_per_node = 8;
  int heartbeat_ms = 5000;
  int flush_ms = 1000;
  int ack_sample = 128;
};

// The series every rank logs, in order; the first five are phases (their
// nominal share of a step period in kPhaseShare).
const char* const kMetricNames[] = {
    "time/data",         "time/forward",       "time/backward",    "time/optimizer",
    "time/comm",         "train/loss",         "train/accuracy",   "train/lr",
    "train/grad_norm",   "train/tokens_per_s", "train/ppl",        "param/norm",
    "mem/allocated_gb",  "mem/reserved_gb",    "gpu/utilization",  "gpu/power_w",
    "gpu/temperature_c", "data/queue_depth",   "optim/loss_scale", "io/read_mb_s",
};
constexpr int kPhases = 5;
constexpr double kPhaseShare[kPhases] = {0.04, 0.24, 0.44, 0.06, 0.20};

std::string MetricName(int i) {
  constexpr int known = sizeof(kMetricNames) / sizeof(kMetricNames[0]);
  return i < known ? kMetricNames[i] : "extra/m" + std::to_string(i);
}

double Value(int metric, int64_t step, double period, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> noise(-1, 1);
  if (metric < kPhases) return kPhaseShare[metric] * period * (1 + 0.02 * noise(rng));
  double decay = std::exp(-static_cast<double>(step) / 2000.0);
  switch (metric) {
    case 5:
      return 2.0 + 3.0 * decay * (1 + 0.01 * noise(rng));  // train/loss
    case 6:
      return 0.9 - 0.5 * decay;
    case 7:
      return 3e-4 * std::min(1.0, static_cast<double>(step + 1) / 100.0);
    default:
      return 1.0 + metric + 0.05 * noise(rng);
  }
}

// Points logged by a rank and when: the ack-latency probe.
struct AckProbe {
  std::mutex mu;
  std::deque<std::pair<uint64_t, Clock::time_point>> pending;  // GUARDED_BY(mu)
};

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

bool ParseFlags(int argc, char** argv, Flags* f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--server") {
      f->server = v;
    } else if (k == "--id") {
      f->id = v;
    } else if (k == "--project") {
      f->project = v;
    } else if (k == "--ranks") {
      f->ranks = std::atoi(v.c_str());
    } else if (k == "--metrics") {
      f->metrics = std::atoi(v.c_str());
    } else if (k == "--rate") {
      f->rate = std::atof(v.c_str());
    } else if (k == "--duration") {
      f->duration = std::atof(v.c_str());
    } else if (k == "--ranks-per-node") {
      f->ranks_per_node = std::atoi(v.c_str());
    } else if (k == "--heartbeat-ms") {
      f->heartbeat_ms = std::atoi(v.c_str());
    } else if (k == "--flush-ms") {
      f->flush_ms = std::atoi(v.c_str());
    } else if (k == "--ack-sample") {
      f->ack_sample = std::atoi(v.c_str());
    } else {
      std::fprintf(stderr, "rank_load: unknown flag %s\n", k.c_str());
      return false;
    }
  }
  if (f->ranks < 1 || f->metrics < 1 || f->rate <= 0 || f->duration <= 0 || f->ranks_per_node < 1) {
    std::fprintf(stderr, "rank_load: ranks, metrics, rate, duration must be positive\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!ParseFlags(argc, argv, &f)) return 2;
  const int n = f.ranks;
  const double period = 1.0 / f.rate;
  const int64_t steps = static_cast<int64_t>(std::llround(f.duration * f.rate));
  const int sample_every = std::max(1, n / std::max(1, f.ack_sample));

  std::vector<vigil::Run> runs(n);
  std::vector<AckProbe> probes(n);
  std::atomic<int> failed_inits{0};
  std::atomic<int64_t> late_steps{0};  // steps logged more than a period late
  std::latch ready(n + 1);
  std::latch go(1);
  std::atomic<bool> logging_done{false};
  Clock::time_point start;

  const auto t_init = Clock::now();
  std::vector<std::thread> threads;
  threads.reserve(n);
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      vigil::Options o;
      o.project = f.project;
      o.id = f.id;
      o.server = f.server;
      o.mode = vigil::Mode::kOnline;
      o.rank = r;
      o.world_size = n;
      o.local_rank = r % f.ranks_per_node;
      o.node = "node-" + std::to_string(r / f.ranks_per_node);
      o.config = {{"ranks", n}, {"metrics", f.metrics}, {"rate", f.rate}};
      // 20 metrics x 2 steps/s x 1 s of batching is 40 points: a small ring
      // keeps 1,024 ranks' memory small.
      o.buffer_capacity = 4096;
      o.flush_interval = std::chrono::milliseconds(f.flush_ms);
      o.heartbeat_interval = std::chrono::milliseconds(f.heartbeat_ms);
      o.max_block = std::chrono::milliseconds(10'000);
      o.spool_dir = "/tmp/vigil-rank-load-spool";
      o.quiet = true;
      runs[r] = vigil::init(o);
      if (!runs[r].ok()) failed_inits.fetch_add(1);
      vigil::Run& run = runs[r];
      std::vector<vigil::Series> series;
      for (int m = 0; m < f.metrics; ++m) series.push_back(run.series(MetricName(m)));
      std::mt19937_64 rng(static_cast<uint64_t>(r) * 7919 + 1);
      ready.count_down();
      go.wait();
      const bool probe = r % sample_every == 0;
      uint64_t logged = 0;
      for (int64_t s = 0; s < steps; ++s) {
        auto due = start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(static_cast<double>(s) * period));
        std::this_thread::sleep_until(due);
        if (Clock::now() - due > std::chrono::duration<double>(period)) late_steps.fetch_add(1);
        for (int m = 0; m < f.metrics; ++m) series[m].log(Value(m, s, period, rng), s);
        logged += static_cast<uint64_t>(f.metrics);
        if (probe) {
          std::lock_guard lock(probes[r].mu);
          probes[r].pending.emplace_back(logged, Clock::now());
        }
      }
    });
  }
  ready.arrive_and_wait();
  const double init_s = std::chrono::duration<double>(Clock::now() - t_init).count();
  const double cpu0 = CpuSeconds();
  start = Clock::now() + std::chrono::milliseconds(100);
  go.count_down();
  // Markers for run.py, which measures the server over the logging phase.
  std::printf("{\"event\":\"logging\",\"init_s\":%.3f}\n", init_s);
  std::fflush(stdout);

  // The ack-latency probe: every 5 ms, the sampled ranks' delivered counts.
  std::vector<double> ack_ms;
  std::thread prober([&] {
    while (true) {
      bool done = logging_done.load();
      for (int r = 0; r < n; r += sample_every) {
        uint64_t delivered = runs[r].stats().delivered;
        auto now = Clock::now();
        std::lock_guard lock(probes[r].mu);
        auto& q = probes[r].pending;
        while (!q.empty() && q.front().first <= delivered) {
          ack_ms.push_back(
              std::chrono::duration<double, std::milli>(now - q.front().second).count());
          q.pop_front();
        }
      }
      if (done) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });

  for (auto& t : threads) t.join();
  const double log_s = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("{\"event\":\"logged\"}\n");
  std::fflush(stdout);
  // Let the last batches go out before finish() (so the probe sees them),
  // then stop the probe.
  std::this_thread::sleep_for(std::chrono::milliseconds(f.flush_ms + 500));
  logging_done.store(true);
  prober.join();
  const double cpu_logging = CpuSeconds() - cpu0;

  // Finish: ranks > 0 first (each only records itself), rank 0 last (it
  // finishes the run).
  vigil::Stats total;
  bool all_ok = true;
  std::vector<std::thread> finishers;
  for (int r = 1; r < n; ++r) {
    finishers.emplace_back([&runs, r] { runs[r].finish(); });
  }
  for (auto& t : finishers) t.join();
  runs[0].finish();
  for (int r = 0; r < n; ++r) {
    vigil::Stats s = runs[r].stats();
    total.logged += s.logged;
    total.delivered += s.delivered;
    total.duplicates += s.duplicates;
    total.dropped += s.dropped;
    total.rejected += s.rejected;
    total.spilled += s.spilled;
    total.pending += s.pending;
    all_ok = all_ok && s.dropped == 0 && s.rejected == 0 && s.pending == 0;
  }
  std::printf(
      "{\"ranks\":%d,\"metrics\":%d,\"rate\":%g,\"duration_s\":%g,\"steps\":%lld,"
      "\"failed_inits\":%d,\"init_s\":%.3f,\"log_s\":%.3f,\"late_steps\":%lld,"
      "\"logged\":%llu,\"delivered\":%llu,\"duplicates\":%llu,\"dropped\":%llu,"
      "\"rejected\":%llu,\"spilled\":%llu,\"pending\":%llu,"
      "\"ack_samples\":%zu,\"ack_p50_ms\":%.1f,\"ack_p99_ms\":%.1f,\"ack_max_ms\":%.1f,"
      "\"driver_cpu_s\":%.2f}\n",
      n, f.metrics, f.rate, f.duration, static_cast<long long>(steps), failed_inits.load(), init_s,
      log_s, static_cast<long long>(late_steps.load()),
      static_cast<unsigned long long>(total.logged),
      static_cast<unsigned long long>(total.delivered),
      static_cast<unsigned long long>(total.duplicates),
      static_cast<unsigned long long>(total.dropped),
      static_cast<unsigned long long>(total.rejected),
      static_cast<unsigned long long>(total.spilled),
      static_cast<unsigned long long>(total.pending), ack_ms.size(), Percentile(ack_ms, 0.5),
      Percentile(ack_ms, 0.99), Percentile(ack_ms, 1.0), cpu_logging);
  return all_ok && failed_inits.load() == 0 ? 0 : 1;
}
