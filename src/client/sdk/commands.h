// Commands piggybacked on the server's log and heartbeat answers
// ({"commands": [{"id", "type", "args"}]}), and the acknowledgement body.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <vigil/vigil.h>

#include "client/sdk/json_value.h"

namespace vigil::client {

// The commands of an answer; elements without a string "id" and "type" are
// skipped. An answer without "commands" has none.
std::vector<Command> ParseCommands(const JsonValue& answer);

// {"status": "acknowledged"|"done"|"failed", "message": "..."}
std::string AckBody(CommandStatus status, std::string_view message);

}  // namespace vigil::client
