// Micro-benchmarks of DecodeLogBatch on realistic bodies: steps 0..N, Unix-ms
// times about 137 ms apart, and values printed in their shortest round-trip
// form (what Python's repr and the SDK send): a decaying loss with noise,
// accuracies, learning rates, gradient norms. Reports points/s and ns/point
// (the "s/point" counter) for one core.
//
//   build/h-ingest/ingest_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "ingest/batch_decoder.h"

namespace {

constexpr int64_t kStartMs = 1'732'800'000'000;

// The value of metric `m` at step `i`: a handful of shapes found in training.
double MetricValue(int m, int i, std::mt19937_64& rng) {
  std::normal_distribution<double> noise(0, 0.02);
  switch (m % 4) {
    case 0:
      return 2.3 * std::exp(-i / 300.0) + 0.1 + noise(rng);  // loss
    case 1:
      return 1 - 0.9 * std::exp(-i / 200.0) + noise(rng) / 4;  // accuracy
    case 2:
      return 3e-4 * std::min(1.0, i / 100.0);  // lr warmup
    default:
      return std::abs(1.5 + noise(rng) * 20);  // grad norm
  }
}

std::string SeriesBody(int series, int points, bool times) {
  std::mt19937_64 rng(42);
  std::string b = "{\"series\": [";
  for (int s = 0; s < series; ++s) {
    b += fmt::format(
        "{}{{\"metric\": \"train/metric_{}\", \"labels\": {{\"rank\": \"0\"}}, "
        "\"steps\": [",
        s ? ", " : "", s);
    for (int i = 0; i < points; ++i) b += fmt::format("{}{}", i ? ", " : "", i);
    if (times) {
      b += "], \"times\": [";
      for (int i = 0; i < points; ++i) b += fmt::format("{}{}", i ? ", " : "", kStartMs + i * 137);
    }
    b += "], \"values\": [";
    for (int i = 0; i < points; ++i) {
      b += fmt::format("{}{}", i ? ", " : "", MetricValue(s, i, rng));
    }
    b += "]}";
  }
  b += "]}";
  return b;
}

std::string RowsBody(int rows, int metrics, bool labels) {
  std::mt19937_64 rng(42);
  std::string b = "{\"rows\": [";
  for (int i = 0; i < rows; ++i) {
    b += fmt::format("{}{{\"step\": {}, \"time\": {}, \"values\": {{", i ? ", " : "", i,
                     kStartMs + i * 137);
    for (int m = 0; m < metrics; ++m) {
      b += fmt::format("{}\"train/metric_{}\": {}", m ? ", " : "", m, MetricValue(m, i, rng));
    }
    b += labels ? "}, \"labels\": {\"rank\": \"3\", \"node\": \"gpu-node-07\"}}" : "}}";
  }
  b += "]}";
  return b;
}

void RunDecode(benchmark::State& state, std::string body, size_t points) {
  // Padding room up front, as the HTTP layer provides it: no copy per call.
  body.reserve(body.size() + 64);
  const vigil::ingest::IngestLimits limits;
  for (auto _ : state) {
    vigil::Result<vigil::WriteBatch> r = vigil::ingest::DecodeLogBatch(&body, "run", limits, 0);
    if (!r.ok() || r->PointCount() != points) {
      state.SkipWithError(r.ok() ? "wrong point count" : r.status().message().c_str());
      break;
    }
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["points/s"] = benchmark::Counter(static_cast<double>(points),
                                                  benchmark::Counter::kIsIterationInvariantRate);
  state.counters["s/point"] = benchmark::Counter(
      static_cast<double>(points),
      benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
  state.counters["bytes/point"] = static_cast<double>(body.size()) / static_cast<double>(points);
}

void BM_DecodeSeries20x500(benchmark::State& state) {
  RunDecode(state, SeriesBody(20, 500, true), 20 * 500);
}
BENCHMARK(BM_DecodeSeries20x500);

void BM_DecodeSeries20x500NoTimes(benchmark::State& state) {
  RunDecode(state, SeriesBody(20, 500, false), 20 * 500);
}
BENCHMARK(BM_DecodeSeries20x500NoTimes);

void BM_DecodeRows500x20(benchmark::State& state) {
  RunDecode(state, RowsBody(500, 20, false), 500 * 20);
}
BENCHMARK(BM_DecodeRows500x20);

void BM_DecodeRows500x20Labels(benchmark::State& state) {
  RunDecode(state, RowsBody(500, 20, true), 500 * 20);
}
BENCHMARK(BM_DecodeRows500x20Labels);

}  // namespace

BENCHMARK_MAIN();
