#include "cli/server_connection.h"

#include <cstdlib>

#include <fmt/format.h>
#include <simdjson.h>
#include <CLI/CLI.hpp>

namespace vigil::cli {

void AddServerFlags(CLI::App* cmd, ServerFlags* flags) {
  cmd->add_option("--server", flags->server,
                  "Server URL (default $VIGIL_SERVER, else http://127.0.0.1:7070)");
  cmd->add_option("--token", flags->token, "API token (default $VIGIL_TOKEN)");
}

client::HttpClient Connect(const ServerFlags& flags) {
  std::string url = flags.server;
  if (url.empty()) {
    const char* env = std::getenv("VIGIL_SERVER");
    url = env && *env ? env : "http://127.0.0.1:7070";
  }
  client::HttpClientOptions options;
  options.bearer_token = flags.token;
  if (options.bearer_token.empty()) {
    if (const char* env = std::getenv("VIGIL_TOKEN")) options.bearer_token = env;
  }
  options.user_agent = "vigil-cli/0.1";
  return client::HttpClient(url, options);
}

Result<std::string> Fetch(client::HttpClient* http, std::string_view method,
                          std::string_view target, std::string body) {
  VIGIL_ASSIGN_OR_RETURN(client::HttpClientResponse r,
                         http->Request(method, target, std::move(body)));
  if (r.status >= 200 && r.status < 300) return std::move(r.body);
  std::string message = fmt::format("HTTP {}", r.status);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view m;
  if (!parser.parse(r.body).get(doc) && !doc["error"]["message"].get_string().get(m)) {
    message = std::string(m);
  }
  StatusCode code = r.status == 404   ? StatusCode::kNotFound
                    : r.status == 401 ? StatusCode::kUnauthenticated
                    : r.status == 403 ? StatusCode::kPermissionDenied
                    : r.status < 500  ? StatusCode::kInvalidArgument
                                      : StatusCode::kUnavailable;
  return Status(code, std::move(message));
}

std::string PercentEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace vigil::cli
