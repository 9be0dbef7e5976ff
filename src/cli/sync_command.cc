// `vigil sync DIR`: uploads offline run directories (client/sdk/
// run_dir_format.h) written by the Python or C++ SDK in offline mode, or
// left in the spool by an SDK that could not reach the server.
//
// DIR is one run directory (it holds run.json) or a root whose immediate
// subdirectories are run directories. For each run: validate every line of
// batches.jsonl first (bad lines are reported as file:line and skipped; a
// torn last line, from a crash mid-write, is ignored with a warning), then
// POST run.json (create or resume), POST each batch to /log, PATCH
// finish.json, and write the `synced` marker. The server drops exact
// duplicate points, so syncing twice stores nothing twice.
//
// Progress: a bar on stderr when it is a terminal (points, rate, ETA); one
// summary line at the end either way. Exit code 0 when every run and line
// was uploaded, 1 otherwise, 2 for usage errors.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <simdjson.h>
#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/server_connection.h"
#include "client/sdk/run_dir.h"
#include "client/sdk/run_dir_format.h"
#include "core/clock.h"

namespace vigil::cli {
namespace {

namespace fs = std::filesystem;
using client::BatchFileReader;

struct SyncFlags {
  ServerFlags server;
  std::string dir;
  bool quiet = false;
};

// A batch line that passed validation.
struct GoodLine {
  size_t line_number = 0;
  uint64_t offset = 0;  // where the line starts in batches.jsonl
  size_t points = 0;
};

struct RunDir {
  std::string path;
  std::string id;
  std::string run_json;
  std::vector<GoodLine> lines;
  size_t points = 0;
  bool ok = true;  // run.json readable and valid
};

struct Totals {
  size_t runs_ok = 0, runs_failed = 0;
  size_t points_total = 0, points_done = 0, accepted = 0, duplicates = 0, rejected = 0;
  size_t bad_lines = 0;
};

// Counts the points of one log body; an error names what is wrong.
Result<size_t> CountPoints(simdjson::dom::parser& parser, const std::string& line) {
  simdjson::dom::element doc;
  if (auto err = parser.parse(line).get(doc)) {
    return Status::InvalidArgument(fmt::format("not JSON ({})", simdjson::error_message(err)));
  }
  simdjson::dom::object obj;
  if (doc.get_object().get(obj)) return Status::InvalidArgument("not a JSON object");
  simdjson::dom::array series, rows;
  if (!obj["series"].get_array().get(series)) {
    size_t n = 0, i = 0;
    for (simdjson::dom::element s : series) {
      std::string_view metric;
      simdjson::dom::array steps, values;
      if (s["metric"].get_string().get(metric) || s["steps"].get_array().get(steps) ||
          s["values"].get_array().get(values)) {
        return Status::InvalidArgument(
            fmt::format("series[{}]: needs \"metric\", \"steps\" and \"values\"", i));
      }
      if (steps.size() != values.size()) {
        return Status::InvalidArgument(
            fmt::format("series[{}]: {} steps but {} values", i, steps.size(), values.size()));
      }
      n += values.size();
      ++i;
    }
    return n;
  }
  if (!obj["rows"].get_array().get(rows)) {
    size_t n = 0;
    for (simdjson::dom::element r : rows) {
      simdjson::dom::object values;
      if (r["values"].get_object().get(values)) {
        return Status::InvalidArgument("rows: each row needs a \"values\" object");
      }
      n += values.size();
    }
    return n;
  }
  return Status::InvalidArgument("neither \"series\" nor \"rows\"");
}

// Reads and validates one run directory; problems go to stderr.
RunDir Scan(const std::string& path, simdjson::dom::parser& parser, Totals* totals) {
  RunDir run;
  run.path = path;
  std::string run_json_path = path + "/" + client::kRunJsonFile;
  auto text = client::ReadWholeFile(run_json_path);
  simdjson::dom::element doc;
  std::string_view id;
  if (!text.ok()) {
    fmt::print(stderr, "vigil sync: {}\n", text.status().message());
    run.ok = false;
    return run;
  }
  run.run_json = *text;
  if (parser.parse(run.run_json).get(doc) || doc["id"].get_string().get(id) ||
      !doc["project"].is_string()) {
    fmt::print(stderr, "vigil sync: {}: not a JSON object with \"id\" and \"project\"\n",
               run_json_path);
    run.ok = false;
    return run;
  }
  run.id = std::string(id);
  std::string batches = path + "/" + client::kBatchesFile;
  auto reader = BatchFileReader::Open(batches);
  if (!reader.ok()) {
    if (!reader.status().IsNotFound()) {
      fmt::print(stderr, "vigil sync: {}\n", reader.status().message());
      run.ok = false;
    }
    return run;  // a run without points
  }
  std::string line;
  while (true) {
    uint64_t start = (*reader)->offset();
    auto kind = (*reader)->Next(&line);
    if (!kind.ok()) {
      fmt::print(stderr, "vigil sync: {}\n", kind.status().message());
      run.ok = false;
      break;
    }
    if (*kind == BatchFileReader::Line::kEnd) break;
    size_t n = (*reader)->line_number();
    if (*kind == BatchFileReader::Line::kTorn) {
      fmt::print(stderr, "vigil sync: {}:{}: warning: torn last line (no newline), ignored\n",
                 batches, n);
      break;
    }
    if (line.empty()) continue;
    auto points = CountPoints(parser, line);
    if (!points.ok()) {
      fmt::print(stderr, "vigil sync: {}:{}: {}, skipped\n", batches, n, points.status().message());
      ++totals->bad_lines;
      continue;
    }
    run.lines.push_back({n, start, *points});
    run.points += *points;
  }
  return run;
}

class Progress {
 public:
  explicit Progress(bool enabled) : enabled_(enabled), start_(MonotonicNanos()) {}
  void Update(const Totals& t, bool force = false) {
    if (!enabled_) return;
    int64_t now = MonotonicNanos();
    if (!force && now - last_ < 100'000'000) return;
    last_ = now;
    double secs = std::max(1e-9, (now - start_) / 1e9);
    double rate = t.points_done / secs;
    double frac = t.points_total ? static_cast<double>(t.points_done) / t.points_total : 1.0;
    int width = 30, filled = static_cast<int>(frac * width);
    std::string bar(filled, '=');
    if (filled < width) bar += '>' + std::string(width - filled - 1, ' ');
    std::string eta = rate > 0 && t.points_done < t.points_total
                          ? fmt::format("{:.0f}s", (t.points_total - t.points_done) / rate)
                          : "-";
    fmt::print(stderr, "\r[{}] {:3.0f}% {}/{} points {:.0f} pts/s ETA {}   ", bar, frac * 100,
               t.points_done, t.points_total, rate, eta);
    std::fflush(stderr);
  }
  void Done(const Totals& t) {
    if (!enabled_) return;
    Update(t, true);
    fmt::print(stderr, "\n");
  }
  double Seconds() const { return (MonotonicNanos() - start_) / 1e9; }

