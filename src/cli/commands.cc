#include "cli/commands.h"

#include <CLI/CLI.hpp>

namespace vigil::cli {

int Main(int argc, char** argv) {
  CLI::App app{"vigil: observability for AI model training and inference"};
  app.require_subcommand(1);
  int exit_code = 0;
  AddServeCommand(&app, &exit_code);
  AddRunsCommand(&app, &exit_code);
  AddExportCommand(&app, &exit_code);
  AddReportCommand(&app, &exit_code);
  AddAgentCommand(&app, &exit_code);
  AddSyncCommand(&app, &exit_code);
  AddDetectCommand(&app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}

}  // namespace vigil::cli
