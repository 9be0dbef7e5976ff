#include "analysis/diagnosis/step_breakdown.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace vigil::analysis {
namespace {

constexpr std::string_view kKnownPhases[] = {"data", "forward", "backward", "optimizer", "comm"};

// step -> summed value over the finite points with step in [from, to].
std::map<int64_t, double> PerStep(const SeriesData& s, int64_t from, int64_t to) {
  std::map<int64_t, double> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.steps[i] >= from && s.steps[i] <= to && std::isfinite(s.values[i])) {
      out[s.steps[i]] += s.values[i];
    }
  }
  return out;
}

std::optional<double> MeanOf(const std::map<int64_t, double>& m) {
  if (m.empty()) return std::nullopt;
  double sum = 0;
  for (const auto& [step, v] : m) sum += v;
  return sum / static_cast<double>(m.size());
}

// step -> the time of its last point, for the steps in [from, to].
std::map<int64_t, int64_t> StepTimes(const SeriesData& s, int64_t from, int64_t to) {
  std::map<int64_t, int64_t> out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s.steps[i] >= from && s.steps[i] <= to) {
      auto [it, inserted] = out.emplace(s.steps[i], s.times[i]);
      if (!inserted) it->second = std::max(it->second, s.times[i]);
    }
  }
  return out;
}

std::optional<double> WallPace(const std::map<int64_t, int64_t>& t) {
  if (t.size() < 2) return std::nullopt;
  int64_t ds = t.rbegin()->first - t.begin()->first;
  int64_t dt = t.rbegin()->second - t.begin()->second;
  if (ds <= 0 || dt <= 0) return std::nullopt;
  return static_cast<double>(dt) / 1000.0 / static_cast<double>(ds);
}

struct Window {
  std::vector<std::map<int64_t, double>> phase_steps;  // per phase
  std::map<int64_t, double> step_series;               // time/step, if any
  std::map<int64_t, int64_t> times;                    // wall clock per step
  std::set<int64_t> steps;
};

}  // namespace

double StepBreakdown::Share(std::string_view phase) const {
  for (const auto& p : phases) {
    if (p.phase == phase) return p.share;
  }
  return 0;
}

double StepBreakdown::Seconds(std::string_view phase) const {
  for (const auto& p : phases) {
    if (p.phase == phase) return p.seconds;
  }
  return 0;
}

std::pair<int64_t, int64_t> RecentWindow(int64_t first, int64_t last, const BreakdownOptions& o) {
  int64_t span = last - first + 1;
  int64_t len = static_cast<int64_t>(std::ceil(o.window_fraction * static_cast<double>(span)));
  len = std::clamp(len, o.min_window_steps, o.max_window_steps);
  return {std::max(first, last - len + 1), last};
}

