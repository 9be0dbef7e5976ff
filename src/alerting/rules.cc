#include "alerting/rules.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/duration.h"
#include "core/json_writer.h"
#include "core/names.h"

namespace vigil::alerting {
namespace {

using analysis::DetectorParams;

// The commands a rule may queue (resume and set need a person's intent).
constexpr std::string_view kRuleActions[] = {"pause", "stop", "checkpoint", "rollback"};

bool Contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Status Err(std::string_view where, std::string_view what) {
  return Status::InvalidArgument(fmt::format("{}: {}", where, what));
}

// The text form of a TOML scalar, as DetectorParams keeps values.
Result<std::string> ScalarText(const toml::node& n, std::string_view where) {
  if (auto s = n.value_exact<std::string>()) return *s;
  if (auto i = n.value_exact<int64_t>()) return fmt::format("{}", *i);
  if (auto d = n.value_exact<double>()) {
    std::string out;
    AppendJsonDouble(&out, *d);
    if (!out.empty() && out.front() == '"') out = out.substr(1, out.size() - 2);
    return out;
  }
  if (auto b = n.value_exact<bool>()) return std::string(*b ? "true" : "false");
  return Err(where, "expected a string, number or boolean");
}

Result<std::vector<std::string>> StringArray(const toml::node& n, std::string_view where) {
  const toml::array* a = n.as_array();
  if (a == nullptr) return Err(where, "expected an array of strings");
  std::vector<std::string> out;
  for (const toml::node& e : *a) {
    auto s = e.value_exact<std::string>();
    if (!s) return Err(where, "expected an array of strings");
    out.push_back(*s);
  }
  return out;
}

Result<std::string> String(const toml::node& n, std::string_view where) {
  auto s = n.value_exact<std::string>();
  if (!s) return Err(where, "expected a string");
  return *s;
}

Status CheckKeys(const toml::table& t, std::initializer_list<std::string_view> allowed,
                 std::string_view where) {
  for (const auto& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) == allowed.end()) {
      return Err(where,
                 fmt::format("unknown key \"{}\" (line {})", k.str(), v.source().begin.line));
    }
  }
  return Status::OK();
}

// {steps_back = N, skip_batches = M} as the rollback command's args.
Result<std::string> RollbackArgs(const toml::node& n, std::string_view where) {
  const toml::table* t = n.as_table();
  if (t == nullptr) return Err(where, "expected a table {steps_back = N, skip_batches = M}");
  VIGIL_RETURN_IF_ERROR(CheckKeys(*t, {"steps_back", "skip_batches"}, where));
  JsonWriter w;
  w.BeginObject();
  for (std::string_view key : {"steps_back", "skip_batches"}) {
    int64_t v = 0;
    if (const toml::node* x = t->get(key)) {
      auto i = x->value_exact<int64_t>();
      if (!i || *i < 0) return Err(where, fmt::format("{} must be an integer >= 0", key));
      v = *i;
    } else if (key == "skip_batches") {
      v = 20;
    }
    w.Field(key, v);
  }
  w.EndObject();
  return w.Take();
}

Result<analysis::Severity> ParseSeverityAt(const toml::node& n, std::string_view where) {
  VIGIL_ASSIGN_OR_RETURN(std::string s, String(n, where));
  auto sev = analysis::ParseSeverity(s);
  if (!sev)
    return Err(where, fmt::format("severity must be info, warning or critical, got \"{}\"", s));
  return *sev;
}

