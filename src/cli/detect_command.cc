// `vigil detect --input FILE.csv [--detector auto|NAME] [--param k=v,...]
// [--metric NAME] [-o FILE] [--findings]`: offline anomaly detection over a
// CSV of step,value or timestamp,value rows, with the server's detector
// code (analysis/detect_csv.h). Writes the rows plus score,flag columns;
// --findings also prints each firing/resolve message to standard error.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "analysis/detect_csv.h"
#include "cli/commands.h"

namespace vigil::cli {
namespace {

struct DetectFlags {
  std::string input;
  std::string detector = "auto";
  std::string params;
  std::string metric;
  std::string output;
  bool findings = false;
};

// The metric name from the file name when --metric is absent:
// "runs/train_loss.csv" -> "train_loss".
std::string MetricFromPath(const std::string& path) {
  size_t slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot != std::string::npos && dot > 0) base.resize(dot);
  return base.empty() ? "value" : base;
}

int RunDetect(const DetectFlags& f) {
  std::string text;
  if (f.input == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    text = ss.str();
  } else {
    std::ifstream in(f.input, std::ios::binary);
    if (!in) {
      fmt::print(stderr, "vigil detect: cannot read {}\n", f.input);
      return 1;
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  analysis::DetectCsvOptions opt;
  opt.detector = f.detector;
  opt.metric = !f.metric.empty() ? f.metric : f.input == "-" ? "value" : MetricFromPath(f.input);
  auto params = analysis::DetectorParams::Parse(f.params);
  if (!params.ok()) {
    fmt::print(stderr, "vigil detect: --param: {}\n", params.status().message());
    return 2;
  }
  if (f.detector == "auto" && !params->items().empty()) {
    fmt::print(stderr, "vigil detect: --param needs --detector NAME\n");
    return 2;
  }
  opt.params = *params;
  auto r = analysis::DetectCsv(text, opt);
  if (!r.ok()) {
    fmt::print(stderr, "vigil detect: {}: {}\n", f.input, r.status().message());
    return r.status().IsInvalidArgument() ? 2 : 1;
  }
  if (f.findings) {
    for (const auto& finding : r->findings) {
      fmt::print(stderr, "{} {} [{}] {}\n",
                 finding.transition == analysis::Transition::kFiring ? "FIRING " : "RESOLVED",
                 analysis::FindingKindName(finding.kind), analysis::SeverityName(finding.severity),
                 finding.message);
    }
  }
  if (f.output.empty() || f.output == "-") {
    std::fwrite(r->csv.data(), 1, r->csv.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  std::ofstream out(f.output, std::ios::binary | std::ios::trunc);
  out << r->csv;
  out.close();
  if (!out) {
    fmt::print(stderr, "vigil detect: cannot write {}\n", f.output);
    return 1;
  }
  size_t firings = 0;
  for (const auto& finding : r->findings) {
    firings += finding.transition == analysis::Transition::kFiring;
  }
  fmt::print(stderr, "vigil detect: {} rows, {} findings ({}) -> {}\n", r->rows, firings,
             fmt::join(r->detectors, ", "), f.output);
  return 0;
}

}  // namespace

void AddDetectCommand(CLI::App* app, int* exit_code) {
  auto f = std::make_shared<DetectFlags>();
  CLI::App* cmd = app->add_subcommand(
      "detect", "Score a CSV of step,value or timestamp,value rows with vigil's detectors");
  cmd->add_option("-i,--input", f->input, "CSV file (- for standard input)")->required();
  cmd->add_option("-d,--detector", f->detector,
                  "auto (defaults for --metric) or one detector: non_finite, spike, divergence, "
                  "plateau, grad_explosion, throughput_drop, gpu_idle, memory_growth, "
                  "throttling, hw_error, threshold, absence");
  cmd->add_option("-p,--param", f->params, "Detector parameters, k=v,k=v (with --detector)");
  cmd->add_option("-m,--metric", f->metric,
                  "Metric name for auto defaults and messages (default: the file name)");
  cmd->add_option("-o,--output", f->output, "File to write (default: standard output)");
  cmd->add_flag("--findings", f->findings, "Print each firing and resolve to standard error");
  cmd->callback([f, exit_code] { *exit_code = RunDetect(*f); });
}

}  // namespace vigil::cli
