// The C++ SDK's cost on the caller's thread (bar: <= 100 ns per point),
// from 1 and 8 threads. To be moved to bench/micro/sdk_bench.cc once
// bench/CMakeLists.txt links vigil_client.
//
// ns_per_point is the calling thread's CPU time per logged point
// (CLOCK_THREAD_CPUTIME_ID), averaged over threads: what log() costs the
// training loop, independent of how many cores the machine lends to the
// background threads. The rings are drained by the run's real drain thread;
// in Disabled mode it discards what it drains, in Offline mode it encodes
// and writes every point (then the buffers may fill and log() may wait,
// which shows up as CPU time only while it spins).
#include <time.h>

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include <vigil/vigil.h>

namespace {

int64_t ThreadCpuNanos() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

vigil::Run& SharedRun(vigil::Mode mode) {
  static std::string dir = [] {
    std::string d = std::filesystem::temp_directory_path() / "vigil-sdk-bench-XXXXXX";
    if (!::mkdtemp(d.data())) std::abort();
    return d;
  }();
  auto make = [&](vigil::Mode m) {
    vigil::Options o;
    o.project = "bench";
    o.mode = m;
    o.offline_dir = dir;
    o.buffer_capacity = 1 << 16;
    o.max_block = std::chrono::milliseconds(10'000);
    o.quiet = true;
    return vigil::init(o);
  };
  static vigil::Run disabled = make(vigil::Mode::kDisabled);
  static vigil::Run offline = make(vigil::Mode::kOffline);
  return mode == vigil::Mode::kDisabled ? disabled : offline;
}

template <class F>
void Measure(benchmark::State& state, F&& log_one, int points_per_call = 1) {
  int64_t cpu0 = ThreadCpuNanos();
  int64_t step = 0;
  for (auto _ : state) log_one(step++);
  int64_t cpu = ThreadCpuNanos() - cpu0;
  double points = static_cast<double>(state.iterations()) * points_per_call;
  state.counters["ns_per_point"] =
      benchmark::Counter(cpu / points, benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(static_cast<int64_t>(points));
}

void BM_LogByName(benchmark::State& state) {
  vigil::Run& run = SharedRun(vigil::Mode::kDisabled);
  Measure(state, [&](int64_t step) { run.log("train/loss", 0.5, step); });
}
BENCHMARK(BM_LogByName)->Threads(1)->Threads(8);

void BM_LogLabelled(benchmark::State& state) {
  vigil::Run& run = SharedRun(vigil::Mode::kDisabled);
  std::string rank = std::to_string(state.thread_index());
  Measure(state, [&](int64_t step) { run.log("train/loss", 0.5, step, {{"rank", rank}}); });
}
BENCHMARK(BM_LogLabelled)->Threads(1)->Threads(8);

void BM_LogSeriesHandle(benchmark::State& state) {
  vigil::Run& run = SharedRun(vigil::Mode::kDisabled);
  vigil::Series s = run.series("train/loss", {{"rank", std::to_string(state.thread_index())}});
  Measure(state, [&](int64_t step) { s.log(0.5, step); });
}
BENCHMARK(BM_LogSeriesHandle)->Threads(1)->Threads(8);

void BM_LogFourMetrics(benchmark::State& state) {
  vigil::Run& run = SharedRun(vigil::Mode::kDisabled);
  Measure(
      state,
      [&](int64_t step) {
        run.log({{"train/loss", 0.5}, {"train/acc", 0.9}, {"train/lr", 1e-3}, {"grad/norm", 2.0}},
                step);
      },
      4);
}
BENCHMARK(BM_LogFourMetrics)->Threads(1)->Threads(8);

// Every point encoded and written to the offline directory: the sustained
// rate of the whole pipeline (items_per_second), not just the caller's cost.
void BM_LogOfflineEndToEnd(benchmark::State& state) {
  vigil::Run& run = SharedRun(vigil::Mode::kOffline);
  Measure(state, [&](int64_t step) { run.log("train/loss", 0.5, step); });
}
BENCHMARK(BM_LogOfflineEndToEnd)->Threads(1)->Threads(8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