Status ParseBuiltin(const toml::table& t, std::string_view src, BuiltinOptions* b) {
  std::string where = fmt::format("{}: [builtin]", src);
  VIGIL_RETURN_IF_ERROR(CheckKeys(t,
                                  {"enabled", "disable", "enable", "rollback_on_loss_spike",
                                   "rollback", "webhooks", "stall_factor", "stall_min_silence"},
                                  where));
  if (const toml::node* n = t.get("enabled")) {
    auto v = n->value_exact<bool>();
    if (!v) return Err(where, "enabled must be true or false");
    b->enabled = *v;
  }
  if (const toml::node* n = t.get("rollback_on_loss_spike")) {
    auto v = n->value_exact<bool>();
    if (!v) return Err(where, "rollback_on_loss_spike must be true or false");
    b->rollback_on_loss_spike = *v;
  }
  auto names = analysis::DetectorNames();
  for (auto [key, dst] : {std::pair{"disable", &b->disable}, std::pair{"enable", &b->enable}}) {
    if (const toml::node* n = t.get(key)) {
      VIGIL_ASSIGN_OR_RETURN(*dst, StringArray(*n, where + "." + key));
      for (const std::string& d : *dst) {
        const bool run_level = analysis::ParseFindingKind(d).has_value() &&
                               analysis::IsRunLevelKind(*analysis::ParseFindingKind(d));
        if (!run_level && std::find(names.begin(), names.end(), d) == names.end()) {
          return Err(where, fmt::format("{}: unknown detector \"{}\"", key, d));
        }
      }
    }
  }
  if (const toml::node* n = t.get("rollback")) {
    VIGIL_ASSIGN_OR_RETURN(b->rollback_args_json, RollbackArgs(*n, where + ".rollback"));
  }
  if (const toml::node* n = t.get("webhooks")) {
    VIGIL_ASSIGN_OR_RETURN(b->webhooks, StringArray(*n, where + ".webhooks"));
  }
  if (const toml::node* n = t.get("stall_factor")) {
    auto v = n->value<double>();
    if (!v || !(*v >= 1)) return Err(where, "stall_factor must be a number >= 1");
    b->stall.factor = *v;
  }
  if (const toml::node* n = t.get("stall_min_silence")) {
    VIGIL_ASSIGN_OR_RETURN(std::string s, String(*n, where + ".stall_min_silence"));
    auto ms = ParseDurationMillis(s);
    if (!ms.ok()) return ms.status().WithContext(where + ".stall_min_silence");
    b->stall.min_silence_ms = *ms;
  }
  return Status::OK();
}

