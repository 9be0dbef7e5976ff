// The public C++ SDK (include/vigil/vigil.h): thin forwarding to RunCore.
#include <vigil/vigil.h>

#include <cstdio>

#include <fmt/format.h>

#include "client/sdk/json_value.h"
#include "client/sdk/run_core.h"
#include "core/json_writer.h"

namespace vigil {
namespace {

std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

const std::string& EmptyString() {
  static const std::string empty;
  return empty;
}

// Config or summary entries as key -> JSON text; bad JSON is reported and
// left out.
std::map<std::string, std::string> Entries(const Config& config, const char* what) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : config) {
    if (!client::ParseJson(v.json()).ok()) {
      fmt::print(stderr, "vigil: {}[\"{}\"]: not valid JSON, ignored\n", what, k);
      continue;
    }
    out[k] = v.json();
  }
  return out;
}

std::map<std::string, std::string> Entries(std::string_view json, const char* what) {
  std::map<std::string, std::string> out;
  auto doc = client::ParseJson(json);
  if (!doc.ok() || !doc->is_object()) {
    fmt::print(stderr, "vigil: {}: not a JSON object, ignored ({})\n", what,
               doc.ok() ? "another JSON value" : doc.status().message());
    return out;
  }
  for (auto& [k, v] : doc->members) out[k] = v.raw;
  return out;
}

using LabelView = client::SeriesTable::LabelView;

}  // namespace

// ---- ConfigValue ----

ConfigValue::ConfigValue(bool v) : json_(v ? "true" : "false") {}
ConfigValue::ConfigValue(int v) : json_(std::to_string(v)) {}
ConfigValue::ConfigValue(long v) : json_(std::to_string(v)) {}
ConfigValue::ConfigValue(long long v) : json_(std::to_string(v)) {}
ConfigValue::ConfigValue(unsigned v) : json_(std::to_string(v)) {}
ConfigValue::ConfigValue(unsigned long v) : json_(std::to_string(v)) {}
ConfigValue::ConfigValue(unsigned long long v) : json_(std::to_string(v)) {}
ConfigValue::ConfigValue(float v) : ConfigValue(static_cast<double>(v)) {}
ConfigValue::ConfigValue(double v) {
  AppendJsonDouble(&json_, v);
}
ConfigValue::ConfigValue(const char* v) : json_(JsonString(v ? v : "")) {}
ConfigValue::ConfigValue(std::string_view v) : json_(JsonString(v)) {}
ConfigValue::ConfigValue(const std::string& v) : json_(JsonString(v)) {}
ConfigValue ConfigValue::Json(std::string json) {
  ConfigValue v;
  v.json_ = std::move(json);
  return v;
}

// ---- Command ----

std::optional<double> Command::number_arg(std::string_view key) const {
  auto doc = client::ParseJson(args_json);
  if (!doc.ok()) return std::nullopt;
  return doc->GetNumber(key);
}

std::optional<std::string> Command::string_arg(std::string_view key) const {
  auto doc = client::ParseJson(args_json);
  if (!doc.ok()) return std::nullopt;
  return doc->GetString(key);
}

// ---- Series ----

void Series::log(double value, int64_t step) const {
  if (core_) core_->LogSeries(id_, value, step);
}

// ---- Run ----

bool Run::ok() const {
  return core_ != nullptr;
}

const std::string& Run::error() const {
  return core_ ? EmptyString() : error_;
}

const std::string& Run::id() const {
  return core_ ? core_->id() : EmptyString();
}

Mode Run::mode() const {
  return core_ ? core_->mode() : Mode::kDisabled;
}

std::optional<int64_t> Run::rank() const {
  return core_ ? core_->rank() : std::nullopt;
}

void Run::log(std::string_view metric, double value, int64_t step) {
  if (core_) core_->Log(metric, value, step);
}

void Run::log(std::string_view metric, double value, int64_t step, LabelList labels) {
  if (!core_) return;
  core_->LogLabelled(metric, value, step, client::RunCore::NowMillis(), labels.begin(),
                     labels.size());
}

void Run::log(std::string_view metric, double value, int64_t step, const LabelPairs& labels) {
  if (!core_) return;
  std::vector<LabelView> views(labels.begin(), labels.end());
  core_->LogLabelled(metric, value, step, client::RunCore::NowMillis(), views.data(), views.size());
}

void Run::log(std::initializer_list<std::pair<std::string_view, double>> values, int64_t step) {
  if (!core_) return;
  int64_t now = client::RunCore::NowMillis();
  for (const auto& [metric, value] : values) {
    core_->LogLabelled(metric, value, step, now, nullptr, 0);
  }
}

void Run::log(std::initializer_list<std::pair<std::string_view, double>> values, int64_t step,
              LabelList labels) {
  if (!core_) return;
  int64_t now = client::RunCore::NowMillis();
  for (const auto& [metric, value] : values) {
    core_->LogLabelled(metric, value, step, now, labels.begin(), labels.size());
  }
}

Series Run::series(std::string_view metric, LabelList labels) {
  Series s;
  if (!core_) return s;
  s.core_ = core_;
  s.id_ = core_->SeriesId(metric, labels.begin(), labels.size());
  return s;
}

Series Run::series(std::string_view metric, const LabelPairs& labels) {
  Series s;
  if (!core_) return s;
  std::vector<LabelView> views(labels.begin(), labels.end());
  s.core_ = core_;
  s.id_ = core_->SeriesId(metric, views.data(), views.size());
  return s;
}

void Run::set_config(const Config& config) {
  if (core_) core_->SetConfig(Entries(config, "config"));
}
void Run::set_config(std::string_view json_object) {
  if (core_) core_->SetConfig(Entries(json_object, "config"));
}
void Run::set_summary(const Config& summary) {
  if (core_) core_->SetSummary(Entries(summary, "summary"));
}
void Run::set_summary(std::string_view json_object) {
  if (core_) core_->SetSummary(Entries(json_object, "summary"));
}

bool Run::finish(std::string_view state) {
  return core_ ? core_->Finish(state) : false;
}

bool Run::should_stop() const {
  return core_ && core_->should_stop();
}
bool Run::should_pause() const {
  return core_ && core_->should_pause();
}
void Run::on_command(std::function<void(const Command&)> callback) {
  if (core_) core_->OnCommand(std::move(callback));
}
void Run::ack(const Command& command, CommandStatus status, std::string_view message) {
  if (core_) core_->Ack(command.id, status, message);
}

Stats Run::stats() const {
  return core_ ? core_->GetStats() : Stats{};
}

std::string Run::local_dir() const {
  return core_ ? core_->LocalDir() : std::string();
}

Run init(Options options) {
  Run run;
  auto resolved = client::ResolveOptions(std::move(options));
  if (!resolved.ok()) {
    run.error_ = resolved.status().message();
  } else {
    auto core = client::RunCore::Start(std::move(resolved).value());
    if (core.ok()) {
      run.core_ = std::move(core).value();
    } else {
      run.error_ = core.status().message();
    }
  }
  if (!run.core_) fmt::print(stderr, "vigil: init failed: {}\n", run.error_);
  return run;
}

}  // namespace vigil
