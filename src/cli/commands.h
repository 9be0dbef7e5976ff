// The `vigil` command line: one binary, one subcommand per file in src/cli/
// (serve_command.cc, runs_command.cc, ...). Main parses the arguments with
// CLI11 and returns the process exit code: 0 success, 1 failure, 2 usage.
#pragma once

namespace CLI {
class App;
}

namespace vigil::cli {

int Main(int argc, char** argv);

// Each adds its subcommand to `app`; the subcommand's callback stores its
// exit code in *exit_code.
void AddServeCommand(CLI::App* app, int* exit_code);
void AddRunsCommand(CLI::App* app, int* exit_code);
void AddExportCommand(CLI::App* app, int* exit_code);
void AddReportCommand(CLI::App* app, int* exit_code);  // report_command.cc
void AddAgentCommand(CLI::App* app, int* exit_code);   // agent_command.cc
void AddSyncCommand(CLI::App* app, int* exit_code);    // sync_command.cc
void AddDetectCommand(CLI::App* app, int* exit_code);  // detect_command.cc

}  // namespace vigil::cli