// [distributed]: the bounds of the cross-rank judgements
// (analysis::DistributedParams; docs/distributed.md).
Status ParseDistributed(const toml::table& t, std::string_view src,
                        analysis::DistributedParams* d) {
  std::string where = fmt::format("{}: [distributed]", src);
  VIGIL_RETURN_IF_ERROR(CheckKeys(t,
                                  {"hang_after", "hang_factor", "straggler_margin",
                                   "straggler_window", "straggler_for_steps", "divergence_z"},
                                  where));
  if (const toml::node* n = t.get("hang_after")) {
    VIGIL_ASSIGN_OR_RETURN(std::string s, String(*n, where + ".hang_after"));
    auto ms = ParseDurationMillis(s);
    if (!ms.ok()) return ms.status().WithContext(where + ".hang_after");
    if (*ms < 1000) return Err(where, "hang_after must be at least 1s");
    d->hang_after_ms = *ms;
  }
  auto number = [&](const char* key, double min, double max, double* dst) -> Status {
    if (const toml::node* n = t.get(key)) {
      auto v = n->value<double>();
      if (!v || !(*v >= min && *v <= max)) {
        return Err(where, fmt::format("{} must be a number in [{}, {}]", key, min, max));
      }
      *dst = *v;
    }
    return Status::OK();
  };
  auto integer = [&](const char* key, int64_t min, int64_t max, int64_t* dst) -> Status {
    if (const toml::node* n = t.get(key)) {
      auto v = n->value_exact<int64_t>();
      if (!v || *v < min || *v > max) {
        return Err(where, fmt::format("{} must be an integer in [{}, {}]", key, min, max));
      }
      *dst = *v;
    }
    return Status::OK();
  };
  VIGIL_RETURN_IF_ERROR(number("hang_factor", 1, 1e6, &d->hang_factor));
  VIGIL_RETURN_IF_ERROR(number("straggler_margin", 0.01, 100, &d->straggler_margin));
  VIGIL_RETURN_IF_ERROR(number("divergence_z", 2, 1e6, &d->divergence_z));
  VIGIL_RETURN_IF_ERROR(integer("straggler_window", 5,
                                static_cast<int64_t>(analysis::JobMonitor::kStepSlots) - 6,
                                &d->straggler_window));
  VIGIL_RETURN_IF_ERROR(integer("straggler_for_steps", 1, 1'000'000'000, &d->straggler_for_steps));
  return Status::OK();
}

Result<Webhook> ParseWebhook(const toml::table& t, std::string_view where) {
  VIGIL_RETURN_IF_ERROR(CheckKeys(t, {"name", "url", "format", "min_severity"}, where));
  Webhook w;
  const toml::node* name = t.get("name");
  const toml::node* url = t.get("url");
  if (name == nullptr) return Err(where, "name: required");
  if (url == nullptr) return Err(where, "url: required");
  VIGIL_ASSIGN_OR_RETURN(w.name, String(*name, std::string(where) + ".name"));
  VIGIL_ASSIGN_OR_RETURN(w.url, String(*url, std::string(where) + ".url"));
  if (w.url.rfind("http://", 0) != 0) {
    return Err(where, fmt::format("url must start with http:// (got \"{}\")", w.url));
  }
  if (const toml::node* f = t.get("format")) {
    VIGIL_ASSIGN_OR_RETURN(std::string s, String(*f, std::string(where) + ".format"));
    if (s == "json") {
      w.format = WebhookFormat::kJson;
    } else if (s == "slack") {
      w.format = WebhookFormat::kSlack;
    } else {
      return Err(where, fmt::format("format must be json or slack, got \"{}\"", s));
    }
  }
  if (const toml::node* s = t.get("min_severity")) {
    VIGIL_ASSIGN_OR_RETURN(w.min_severity,
                           ParseSeverityAt(*s, std::string(where) + ".min_severity"));
  }
  return w;
}

Result<Rule> ParseRule(const toml::table& t, std::string_view where_in) {
  std::string where(where_in);
  VIGIL_RETURN_IF_ERROR(CheckKeys(t,
                                  {"name", "metric", "labels", "detector", "params", "severity",
                                   "for", "resolve_after_steps", "webhooks", "actions", "rollback"},
                                  where));
  Rule r;
  const toml::node* name = t.get("name");
  if (name == nullptr) return Err(where, "name: required");
  VIGIL_ASSIGN_OR_RETURN(r.name, String(*name, where + ".name"));
  if (r.name.empty() || r.name.size() > 128) return Err(where, "name must be 1..128 bytes");
  if (r.name.rfind("builtin/", 0) == 0) {
    return Err(where, "names starting with \"builtin/\" are reserved for the built-in pack");
  }
  where = fmt::format("{} ({})", where, r.name);
  if (const toml::node* m = t.get("metric")) {
    VIGIL_ASSIGN_OR_RETURN(r.metric, String(*m, where + ".metric"));
    if (r.metric.empty()) return Err(where, "metric: empty pattern");
  }
  if (const toml::node* l = t.get("labels")) {
    const toml::table* lt = l->as_table();
    if (lt == nullptr) return Err(where, "labels: expected a table of strings");
    for (const auto& [k, v] : *lt) {
      auto s = v.value_exact<std::string>();
      if (!s) return Err(where, fmt::format("labels.{}: expected a string", k.str()));
      r.labels.push_back({std::string(k.str()), *s});
    }
    SortLabels(&r.labels);
  }
  const toml::node* det = t.get("detector");
  if (det == nullptr) return Err(where, "detector: required");
  VIGIL_ASSIGN_OR_RETURN(r.detector, String(*det, where + ".detector"));
  if (const toml::node* p = t.get("params")) {
    const toml::table* pt = p->as_table();
    if (pt == nullptr) return Err(where, "params: expected a table");
    for (const auto& [k, v] : *pt) {
      VIGIL_ASSIGN_OR_RETURN(std::string text,
                             ScalarText(v, where + ".params." + std::string(k.str())));
      r.params.Set(k.str(), text);
    }
  }
  // Builds the detector once so that a bad name or parameter is reported
  // now, with the rule's name, rather than on the first point.
  auto probe = analysis::MakeDetector(r.detector, r.params, r.metric);
  if (!probe.ok()) return probe.status().WithContext(where);
  if (const toml::node* s = t.get("severity")) {
    VIGIL_ASSIGN_OR_RETURN(r.severity, ParseSeverityAt(*s, where + ".severity"));
  }
  if (const toml::node* f = t.get("for")) {
    VIGIL_ASSIGN_OR_RETURN(std::string s, String(*f, where + ".for"));
    auto ms = ParseDurationMillis(s);
    if (!ms.ok()) return ms.status().WithContext(where + ".for");
    r.for_ms = *ms;
  }
  if (const toml::node* n = t.get("resolve_after_steps")) {
    auto v = n->value_exact<int64_t>();
    if (!v || *v < 1) return Err(where, "resolve_after_steps must be an integer >= 1");
    r.resolve_after_steps = *v;
  }
  if (const toml::node* n = t.get("webhooks")) {
    VIGIL_ASSIGN_OR_RETURN(r.webhooks, StringArray(*n, where + ".webhooks"));
  }
  std::string rollback_args = BuiltinOptions{}.rollback_args_json;
  if (const toml::node* n = t.get("rollback")) {
    VIGIL_ASSIGN_OR_RETURN(rollback_args, RollbackArgs(*n, where + ".rollback"));
  }
  if (const toml::node* n = t.get("actions")) {
    VIGIL_ASSIGN_OR_RETURN(auto actions, StringArray(*n, where + ".actions"));
    for (const std::string& a : actions) {
      if (std::find(std::begin(kRuleActions), std::end(kRuleActions), a) ==
          std::end(kRuleActions)) {
        return Err(where, fmt::format("actions: \"{}\" is not one of pause, stop, checkpoint, "
                                      "rollback",
                                      a));
      }
      r.actions.push_back({a, a == "rollback" ? rollback_args : "{}"});
    }
  }
  return r;
}

}  // namespace

bool GlobMatch(std::string_view p, std::string_view s) {
  // Iterative matching with one backtrack point (the last '*'): linear for
  // patterns without '*', O(|p|·|s|) at worst.
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == s[si])) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<WatchSpec> RuleSet::WatchesFor(std::string_view metric, const Labels& labels) const {
  std::vector<WatchSpec> user;
  for (const Rule& r : rules) {
    if (!GlobMatch(r.metric, metric)) continue;
    bool labels_match = std::all_of(r.labels.begin(), r.labels.end(), [&](const Label& want) {
      return std::find(labels.begin(), labels.end(), want) != labels.end();
    });
    if (!labels_match) continue;
    user.push_back({r.name, r.detector, r.params, r.severity, r.for_ms, r.resolve_after_steps,
                    r.webhooks, r.actions});
  }
  std::vector<WatchSpec> out;
  if (builtin.enabled) {
    for (const analysis::DetectorSpec& spec : analysis::DetectorsForMetric(metric, labels)) {
      bool on = (spec.enabled || Contains(builtin.enable, spec.detector)) &&
                !Contains(builtin.disable, spec.detector);
      if (!on) continue;
      bool replaced = std::any_of(user.begin(), user.end(),
                                  [&](const WatchSpec& w) { return w.detector == spec.detector; });
      if (replaced) continue;
      WatchSpec w;
      w.rule = "builtin/" + spec.detector;
      w.detector = spec.detector;
      w.params = spec.params;
      w.webhooks = builtin.webhooks;
      if (builtin.rollback_on_loss_spike && spec.detector == "spike" &&
          metric.find("loss") != std::string_view::npos) {
        w.actions.push_back({"rollback", builtin.rollback_args_json});
      }
      out.push_back(std::move(w));
    }
  }
  for (WatchSpec& w : user) out.push_back(std::move(w));
  return out;
}

