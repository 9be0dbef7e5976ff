// Micro-benchmark of the chunk codec (src/codec/chunk_codec.h): encode and
// decode cost per point and compressed size per point for typical training
// series, per value encoding. Each series is 64 chunks of 512 points;
// counters: ns/pt (CPU time per point), B/pt (chunk bytes per point) and
// steps, times, values (each column's stream bytes per point).
//
//   build/<dir>/bench/codec_bench --benchmark_repetitions=10
//       --benchmark_report_aggregates_only=true [--benchmark_filter=Decode]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "codec/chunk_codec.h"
#include "codec/varint.h"

namespace vigil::codec {
namespace {

constexpr size_t kChunkPoints = 512;
constexpr size_t kChunks = 64;
constexpr size_t kPoints = kChunkPoints * kChunks;

struct Series {
  std::string name;
  std::vector<int64_t> steps, times;
  std::vector<double> values;
};

// Steps 1000, 1001, ...; times Unix ms every 250 ms +- 4 ms of jitter.
Series Base(const std::string& name) {
  Series s;
  s.name = name;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<int> jitter(-4, 4);
  int64_t t = 1'700'000'000'000;
  for (size_t i = 0; i < kPoints; ++i) {
    s.steps.push_back(1000 + static_cast<int64_t>(i));
    t += 250 + jitter(rng);
    s.times.push_back(t);
  }
  return s;
}

std::vector<Series> MakeSeries() {
  std::vector<Series> all;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 1);
  // A loss curve from 2.8 down to 0.3 with 2 % batch-to-batch noise.
  auto loss = [&](size_t i) {
    return (2.5 * std::exp(-double(i) / 8000) + 0.3) * (1 + 0.02 * noise(rng));
  };
  {
    Series s = Base("loss_f64");
    for (size_t i = 0; i < kPoints; ++i) s.values.push_back(loss(i));
    all.push_back(std::move(s));
  }
  {
    Series s = Base("loss_f32");
    for (size_t i = 0; i < kPoints; ++i) s.values.push_back(static_cast<float>(loss(i)));
    all.push_back(std::move(s));
  }
  {
    Series s = Base("loss_4dp");  // round(loss, 4) in Python
    for (size_t i = 0; i < kPoints; ++i) s.values.push_back(std::round(loss(i) * 1e4) / 1e4);
    all.push_back(std::move(s));
  }
  {
    Series s = Base("accuracy_4dp");
    for (size_t i = 0; i < kPoints; ++i) {
      double a = 0.55 + 0.4 * (1 - std::exp(-double(i) / 3000)) + 0.01 * noise(rng);
      s.values.push_back(std::round(a * 1e4) / 1e4);
    }
    all.push_back(std::move(s));
  }
  {
    Series s = Base("gpu_util_int");
    std::uniform_int_distribution<int> dip(0, 49);
    for (size_t i = 0; i < kPoints; ++i) {
      double u = std::round(93 + 4 * noise(rng));
      if (dip(rng) == 0) u = std::round(20 + 10 * std::fabs(noise(rng)));  // data-loader stall
      s.values.push_back(std::min(100.0, std::max(0.0, u)));
    }
    all.push_back(std::move(s));
  }
  {
    Series s = Base("lr_const");
    for (size_t i = 0; i < kPoints; ++i) s.values.push_back(0.001);
    all.push_back(std::move(s));
  }
  {
    Series s = Base("lr_cosine_f64");
    for (size_t i = 0; i < kPoints; ++i) {
      s.values.push_back(0.5 * 3e-4 * (1 + std::cos(M_PI * double(i) / double(kPoints))));
    }
    all.push_back(std::move(s));
  }
  {
    Series s = Base("random_bits");
    for (size_t i = 0; i < kPoints; ++i) {
      s.values.push_back(std::bit_cast<double>(rng()));
      s.steps[i] = static_cast<int64_t>(rng());
      s.times[i] = static_cast<int64_t>(rng());
    }
    all.push_back(std::move(s));
  }
  return all;
}

// Encodes a series into chunks; `encoding` < 0 picks automatically.
bool EncodeAll(const Series& s, int encoding, std::vector<std::string>* chunks) {
  chunks->assign(kChunks, "");
  for (size_t c = 0; c < kChunks; ++c) {
    std::span<const int64_t> st(s.steps.data() + c * kChunkPoints, kChunkPoints);
    std::span<const int64_t> tm(s.times.data() + c * kChunkPoints, kChunkPoints);
    std::span<const double> vs(s.values.data() + c * kChunkPoints, kChunkPoints);
    if (encoding < 0) {
      EncodeChunk(st, tm, vs, &(*chunks)[c]);
    } else if (!EncodeChunkWith(static_cast<ValueEncoding>(encoding), st, tm, vs, &(*chunks)[c])
                    .ok()) {
      return false;
    }
  }
  return true;
}

// Counters: B/pt for the whole chunk and per column (from the header's
// stream lengths; the header's own bytes count only in the total).
void SetCounters(benchmark::State& state, const std::vector<std::string>& chunks) {
  size_t bytes = 0, steps = 0, times = 0, values = 0;
  for (const auto& c : chunks) {
    bytes += c.size();
    std::string_view in(c);
    in.remove_prefix(1);
    uint64_t count = 0, steps_len = 0, times_len = 0;
    if (!GetVarint64(&in, &count) || !GetVarint64(&in, &steps_len) ||
        !GetVarint64(&in, &times_len)) {
      state.SkipWithError("bad chunk header");
      return;
    }
    steps += steps_len;
    times += times_len;
    values += in.size() - steps_len - times_len;
  }
  state.counters["B/pt"] = double(bytes) / double(kPoints);
  state.counters["steps"] = double(steps) / double(kPoints);
  state.counters["times"] = double(times) / double(kPoints);
  state.counters["values"] = double(values) / double(kPoints);
  state.counters["ns/pt"] =
      benchmark::Counter(double(kPoints) * double(state.iterations()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_Encode(benchmark::State& state, const Series* s, int encoding) {
  std::vector<std::string> chunks;
  for (auto _ : state) {
    EncodeAll(*s, encoding, &chunks);
    benchmark::DoNotOptimize(chunks.data());
  }
  SetCounters(state, chunks);
}

enum Columns { kAll, kSteps, kTimes, kValues };

void BM_Decode(benchmark::State& state, const Series* s, int encoding, Columns cols) {
  std::vector<std::string> chunks;
  EncodeAll(*s, encoding, &chunks);
  std::vector<int64_t> steps, times;
  std::vector<double> values;
  steps.reserve(kChunkPoints);
  times.reserve(kChunkPoints);
  values.reserve(kChunkPoints);
  for (auto _ : state) {
    for (const auto& c : chunks) {
      steps.clear();
      times.clear();
      values.clear();
      Status st = DecodeChunk(c, cols == kAll || cols == kSteps ? &steps : nullptr,
                              cols == kAll || cols == kTimes ? &times : nullptr,
                              cols == kAll || cols == kValues ? &values : nullptr);
      if (!st.ok()) state.SkipWithError(st.ToString().c_str());
      benchmark::DoNotOptimize(values.data());
      benchmark::DoNotOptimize(times.data());
      benchmark::DoNotOptimize(steps.data());
    }
  }
  SetCounters(state, chunks);
}

// The machine is shared: with --benchmark_repetitions=N the "_min" rows
// (least time over the repetitions) are the least disturbed estimate.
double Min(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

void RegisterAll() {
  static const std::vector<Series> all = MakeSeries();
  const char* names[] = {"xor64", "xor32", "decimal"};
  for (const Series& s : all) {
    std::vector<std::string> probe;
    auto add = [](benchmark::internal::Benchmark* b) { b->ComputeStatistics("min", Min); };
    add(benchmark::RegisterBenchmark(("Encode/" + s.name + "/auto").c_str(), BM_Encode, &s, -1));
    add(benchmark::RegisterBenchmark(("Decode/" + s.name + "/auto").c_str(), BM_Decode, &s, -1,
                                     kAll));
    for (int e = 0; e < 3; ++e) {
      if (!EncodeAll(s, e, &probe)) continue;
      add(benchmark::RegisterBenchmark(("Encode/" + s.name + "/" + names[e]).c_str(), BM_Encode, &s,
                                       e));
      add(benchmark::RegisterBenchmark(("Decode/" + s.name + "/" + names[e]).c_str(), BM_Decode, &s,
                                       e, kAll));
    }
    add(benchmark::RegisterBenchmark(("DecodeSteps/" + s.name).c_str(), BM_Decode, &s, -1, kSteps));
    add(benchmark::RegisterBenchmark(("DecodeTimes/" + s.name).c_str(), BM_Decode, &s, -1, kTimes));
    add(benchmark::RegisterBenchmark(("DecodeValues/" + s.name).c_str(), BM_Decode, &s, -1,
                                     kValues));
  }
}

}  // namespace
}  // namespace vigil::codec

int main(int argc, char** argv) {
  vigil::codec::RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