 private:
  bool enabled_;
  int64_t start_, last_ = 0;
};

// POSTs (or PATCHes) with retries of transient failures: transport errors,
// 408, 429 and 5xx: 5 attempts, backing off from 200 ms (about 6 s in all).
Result<std::string> Send(client::HttpClient* http, std::string_view method,
                         const std::string& target, const std::string& body) {
  int delay_ms = 200;
  for (int attempt = 0;; ++attempt) {
    auto r = http->Request(method, target, body);
    bool retry = !r.ok() || r->status == 408 || r->status == 429 || r->status >= 500;
    if (!retry || attempt >= 4) {
      if (!r.ok()) return r.status();
      if (r->status >= 200 && r->status < 300) return std::move(r->body);
      std::string message = fmt::format("HTTP {}", r->status);
      simdjson::dom::parser p;
      simdjson::dom::element doc;
      std::string_view m;
      if (!p.parse(r->body).get(doc) && !doc["error"]["message"].get_string().get(m)) {
        message = fmt::format("HTTP {}: {}", r->status, m);
      }
      return Status(r->status < 500 ? StatusCode::kInvalidArgument : StatusCode::kUnavailable,
                    message);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    delay_ms = std::min(delay_ms * 2, 5000);
  }
}

bool Upload(client::HttpClient* http, const RunDir& run, simdjson::dom::parser& parser,
            Totals* totals, Progress* progress) {
  auto created = Send(http, "POST", "/api/v1/runs", run.run_json);
  if (!created.ok()) {
    fmt::print(stderr, "\nvigil sync: {}: cannot create run {}: {}\n", run.path, run.id,
               created.status().message());
    totals->points_done += run.points;
    return false;
  }
  std::string batches = run.path + "/" + client::kBatchesFile;
  bool ok = true;
  if (!run.lines.empty()) {
    auto reader = BatchFileReader::Open(batches);
    if (!reader.ok()) {
      fmt::print(stderr, "\nvigil sync: {}\n", reader.status().message());
      return false;
    }
    std::string line;
    size_t next = 0;
    std::string target = fmt::format("/api/v1/runs/{}/log", PercentEncode(run.id));
    while (next < run.lines.size()) {
      auto kind = (*reader)->Next(&line);
      if (!kind.ok() || *kind != BatchFileReader::Line::kComplete) break;
      if ((*reader)->line_number() != run.lines[next].line_number) continue;
      const GoodLine& g = run.lines[next++];
      auto answer = Send(http, "POST", target, line);
      totals->points_done += g.points;
      if (!answer.ok()) {
        fmt::print(stderr, "\nvigil sync: {}:{}: {}\n", batches, g.line_number,
                   answer.status().message());
        totals->rejected += g.points;
        ok = false;
        if (answer.status().code() == StatusCode::kUnavailable) break;  // server gone
        continue;
      }
      simdjson::dom::element doc;
      int64_t acc = 0, dup = 0;
      if (!parser.parse(*answer).get(doc)) {
        if (doc["accepted"].get_int64().get(acc)) acc = 0;
        if (doc["duplicates"].get_int64().get(dup)) dup = 0;
      }
      totals->accepted += static_cast<size_t>(acc);
      totals->duplicates += static_cast<size_t>(dup);
      progress->Update(*totals);
    }
  }
  auto finish = client::ReadWholeFile(run.path + "/" + client::kFinishJsonFile);
  if (finish.ok()) {
    auto patched =
        Send(http, "PATCH", fmt::format("/api/v1/runs/{}", PercentEncode(run.id)), *finish);
    if (!patched.ok()) {
      fmt::print(stderr, "\nvigil sync: {}/{}: {}\n", run.path, client::kFinishJsonFile,
                 patched.status().message());
      ok = false;
    }
  } else if (!finish.status().IsNotFound()) {
    fmt::print(stderr, "\nvigil sync: {}\n", finish.status().message());
    ok = false;
  }
  if (ok) {
    int64_t now = UnixMillis();
    std::time_t t = static_cast<std::time_t>(now / 1000);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char iso[32];
    std::strftime(iso, sizeof(iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
    Status s = client::WriteFileAtomically(run.path + "/" + client::kSyncedFile,
                                           fmt::format("{} {}\n", now, iso));
    if (!s.ok()) fmt::print(stderr, "\nvigil sync: {}\n", s.message());
  }
  return ok;
}

int RunSync(const SyncFlags& f) {
  std::error_code ec;
  if (!fs::is_directory(f.dir, ec)) {
    fmt::print(stderr, "vigil sync: {} is not a directory\n", f.dir);
    return 1;
  }
  std::vector<std::string> dirs;
  if (fs::exists(fs::path(f.dir) / client::kRunJsonFile, ec)) {
    dirs.push_back(f.dir);
  } else {
    for (const auto& e : fs::directory_iterator(f.dir, ec)) {
      if (e.is_directory(ec) && fs::exists(e.path() / client::kRunJsonFile, ec)) {
        dirs.push_back(e.path().string());
      }
    }
    std::sort(dirs.begin(), dirs.end());
  }
  if (dirs.empty()) {
    fmt::print(stderr, "vigil sync: no run directory (with {}) in {}\n", client::kRunJsonFile,
               f.dir);
    return 1;
  }
  simdjson::dom::parser parser;
  Totals totals;
  std::vector<RunDir> runs;
  for (const auto& d : dirs) {
    runs.push_back(Scan(d, parser, &totals));
    totals.points_total += runs.back().points;
  }
  client::HttpClient http = Connect(f.server);
  Progress progress(!f.quiet && ::isatty(STDERR_FILENO));
  for (const RunDir& run : runs) {
    bool ok = run.ok && Upload(&http, run, parser, &totals, &progress);
    ok ? ++totals.runs_ok : ++totals.runs_failed;
  }
  progress.Done(totals);
  double secs = progress.Seconds();
  fmt::print(stderr,
             "vigil sync: {} run{} synced, {} failed; {} points ({} new, {} already there), {} "
             "refused, {} bad lines; {:.1f}s\n",
             totals.runs_ok, totals.runs_ok == 1 ? "" : "s", totals.runs_failed,
             totals.accepted + totals.duplicates, totals.accepted, totals.duplicates,
             totals.rejected, totals.bad_lines, secs);
  return totals.runs_failed == 0 && totals.bad_lines == 0 && totals.rejected == 0 ? 0 : 1;
}

}  // namespace

void AddSyncCommand(CLI::App* app, int* exit_code) {
  auto f = std::make_shared<SyncFlags>();
  CLI::App* cmd =
      app->add_subcommand("sync", "Upload offline run directories (one run, or a root of many)");
  cmd->add_option("dir", f->dir, "A run directory (with run.json) or a directory of them")
      ->required();
  cmd->add_flag("-q,--quiet", f->quiet, "No progress bar");
  AddServerFlags(cmd, &f->server);
  cmd->callback([f, exit_code] { *exit_code = RunSync(*f); });
}

}  // namespace vigil::cli
