// How the client subcommands (runs, export, sync, report) reach a server:
// --server URL, else $VIGIL_SERVER, else http://127.0.0.1:7070; the token
// from --token, else $VIGIL_TOKEN. Also the one place that turns an HTTP
// error answer into a message for the terminal.
#pragma once

#include <string>

#include "client/http_client.h"
#include "core/result.h"

namespace CLI {
class App;
}

namespace vigil::cli {

struct ServerFlags {
  std::string server;
  std::string token;
};

// Adds --server and --token to a subcommand.
void AddServerFlags(CLI::App* cmd, ServerFlags* flags);

client::HttpClient Connect(const ServerFlags& flags);

// The response body for a 2xx answer; otherwise an error whose message is
// the server's {"error": {"message"}} (or the status line).
Result<std::string> Fetch(client::HttpClient* http, std::string_view method,
                          std::string_view target, std::string body = {});

// `s` with every byte outside [A-Za-z0-9-._~] as %XX, for query values and
// path segments.
std::string PercentEncode(std::string_view s);

}  // namespace vigil::cli
