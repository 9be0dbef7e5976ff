// Micro-benchmarks of the write-ahead log: append throughput (MB/s and
// records/s) with Flush only (bytes reach the OS: survives a process crash)
// and with Sync (fdatasync) per group of records (survives a power loss),
// plus the cost per point of encoding and decoding a batch record.
//
//   build/release/wal_bench --benchmark_filter=Append
//
// Files go to $TMPDIR (default /tmp); Sync figures depend on that device.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include <benchmark/benchmark.h>

#include "storage/record/wal_record.h"
#include "storage/wal/wal.h"

namespace vigil::storage {
namespace {

class BenchDir {
 public:
  BenchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vigil-wal-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~BenchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string RandomRecord(size_t n) {
  std::mt19937_64 rng(n);
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Args: record bytes, records per group; the group ends with Flush (sync=false)
// or Sync (sync=true).
void AppendGroups(benchmark::State& state, bool sync) {
  const auto record_bytes = static_cast<size_t>(state.range(0));
  const auto group = static_cast<int>(state.range(1));
  const std::string record = RandomRecord(record_bytes);
  BenchDir dir;
  WalOptions options;
  options.dir = dir.path();
  auto wal = Wal::Open(options);
  if (!wal.ok()) {
    state.SkipWithError(wal.status().ToString().c_str());
    return;
  }
  uint64_t segment = (*wal)->current_segment();
  for (auto _ : state) {
    for (int i = 0; i < group; ++i) {
      if (!(*wal)->Append(record).ok()) state.SkipWithError("append failed");
    }
    Status s = sync ? (*wal)->Sync() : (*wal)->Flush();
    if (!s.ok()) state.SkipWithError(s.ToString().c_str());
    // Keep the directory small: drop segments as they fill.
    if ((*wal)->current_segment() != segment) {
      segment = (*wal)->current_segment();
      (void)(*wal)->RemoveSegmentsBefore(segment);
    }
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * group *
                          static_cast<int64_t>(record_bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * group);
}

void BM_WalAppendFlush(benchmark::State& state) {
  AppendGroups(state, /*sync=*/false);
}
BENCHMARK(BM_WalAppendFlush)
    ->ArgNames({"bytes", "group"})
    ->Args({100, 1})
    ->Args({4096, 1})
    ->Args({4096, 64})
    ->Args({64 << 10, 16})
    ->Args({8 << 20, 1});

void BM_WalAppendSync(benchmark::State& state) {
  AppendGroups(state, /*sync=*/true);
}
BENCHMARK(BM_WalAppendSync)
    ->ArgNames({"bytes", "group"})
    ->Args({4096, 1})
    ->Args({4096, 64})
    ->Args({64 << 10, 16})
    ->Args({8 << 20, 1})
    ->UseRealTime();

// A batch as ingest produces it: `series` series of `points` points with
// training-like steps (+1), times (+~250 ms) and float32-rounded values.
WriteBatch MakeBatch(int series, int points) {
  std::mt19937_64 rng(42);
  WriteBatch batch;
  batch.run = "run";
  for (int s = 0; s < series; ++s) {
    SeriesColumns c;
    c.key.metric = "m" + std::to_string(s);
    int64_t time = 1732800000000;
    for (int i = 0; i < points; ++i) {
      time += 240 + static_cast<int64_t>(rng() % 20);
      c.steps.push_back(i);
      c.times.push_back(time);
      c.values.push_back(static_cast<float>(1.0 / (1 + i) + (rng() % 1000) * 1e-6));
    }
    batch.series.push_back(std::move(c));
  }
  return batch;
}

void BM_EncodeBatchRecord(benchmark::State& state) {
  const WriteBatch batch =
      MakeBatch(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::vector<uint64_t> ids(batch.series.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = 1000 + i;
  std::string out;
  for (auto _ : state) {
    out.clear();
    EncodeBatchRecord({}, batch, ids, &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.PointCount()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * out.size()));
  state.counters["bytes_per_point"] =
      static_cast<double>(out.size()) / static_cast<double>(batch.PointCount());
}
BENCHMARK(BM_EncodeBatchRecord)
    ->ArgNames({"series", "points"})
    ->Args({20, 1})
    ->Args({20, 1000})
    ->Args({10, 100000});

void BM_DecodeWalRecord(benchmark::State& state) {
  const WriteBatch batch =
      MakeBatch(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::vector<uint64_t> ids(batch.series.size(), 1);
  std::string bytes;
  EncodeBatchRecord({}, batch, ids, &bytes);
  for (auto _ : state) {
    auto r = DecodeWalRecord(bytes);
    if (!r.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * batch.PointCount()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes.size()));
}
BENCHMARK(BM_DecodeWalRecord)->ArgNames({"series", "points"})->Args({20, 1000})->Args({10, 100000});

}  // namespace
}  // namespace vigil::storage

BENCHMARK_MAIN();
