// The `vigil` binary: one executable, one subcommand per file in src/cli/.
#include "cli/commands.h"

int main(int argc, char** argv) {
  return vigil::cli::Main(argc, argv);
}
