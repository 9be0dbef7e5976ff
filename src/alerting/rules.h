// Alert rules: which detectors watch which series, how bad their findings
// are, where they are sent and what they do to the run. A RuleSet is the
// built-in pack (analysis::DetectorsForMetric's defaults, one rule per
// detector, named "builtin/<detector>") plus the user's rules file
// (`vigil serve --rules FILE`, TOML; docs/operations.md "Alert rules and
// webhooks" and docs/detectors.md have the reference):
//
//   [builtin]                      # optional; the pack is on by default
//   enabled = true
//   disable = ["plateau"]          # detector names of the pack to turn off
//   enable = ["plateau"]           # pack detectors that are off by default
//   rollback_on_loss_spike = true  # spike on *loss* -> queue a rollback
//   rollback = { steps_back = 0, skip_batches = 20 }
//   webhooks = ["ops"]             # where pack alerts go (default: all)
//   stall_factor = 10.0
//   stall_min_silence = "60s"
//
//   [distributed]                  # distributed runs (docs/distributed.md)
//   hang_after = "60s"             # rank_hang / rank_lost threshold floor
//   hang_factor = 20.0             # ... or this × the median step time
//   straggler_margin = 0.2         # compute time above the median rank's
//   straggler_window = 50          # steps combined per judgement
//   straggler_for_steps = 100      # slow this long before the alert
//   divergence_z = 10.0            # robust z of a loss across ranks
//
//   [[webhook]]
//   name = "ops"
//   url = "http://127.0.0.1:9000/hook"
//   format = "json"                # or "slack"
//   min_severity = "warning"
//
//   [[rule]]
//   name = "loss-high"
//   metric = "train/*loss*"        # glob: * any run of characters, ? one
//   labels = { rank = "0" }        # optional, each must match exactly
//   detector = "threshold"         # an analysis detector name
//   params = { above = 5.0 }       # the detector's parameters
//   severity = "critical"          # default: the detector's
//   for = "30s"                    # condition must hold this long first
//   resolve_after_steps = 50       # one-off findings resolve after N quiet steps
//   webhooks = ["ops"]             # default: all webhooks
//   actions = ["rollback"]         # pause | stop | checkpoint | rollback
//   rollback = { steps_back = 0, skip_batches = 20 }
//
// A user rule replaces the pack's rule of the same detector on the series
// it matches (so a user can retune "spike" for "train/loss" only).
//
// Thread-safety: a RuleSet is immutable once parsed; share it freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analysis/detectors/detector.h"
#include "analysis/distributed/job_monitor.h"
#include "core/result.h"
#include "core/types.h"

namespace vigil::alerting {

enum class WebhookFormat : uint8_t { kJson = 0, kSlack };

struct Webhook {
  std::string name;
  std::string url;  // http://host:port/path (plain HTTP)
  WebhookFormat format = WebhookFormat::kJson;
  analysis::Severity min_severity = analysis::Severity::kInfo;
};

// A command queued on the run when a rule fires.
struct RuleAction {
  std::string command;           // pause | stop | checkpoint | rollback
  std::string args_json = "{}";  // e.g. {"steps_back":0,"skip_batches":20}
};

struct Rule {
  std::string name;
  std::string metric = "*";
  Labels labels;
  std::string detector;
  analysis::DetectorParams params;
  std::optional<analysis::Severity> severity;
  int64_t for_ms = 0;
  int64_t resolve_after_steps = 50;
  std::optional<std::vector<std::string>> webhooks;  // nullopt: all
  std::vector<RuleAction> actions;
};

// One detector on one series, as the rules decide.
struct WatchSpec {
  std::string rule;  // "builtin/spike" or the user rule's name
  std::string detector;
  analysis::DetectorParams params;
  std::optional<analysis::Severity> severity;
  int64_t for_ms = 0;
  int64_t resolve_after_steps = 50;
  std::optional<std::vector<std::string>> webhooks;
  std::vector<RuleAction> actions;
};

struct BuiltinOptions {
  bool enabled = true;
  std::vector<std::string> disable;
  std::vector<std::string> enable;
  bool rollback_on_loss_spike = false;
  std::string rollback_args_json = R"({"steps_back":0,"skip_batches":20})";
  std::optional<std::vector<std::string>> webhooks;
  analysis::StallParams stall;
  // The cross-rank judgements; each can be turned off by name in
  // `disable` (rank_hang, rank_lost, straggler, rank_divergence).
  analysis::DistributedParams distributed;
};

struct RuleSet {
  BuiltinOptions builtin;
  std::vector<Webhook> webhooks;
  std::vector<Rule> rules;
  std::string source = "built-in";  // the file it came from

  // The watches of a series: the pack's (unless replaced) then the user's.
  std::vector<WatchSpec> WatchesFor(std::string_view metric, const Labels& labels) const;
  const Webhook* FindWebhook(std::string_view name) const;
};

// `*` matches any run of characters (including '/'), `?` one character;
// everything else matches itself.
bool GlobMatch(std::string_view pattern, std::string_view text);

// Parses a rules file's text. Every error is InvalidArgument naming the
// source, the line where known, and the offending key, e.g.
// "rules.toml: rule[1] (loss-high): params: unknown parameter 'abve' of threshold".
Result<RuleSet> ParseRules(std::string_view toml_text, std::string_view source);
// Reads and parses a rules file (NotFound / IOError when unreadable).
Result<RuleSet> LoadRulesFile(const std::string& path);

}  // namespace vigil::alerting
