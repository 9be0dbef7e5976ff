#include "alerting/rules.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "testing/testing.h"

namespace vigil::alerting {
namespace {

std::vector<std::string> RuleNames(const std::vector<WatchSpec>& w) {
  std::vector<std::string> out;
  for (const auto& s : w) out.push_back(s.rule);
  return out;
}

bool Has(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

RuleSet MustParse(std::string_view text) {
  auto r = ParseRules(text, "rules.toml");
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? std::move(*r) : RuleSet{};
}

Status ParseError(std::string_view text) {
  auto r = ParseRules(text, "rules.toml");
  EXPECT_FALSE(r.ok());
  return r.ok() ? Status::OK() : r.status();
}

TEST(Glob, Basics) {
  EXPECT_TRUE(GlobMatch("*", ""));
  EXPECT_TRUE(GlobMatch("*", "train/loss"));
  EXPECT_TRUE(GlobMatch("*loss*", "train/loss"));
  EXPECT_TRUE(GlobMatch("train/*", "train/a/b"));
  EXPECT_TRUE(GlobMatch("t?ain/loss", "train/loss"));
  EXPECT_FALSE(GlobMatch("train/loss", "train/loss2"));
  EXPECT_FALSE(GlobMatch("*loss", "train/loss_mean"));
  EXPECT_TRUE(GlobMatch("*a*b*c", "xxaxxbxxbxxc"));
  EXPECT_FALSE(GlobMatch("?", ""));
}

TEST(Rules, EmptyFileIsTheBuiltinPack) {
  RuleSet rs = MustParse("");
  auto names = RuleNames(rs.WatchesFor("train/loss", {}));
  EXPECT_TRUE(Has(names, "builtin/non_finite"));
  EXPECT_TRUE(Has(names, "builtin/spike"));
  EXPECT_FALSE(Has(names, "builtin/plateau"));  // suggested, off by default
  auto acc = RuleNames(rs.WatchesFor("val/accuracy", {}));
  EXPECT_TRUE(Has(acc, "builtin/non_finite"));
  EXPECT_FALSE(Has(acc, "builtin/spike"));
}

TEST(Rules, BuiltinDisableAndEnable) {
  RuleSet rs = MustParse(R"(
[builtin]
disable = ["spike"]
enable = ["plateau"]
)");
  auto names = RuleNames(rs.WatchesFor("train/loss", {}));
  EXPECT_FALSE(Has(names, "builtin/spike"));
  EXPECT_TRUE(Has(names, "builtin/plateau"));
}

TEST(Rules, BuiltinOff) {
  RuleSet rs = MustParse("[builtin]\nenabled = false\n");
  EXPECT_TRUE(rs.WatchesFor("train/loss", {}).empty());
}

TEST(Rules, UserRuleReplacesBuiltinOfSameDetector) {
  RuleSet rs = MustParse(R"(
[[rule]]
name = "loss-spike"
metric = "train/loss"
detector = "spike"
severity = "critical"
)");
  auto w = rs.WatchesFor("train/loss", {});
  auto names = RuleNames(w);
  EXPECT_FALSE(Has(names, "builtin/spike"));
  EXPECT_TRUE(Has(names, "loss-spike"));
  EXPECT_TRUE(Has(names, "builtin/non_finite"));
  // Other series keep the pack's spike.
  EXPECT_TRUE(Has(RuleNames(rs.WatchesFor("val/loss", {})), "builtin/spike"));
}

TEST(Rules, LabelsMustMatch) {
  RuleSet rs = MustParse(R"(
[[rule]]
name = "rank0"
metric = "*"
labels = { rank = "0" }
detector = "non_finite"
)");
  EXPECT_TRUE(Has(RuleNames(rs.WatchesFor("x", {{"rank", "0"}})), "rank0"));
  EXPECT_FALSE(Has(RuleNames(rs.WatchesFor("x", {{"rank", "1"}})), "rank0"));
  EXPECT_FALSE(Has(RuleNames(rs.WatchesFor("x", {})), "rank0"));
}

TEST(Rules, RollbackOnLossSpike) {
  RuleSet rs = MustParse(R"(
[builtin]
rollback_on_loss_spike = true
rollback = { steps_back = 5, skip_batches = 7 }
)");
  auto w = rs.WatchesFor("train/loss", {});
  auto spike = std::find_if(w.begin(), w.end(), [](auto& s) { return s.rule == "builtin/spike"; });
  ASSERT_NE(spike, w.end());
  ASSERT_EQ(spike->actions.size(), 1u);
  EXPECT_EQ(spike->actions[0].command, "rollback");
  EXPECT_EQ(spike->actions[0].args_json, R"({"steps_back":5,"skip_batches":7})");
  // grad norm spikes do not roll back.
  for (const auto& s : rs.WatchesFor("grad_norm", {})) EXPECT_TRUE(s.actions.empty()) << s.rule;
}

TEST(Rules, WebhooksAndActions) {
  RuleSet rs = MustParse(R"(
[[webhook]]
name = "ops"
url = "http://127.0.0.1:9/hook"
format = "slack"
min_severity = "critical"

[[rule]]
name = "nan-stop"
metric = "train/*"
detector = "non_finite"
webhooks = ["ops"]
actions = ["stop", "rollback"]
for = "10s"
resolve_after_steps = 3
)");
  ASSERT_EQ(rs.webhooks.size(), 1u);
  EXPECT_EQ(rs.webhooks[0].format, WebhookFormat::kSlack);
  EXPECT_EQ(rs.webhooks[0].min_severity, analysis::Severity::kCritical);
  ASSERT_EQ(rs.rules.size(), 1u);
  const Rule& r = rs.rules[0];
  EXPECT_EQ(r.for_ms, 10'000);
  EXPECT_EQ(r.resolve_after_steps, 3);
  ASSERT_TRUE(r.webhooks.has_value());
  EXPECT_EQ(*r.webhooks, std::vector<std::string>{"ops"});
  ASSERT_EQ(r.actions.size(), 2u);
  EXPECT_EQ(r.actions[0].args_json, "{}");
  EXPECT_NE(r.actions[1].args_json.find("skip_batches"), std::string::npos);
}

TEST(Rules, SyntaxErrorNamesTheLine) {
  Status s = ParseError("[[rule]]\nname = \"x\"\ndetector = \n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("rules.toml line 3"), std::string::npos) << s.message();
}

TEST(Rules, UnknownTopLevelKey) {
  Status s = ParseError("rulez = 1\n");
  EXPECT_NE(s.message().find("unknown key \"rulez\""), std::string::npos) << s.message();
}

TEST(Rules, UnknownRuleKey) {
  Status s = ParseError("[[rule]]\nname = \"a\"\ndetector = \"spike\"\nthreshold = 3\n");
  EXPECT_NE(s.message().find("unknown key \"threshold\""), std::string::npos) << s.message();
}

TEST(Rules, UnknownDetectorNamesTheRule) {
  Status s = ParseError("[[rule]]\nname = \"mine\"\ndetector = \"telepathy\"\n");
  EXPECT_NE(s.message().find("mine"), std::string::npos) << s.message();
}

TEST(Rules, BadDetectorParameterIsRefused) {
  Status s = ParseError(
      "[[rule]]\nname = \"mine\"\ndetector = \"spike\"\nparams = { no_such_param = 1 }\n");
  EXPECT_NE(s.message().find("no_such_param"), std::string::npos) << s.message();
}

TEST(Rules, MissingNameOrDetector) {
  EXPECT_NE(ParseError("[[rule]]\ndetector = \"spike\"\n").message().find("name: required"),
            std::string::npos);
  EXPECT_NE(ParseError("[[rule]]\nname = \"a\"\n").message().find("detector: required"),
            std::string::npos);
}

TEST(Rules, ReservedBuiltinPrefix) {
  Status s = ParseError("[[rule]]\nname = \"builtin/spike\"\ndetector = \"spike\"\n");
  EXPECT_NE(s.message().find("reserved"), std::string::npos) << s.message();
}

TEST(Rules, DuplicateRuleName) {
  Status s = ParseError(
      "[[rule]]\nname = \"a\"\ndetector = \"spike\"\n[[rule]]\nname = \"a\"\ndetector = "
      "\"spike\"\n");
  EXPECT_NE(s.message().find("defined twice"), std::string::npos) << s.message();
}

TEST(Rules, UnknownWebhookReference) {
  Status s = ParseError("[[rule]]\nname = \"a\"\ndetector = \"spike\"\nwebhooks = [\"nobody\"]\n");
  EXPECT_NE(s.message().find("unknown webhook \"nobody\""), std::string::npos) << s.message();
}

TEST(Rules, WebhookNeedsHttpUrl) {
  Status s = ParseError("[[webhook]]\nname = \"a\"\nurl = \"https://x\"\n");
  EXPECT_NE(s.message().find("http://"), std::string::npos) << s.message();
}

TEST(Rules, BadAction) {
  Status s = ParseError("[[rule]]\nname = \"a\"\ndetector = \"spike\"\nactions = [\"reboot\"]\n");
  EXPECT_NE(s.message().find("reboot"), std::string::npos) << s.message();
}

TEST(Rules, BadSeverityAndDuration) {
  EXPECT_NE(ParseError("[[rule]]\nname = \"a\"\ndetector = \"spike\"\nseverity = \"meh\"\n")
                .message()
                .find("severity"),
            std::string::npos);
  EXPECT_NE(ParseError("[[rule]]\nname = \"a\"\ndetector = \"spike\"\nfor = \"soon\"\n")
                .message()
                .find("for"),
            std::string::npos);
}

TEST(Rules, LoadFile) {
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.Join("r.toml"), "[builtin]\nenabled = false\n");
  auto rs = LoadRulesFile(dir.Join("r.toml"));
  ASSERT_TRUE(rs.ok()) << rs.status().ToString();
  EXPECT_FALSE(rs->builtin.enabled);
  EXPECT_EQ(rs->source, dir.Join("r.toml"));
  EXPECT_EQ(LoadRulesFile(dir.Join("missing.toml")).status().code(), StatusCode::kNotFound);
}

TEST(Rules, DistributedSectionSetsTheBounds) {
  auto r = ParseRules(
      "[distributed]\nhang_after = \"5s\"\nhang_factor = 8\nstraggler_margin = 0.3\n"
      "straggler_window = 20\nstraggler_for_steps = 40\ndivergence_z = 12\n",
      "r.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const analysis::DistributedParams& d = r->builtin.distributed;
  EXPECT_EQ(d.hang_after_ms, 5000);
  EXPECT_DOUBLE_EQ(d.hang_factor, 8);
  EXPECT_DOUBLE_EQ(d.straggler_margin, 0.3);
  EXPECT_EQ(d.straggler_window, 20);
  EXPECT_EQ(d.straggler_for_steps, 40);
  EXPECT_DOUBLE_EQ(d.divergence_z, 12);
}

TEST(Rules, DistributedSectionRejectsBadValues) {
  for (const char* text :
       {"[distributed]\nhang_after = \"0.5s\"\n", "[distributed]\nhang_after = 5\n",
        "[distributed]\nstraggler_window = 2\n", "[distributed]\nstraggler_margin = -1\n",
        "[distributed]\nbogus = 1\n", "distributed = 3\n"}) {
    auto r = ParseRules(text, "r.toml");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("distributed"), std::string::npos) << r.status().ToString();
  }
}

TEST(Rules, RunLevelKindsCanBeDisabledButNotWatched) {
  auto r = ParseRules("[builtin]\ndisable = [\"straggler\", \"rank_divergence\"]\n", "r.toml");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto bad =
      ParseRules("[[rule]]\nname = \"x\"\nmetric = \"*\"\ndetector = \"rank_hang\"\n", "r.toml");
  EXPECT_FALSE(bad.ok());
}

}  // namespace
}  // namespace vigil::alerting