const Webhook* RuleSet::FindWebhook(std::string_view name) const {
  for (const Webhook& w : webhooks) {
    if (w.name == name) return &w;
  }
  return nullptr;
}

Result<RuleSet> ParseRules(std::string_view text, std::string_view source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(
        fmt::format("{} line {}: {}", source, e.source().begin.line, e.description()));
  }
  RuleSet set;
  set.source = std::string(source);
  VIGIL_RETURN_IF_ERROR(CheckKeys(root, {"builtin", "distributed", "webhook", "rule"}, source));
  if (const toml::node* d = root.get("distributed")) {
    const toml::table* dt = d->as_table();
    if (dt == nullptr) return Err(source, "[distributed] must be a table");
    VIGIL_RETURN_IF_ERROR(ParseDistributed(*dt, source, &set.builtin.distributed));
  }
  if (const toml::node* b = root.get("builtin")) {
    const toml::table* bt = b->as_table();
    if (bt == nullptr) return Err(source, "[builtin] must be a table");
    VIGIL_RETURN_IF_ERROR(ParseBuiltin(*bt, source, &set.builtin));
  }
  auto each_table = [&](std::string_view key, auto fn) -> Status {
    const toml::node* n = root.get(key);
    if (n == nullptr) return Status::OK();
    const toml::array* a = n->as_array();
    if (a == nullptr) return Err(source, fmt::format("{} must be written [[{}]]", key, key));
    for (size_t i = 0; i < a->size(); ++i) {
      const toml::table* t = (*a)[i].as_table();
      std::string where = fmt::format("{}: {}[{}]", source, key, i);
      if (t == nullptr) return Err(where, "expected a table");
      VIGIL_RETURN_IF_ERROR(fn(*t, where));
    }
    return Status::OK();
  };
  VIGIL_RETURN_IF_ERROR(each_table("webhook", [&](const toml::table& t, const std::string& where) {
    VIGIL_ASSIGN_OR_RETURN(Webhook w, ParseWebhook(t, where));
    if (set.FindWebhook(w.name) != nullptr) {
      return Err(where, fmt::format("webhook \"{}\" defined twice", w.name));
    }
    set.webhooks.push_back(std::move(w));
    return Status::OK();
  }));
  VIGIL_RETURN_IF_ERROR(each_table("rule", [&](const toml::table& t, const std::string& where) {
    VIGIL_ASSIGN_OR_RETURN(Rule r, ParseRule(t, where));
    for (const Rule& other : set.rules) {
      if (other.name == r.name) return Err(where, fmt::format("rule \"{}\" defined twice", r.name));
    }
    set.rules.push_back(std::move(r));
    return Status::OK();
  }));
  // Every webhook a rule names must exist.
  auto check_names = [&](const std::optional<std::vector<std::string>>& names,
                         std::string_view who) -> Status {
    if (!names) return Status::OK();
    for (const std::string& n : *names) {
      if (set.FindWebhook(n) == nullptr) {
        return Err(source, fmt::format("{}: unknown webhook \"{}\"", who, n));
      }
    }
    return Status::OK();
  };
  VIGIL_RETURN_IF_ERROR(check_names(set.builtin.webhooks, "[builtin].webhooks"));
  for (const Rule& r : set.rules) {
    VIGIL_RETURN_IF_ERROR(check_names(r.webhooks, fmt::format("rule {}", r.name)));
  }
  return set;
}

Result<RuleSet> LoadRulesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("rules file {} cannot be read", path));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return Status::IOError(fmt::format("rules file {}: read failed", path));
  return ParseRules(buf.str(), path);
}

}  // namespace vigil::alerting
