// `vigil runs`: the runs of a server as a table (or JSON).
#include <cstdio>
#include <ctime>

#include <fmt/format.h>
#include <simdjson.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/server_connection.h"

namespace vigil::cli {
namespace {

struct RunsFlags {
  ServerFlags server;
  std::string project, state, tag;
  int64_t limit = 50;
  bool json = false;
};

std::string FormatTime(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M", &tm);
  return buf;
}

std::string FormatDuration(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

// Absent or mistyped fields read as empty: the table shows what the server sent.
std::string_view StringField(simdjson::dom::element obj, const char* key) {
  std::string_view v;
  return obj[key].get_string().get(v) == simdjson::SUCCESS ? v : std::string_view();
}

int64_t IntField(simdjson::dom::element obj, const char* key) {
  int64_t v = 0;
  return obj[key].get_int64().get(v) == simdjson::SUCCESS ? v : 0;
}

int RunRuns(const RunsFlags& f) {
  client::HttpClient http = Connect(f.server);
  std::string target = fmt::format("/api/v1/runs?limit={}", f.limit);
  if (!f.project.empty()) target += "&project=" + PercentEncode(f.project);
  if (!f.state.empty()) target += "&state=" + PercentEncode(f.state);
  if (!f.tag.empty()) target += "&tag=" + PercentEncode(f.tag);
  auto body = Fetch(&http, "GET", target);
  if (!body.ok()) {
    fmt::print(stderr, "vigil runs: {}\n", body.status().message());
    return 1;
  }
  if (f.json) {
    fmt::print("{}\n", *body);
    return 0;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(*body).get(doc)) {
    fmt::print(stderr, "vigil runs: the server's answer is not JSON\n");
    return 1;
  }
  fmt::print("{:<10} {:<16} {:<24} {:<9} {:<16} {:>9}\n", "ID", "PROJECT", "NAME", "STATE",
             "CREATED", "DURATION");
  int64_t total = IntField(doc, "total");
  size_t shown = 0;
  for (simdjson::dom::element r : doc["runs"].get_array()) {
    std::string_view id = StringField(r, "id"), project = StringField(r, "project"),
                     name = StringField(r, "name"), state = StringField(r, "state");
    int64_t created = IntField(r, "created_ms"), updated = IntField(r, "updated_ms"),
            heartbeat = IntField(r, "heartbeat_ms"), finished = IntField(r, "finished_ms");
    int64_t end = finished ? finished : std::max(heartbeat, updated);
    std::string shown_name(name.substr(0, 24));
    fmt::print("{:<10} {:<16} {:<24} {:<9} {:<16} {:>9}\n", id, project.substr(0, 16), shown_name,
               state, FormatTime(created), FormatDuration(std::max<int64_t>(0, end - created)));
    ++shown;
  }
  if (static_cast<int64_t>(shown) < total) {
    fmt::print("({} of {} runs; --limit to see more)\n", shown, total);
  }
  return 0;
}

}  // namespace

void AddRunsCommand(CLI::App* app, int* exit_code) {
  auto f = std::make_shared<RunsFlags>();
  CLI::App* cmd = app->add_subcommand("runs", "List runs");
  AddServerFlags(cmd, &f->server);
  cmd->add_option("--project", f->project, "Only this project");
  cmd->add_option("--state", f->state,
                  "Only runs in this state (running, finished, failed, crashed)");
  cmd->add_option("--tag", f->tag, "Only runs with this tag");
  cmd->add_option("--limit", f->limit, "At most this many runs (default 50)");
  cmd->add_flag("--json", f->json, "Print the server's JSON answer");
  cmd->callback([f, exit_code] { *exit_code = RunRuns(*f); });
}

}  // namespace vigil::cli
