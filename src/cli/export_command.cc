// `vigil export RUN`: every scalar metric of a run as one wide CSV.
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/server_connection.h"

namespace vigil::cli {
namespace {

struct ExportFlags {
  ServerFlags server;
  std::string run;
  std::string format = "csv";
  std::string output;
};

int RunExport(const ExportFlags& f) {
  if (f.format != "csv") {
    fmt::print(stderr, "vigil export: --format {} is not supported (csv)\n", f.format);
    return 2;
  }
  client::HttpClient http = Connect(f.server);
  auto body =
      Fetch(&http, "GET", fmt::format("/api/v1/runs/{}/export?format=csv", PercentEncode(f.run)));
  if (!body.ok()) {
    fmt::print(stderr, "vigil export: {}\n", body.status().message());
    return 1;
  }
  if (f.output.empty() || f.output == "-") {
    std::fwrite(body->data(), 1, body->size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
  }
  std::ofstream out(f.output, std::ios::binary | std::ios::trunc);
  out << *body;
  out.close();
  if (!out) {
    fmt::print(stderr, "vigil export: cannot write {}\n", f.output);
    return 1;
  }
  fmt::print(stderr, "vigil export: wrote {} bytes to {}\n", body->size(), f.output);
  return 0;
}

}  // namespace

void AddExportCommand(CLI::App* app, int* exit_code) {
  auto f = std::make_shared<ExportFlags>();
  CLI::App* cmd = app->add_subcommand("export", "Export a run's metrics as CSV");
  cmd->add_option("run", f->run, "Run id")->required();
  cmd->add_option("--format", f->format, "Output format (csv)");
  cmd->add_option("-o,--output", f->output, "File to write (default: standard output)");
  AddServerFlags(cmd, &f->server);
  cmd->callback([f, exit_code] { *exit_code = RunExport(*f); });
}

}  // namespace vigil::cli
