// Synthetic training curves with labelled faults, for bench/detectors.
//
// Each Curve is one series as a training run would log it: the metric name
// (which picks the default detectors through DetectorsForMetric), the
// points in arrival order (steps go back at a resumption), and at most one
// labelled fault: its class, the index of the first faulty point, and the
// index up to which a detection counts as timely (the match window).
//
// The models (documented in docs/detectors.md, "Benchmark"):
//   loss        L(t) = (L_inf + A (1 + τ/t0)^-p) (1 + c·lr~(t)) · exp(σ(t) ε)
//               τ = Σ lr (linear warm-up, then step / cosine / constant
//               schedule), lr~ an exponentially smoothed lr (the loss drop
//               at an lr decay), σ(t) = σ0 exp(0.5 sin(2πt/P + φ)) with
//               σ0 ∈ [0.3%, 1%], ε Student-t (ν = 4) scaled to unit
//               variance: heavy-tailed. Resumptions rewind 100–1000 steps
//               and add a decaying bump of up to 3%.
//   grad_norm   g0 (1 + 3 e^(-t/300)) (0.7 + 0.3 lr) exp(σ ε), σ ∈ [0.03, 0.10]
//   step time   b exp(σ ε) with checkpoint steps ×3–20 every 500–2000 steps;
//               samples/s is its inverse.
//   gpu util    92 ± noise %, single-sample dips, evaluation pauses of
//               10–90 s at 0–15 % (1 sample per second).
//   memory      start-up ramp, flat with 0.2% noise, evaluation bumps of
//               2–10% for 20–100 samples (1 sample per 5 s).
//   others      throttle flag with isolated one-sample blips, ECC counter,
//               XID events, a temperature with a threshold, a 1 Hz series
//               with gaps (absence and stall).
// Faults: NaN/Inf runs; spikes ×1.5–6 decaying over 1–10 steps; divergence
// rising 0.3–1% per step; plateaus (the curve stops improving); gradient
// explosions ×1.5–4 per step; step-time level shifts of +20–100%; GPU idle
// for 5–15 min; memory leaks of 8–40 GiB/h; throttling for ≥ 20 s; ECC
// increments; XID events; temperature over its bound; silences of 200–1000 s.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "analysis/detectors/detector.h"
#include "core/types.h"

namespace vigil::bench {

struct Curve {
  std::string metric;
  std::vector<Point> points;
  // Extra detector parameters a user would give for this series (e.g. the
  // memory limit, the temperature bound), by detector name.
  std::vector<analysis::DetectorSpec> extra;
  bool has_fault = false;
  analysis::FindingKind fault = analysis::FindingKind::kNonFinite;
  size_t fault_index = 0;    // first faulty point
  size_t window_end = 0;     // a detection at index <= window_end is timely
  size_t fault_end = 0;      // the fault lasts through this index (the end for persistent ones)
  bool clean_for_fa = true;  // counts towards "clean steps"
};

// The kinds of series the generator makes.
enum class SeriesKind {
  kLoss,
  kGradNorm,
  kStepTime,
  kSamplesPerSec,
  kGpuUtil,
  kMemory,
  kThrottle,
  kEcc,
  kXid,
  kTemperature,
  kHeartbeat,
};

// A curve of `kind` with `n` points; with `fault`, one fault of that class
// (which must suit the kind) is injected at a random index in [0.3n, 0.8n].
Curve Generate(SeriesKind kind, size_t n, std::optional<analysis::FindingKind> fault,
               std::mt19937_64& rng);

}  // namespace vigil::bench
