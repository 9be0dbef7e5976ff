#include "analysis/diagnosis/diagnosis_json.h"

#include <cmath>

namespace vigil::analysis {
namespace {

void Num(JsonWriter* w, std::string_view key, const std::optional<double>& v) {
  w->FieldOptionalDouble(key, v);
}

void Int(JsonWriter* w, std::string_view key, const std::optional<int64_t>& v) {
  w->Key(key);
  if (v) {
    w->Int(*v);
  } else {
    w->Null();
  }
}

void WriteBand(JsonWriter* w, std::string_view key, const std::optional<Band>& b) {
  w->Key(key);
  if (!b) {
    w->Null();
    return;
  }
  w->BeginObject();
  Num(w, "low", b->low);
  Num(w, "mid", b->mid);
  Num(w, "high", b->high);  // null when some plausible fit never gets there
  w->EndObject();
}

void WriteBreakdown(JsonWriter* w, const std::optional<StepBreakdown>& b) {
  w->Key("breakdown");
  if (!b) {
    w->Null();
    return;
  }
  w->BeginObject();
  w->Field("window_from", b->window_from).Field("window_to", b->window_to);
  w->Field("steps", static_cast<uint64_t>(b->steps));
  w->FieldDouble("step_seconds", b->step_seconds);
  Num(w, "earlier_step_seconds", b->earlier_step_seconds);
  w->Field("step_source", b->step_source);
  w->Key("phases").BeginArray();
  for (const PhaseShare& p : b->phases) {
    w->BeginObject().Field("phase", p.phase).FieldDouble("seconds", p.seconds);
    w->FieldDouble("share", p.share);
    Num(w, "earlier_share", p.earlier_share);
    w->EndObject();
  }
  w->EndArray();
  w->Key("per_step").BeginObject().Key("steps").BeginArray();
  for (int64_t s : b->per_step_steps) w->Int(s);
  w->EndArray();
  for (size_t i = 0; i < b->phases.size(); ++i) {
    w->Key(b->phases[i].phase).BeginArray();
    for (double v : b->per_step_seconds[i]) w->Double(v);
    w->EndArray();
  }
  w->EndObject();
  w->EndObject();
}

void WriteForecast(JsonWriter* w, const Forecast& f) {
  w->Key("forecast").BeginObject();
  w->Key("loss");
  if (f.loss) {
    const LossForecast& l = *f.loss;
    w->BeginObject().Field("metric", l.metric);
    // With no bend (tau = 0) the model is the plain power law; tau and k
    // (the bend) and backtest_error were added later, after the others.
    w->Key("fit").BeginObject().Field(
        "model", l.params.tau > 0 ? "c+a*(tau^k+(step+1)^k)^(-b/k)" : "a*(step+1)^-b+c");
    w->FieldDouble("a", l.params.a).FieldDouble("b", l.params.b).FieldDouble("c", l.params.c);
    w->FieldBool("flat", l.flat).FieldDouble("residual_scale", l.residual_scale);
    w->Field("points", static_cast<uint64_t>(l.points_used)).Field("last_step", l.last_step);
    w->FieldDouble("tau", l.params.tau).FieldDouble("k", l.params.k);
    Num(w, "backtest_error", l.backtest_error);
    w->EndObject();
    Num(w, "planned_last_step", l.planned_last_step);
    WriteBand(w, "final", l.final_loss);
    w->Key("target");
    if (l.target) {
      w->BeginObject();
      Num(w, "value", l.target);
      Int(w, "reached_step", l.target_reached_step);
      WriteBand(w, "step", l.target_step);
      WriteBand(w, "time_ms", l.target_time_ms);
      w->FieldBool("unreachable", l.target_unreachable);
      w->EndObject();
    } else {
      w->Null();
    }
    w->Key("curve").BeginObject();
    const char* cols[] = {"steps", "low", "mid", "high"};
    for (int c = 0; c < 4; ++c) {
      w->Key(cols[c]).BeginArray();
      for (const auto& [step, band] : l.curve) {
        double v = c == 0 ? step : c == 1 ? band.low : c == 2 ? band.mid : band.high;
        if (std::isfinite(v)) {
          w->Double(v);
        } else {
          w->Null();
        }
      }
      w->EndArray();
    }
    w->EndObject();
    w->EndObject();
  } else {
    w->Null();
  }
  if (!f.loss_error.empty()) w->Field("loss_error", f.loss_error);
  w->Key("pace");
  if (f.pace) {
    w->BeginObject().FieldDouble("seconds_per_step", f.pace->seconds_per_step);
    w->FieldDouble("steps_per_second", f.pace->steps_per_second);
    w->Field("window_first_step", f.pace->window_first_step);
    w->Field("last_step", f.pace->last_step).Field("last_time_ms", f.pace->last_time_ms);
    w->EndObject();
  } else {
    w->Null();
  }
  Num(w, "seconds_remaining", f.seconds_remaining);
  Int(w, "eta_ms", f.eta_ms);
  w->Key("memory");
  if (f.memory) {
    const MemoryForecast& m = *f.memory;
    w->BeginObject().Field("gpu", f.memory_gpu).FieldDouble("used_bytes", m.used_bytes);
    w->FieldDouble("peak_bytes", m.peak_bytes).FieldDouble("limit_bytes", m.limit_bytes);
    w->FieldDouble("growth_bytes_per_s", m.slope_bytes_per_s);
    Num(w, "seconds_to_oom", m.seconds_to_limit);
    w->EndObject();
  } else {
    w->Null();
  }
  w->EndObject();
}

}  // namespace

void WriteDiagnosisJson(const Diagnosis& d, JsonWriter* w) {
  w->BeginObject().Field("bottleneck", d.bottleneck).Field("summary", d.summary);
  w->Key("evidence").BeginArray();
  for (const Evidence& e : d.evidence) {
    w->BeginObject().Field("name", e.name);
    Num(w, "value", e.value);
    w->Field("unit", e.unit).Field("text", e.text).EndObject();
  }
  w->EndArray();
  w->Key("suggestions").BeginArray();
  for (size_t i = 0; i < d.suggestions.size(); ++i) {
    const Suggestion& s = d.suggestions[i];
    w->BeginObject().Field("rank", static_cast<uint64_t>(i + 1)).Field("kind", s.kind);
    w->Field("text", s.text).Key("numbers").BeginObject();
    for (const auto& [k, v] : s.numbers) {
      if (std::isfinite(v)) w->FieldDouble(k, v);
    }
    w->EndObject().EndObject();
  }
  w->EndArray();
  WriteBreakdown(w, d.breakdown);
  const Health& h = d.health;
  w->Key("health").BeginObject();
  w->Field("window_from", h.window_from).Field("window_to", h.window_to);
  Num(w, "loss", h.loss_now);
  Num(w, "loss_change", h.loss_change);
  Num(w, "dispersion", h.dispersion_now);
  Num(w, "dispersion_change", h.dispersion_change);
  Num(w, "grad_param_ratio", h.grad_param_ratio);
  Num(w, "alert_fraction", h.alert_fraction);
  Num(w, "lr", h.lr_now);
  Num(w, "lr_peak", h.lr_peak);
  Int(w, "flat_steps", h.flat_steps);
  w->EndObject();
  WriteForecast(w, d.forecast);
  w->Key("allocator").BeginArray();
  for (const AllocatorStats& a : d.allocator) {
    w->BeginObject().Field("device", a.device);
    w->Field("window_from", a.window_from).Field("window_to", a.window_to);
    Num(w, "retries", a.retries);
    Num(w, "fragmentation", a.fragmentation);
    Num(w, "earlier_fragmentation", a.earlier_fragmentation);
    Num(w, "reserved_bytes", a.reserved_bytes);
    Num(w, "peak_allocated_bytes", a.peak_allocated_bytes);
    w->EndObject();
  }
  w->EndArray();
  w->Key("notes").BeginArray();
  for (const std::string& n : d.notes) w->String(n);
  w->EndArray();
  w->EndObject();
}

}  // namespace vigil::analysis