std::optional<StepBreakdown> ComputeStepBreakdown(const RunSeries& run, const BreakdownOptions& o) {
  // The phase series, one per metric (the label-less one when several):
  // known phases first, in their fixed order, then the others by name.
  std::vector<std::string> names;
  for (std::string_view known : kKnownPhases) {
    if (run.Find("time/" + std::string(known)) != nullptr) names.emplace_back(known);
  }
  std::set<std::string> others;
  for (const SeriesData& s : run.all()) {
    if (s.metric.rfind("time/", 0) != 0 || s.metric == "time/step") continue;
    std::string phase = s.metric.substr(5);
    if (std::find(names.begin(), names.end(), phase) == names.end()) others.insert(phase);
  }
  names.insert(names.end(), others.begin(), others.end());
  if (names.empty()) return std::nullopt;
  std::vector<const SeriesData*> series;
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (const std::string& n : names) {
    const SeriesData* s = run.Find("time/" + n);
    series.push_back(s);
    if (s->size() == 0) continue;
    first = std::min(first, s->steps.front());
    last = std::max(last, s->steps.back());
  }
  if (first > last) return std::nullopt;
  const SeriesData* step_series = run.Find("time/step");
  // The wall clock of steps: the loss when logged, else the densest phase.
  const SeriesData* clock = run.Find("train/loss");
  if (clock == nullptr || clock->size() < 2) {
    clock = *std::max_element(series.begin(), series.end(),
                              [](auto* x, auto* y) { return x->size() < y->size(); });
  }

  auto [from, to] = RecentWindow(first, last, o);
  const int64_t len = to - from + 1;
  auto collect = [&](int64_t lo, int64_t hi) {
    Window w;
    for (const SeriesData* s : series) {
      w.phase_steps.push_back(PerStep(*s, lo, hi));
      for (const auto& [step, v] : w.phase_steps.back()) w.steps.insert(step);
    }
    if (step_series) w.step_series = PerStep(*step_series, lo, hi);
    w.times = StepTimes(*clock, lo, hi);
    return w;
  };
  // Mean seconds per phase and the step time of a window; false if empty.
  auto summarise = [&](const Window& w, std::vector<double>* secs, double* step_s,
                       std::string* source) {
    if (w.steps.empty()) return false;
    double sum = 0;
    for (const auto& m : w.phase_steps) {
      secs->push_back(MeanOf(m).value_or(0));
      sum += secs->back();
    }
    std::optional<double> step;
    if (auto m = MeanOf(w.step_series)) {
      step = *m;
      *source = "time/step";
    } else if (auto pace = WallPace(w.times)) {
      step = *pace;
      *source = "wall_clock";
    } else {
      *source = "phases";
    }
    *step_s = std::max(step.value_or(sum), sum);
    return *step_s > 0;
  };

  StepBreakdown b;
  Window recent = collect(from, to);
  std::vector<double> secs;
  if (!summarise(recent, &secs, &b.step_seconds, &b.step_source)) return std::nullopt;
  b.window_from = from;
  b.window_to = to;
  b.steps = recent.steps.size();
  std::vector<double> earlier_secs;
  double earlier_step = 0;
  std::string earlier_source;
  bool have_earlier = from > first && summarise(collect(from - len, from - 1), &earlier_secs,
                                                &earlier_step, &earlier_source);
  if (have_earlier) b.earlier_step_seconds = earlier_step;
  double accounted = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    PhaseShare p{names[i], secs[i], secs[i] / b.step_seconds, std::nullopt};
    if (have_earlier) p.earlier_share = earlier_secs[i] / earlier_step;
    accounted += secs[i];
    b.phases.push_back(std::move(p));
  }
  PhaseShare un{"unaccounted", std::max(0.0, b.step_seconds - accounted), 0, std::nullopt};
  un.share = un.seconds / b.step_seconds;
  if (have_earlier) {
    double acc = 0;
    for (double v : earlier_secs) acc += v;
    un.earlier_share = std::max(0.0, earlier_step - acc) / earlier_step;
  }
  b.phases.push_back(std::move(un));

  // The last steps one by one.
  std::vector<int64_t> steps(recent.steps.begin(), recent.steps.end());
  if (steps.size() > o.per_step_limit) steps.erase(steps.begin(), steps.end() - o.per_step_limit);
  b.per_step_steps = steps;
  b.per_step_seconds.assign(b.phases.size(), std::vector<double>(steps.size(), 0));
  for (size_t k = 0; k < steps.size(); ++k) {
    double sum = 0;
    for (size_t i = 0; i < names.size(); ++i) {
      auto it = recent.phase_steps[i].find(steps[k]);
      double v = it == recent.phase_steps[i].end() ? 0 : it->second;
      b.per_step_seconds[i][k] = v;
      sum += v;
    }
    double step = sum;
    if (auto it = recent.step_series.find(steps[k]); it != recent.step_series.end()) {
      step = it->second;
    } else if (b.step_source == "wall_clock" && k > 0) {
      auto t1 = recent.times.find(steps[k]), t0 = recent.times.find(steps[k - 1]);
      if (t1 != recent.times.end() && t0 != recent.times.end() && t1->second > t0->second) {
        step = static_cast<double>(t1->second - t0->second) / 1000.0 /
               static_cast<double>(steps[k] - steps[k - 1]);
      }
    }
    b.per_step_seconds.back()[k] = std::max(0.0, step - sum);
  }
  return b;
}

}  // namespace vigil::analysis
