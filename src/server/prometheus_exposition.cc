#include "server/prometheus_exposition.h"

#include <algorithm>
#include <iterator>
#include <map>
#include <set>

#include <fmt/format.h>

namespace vigil::server {

std::string RunMetricFamilyName(std::string_view metric) {
  std::string out = "vigil_run_";
  for (char c : metric) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == ':';
    out.push_back(ok ? c : '_');
  }
  return out;
}

namespace {

void Gauge(std::string* out, std::string_view name, std::string_view help, double v) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} gauge\n{} ", name, help, name,
                 name);
  AppendPrometheusValue(out, v);
  out->push_back('\n');
}

void Counter(std::string* out, std::string_view name, std::string_view help, uint64_t v) {
  fmt::format_to(std::back_inserter(*out), "# HELP {} {}\n# TYPE {} counter\n{} {}\n", name, help,
                 name, name, v);
}

}  // namespace

Status RenderPrometheus(const storage::Engine& engine, storage::MetadataStore* metadata,
                        const ServerMetrics& metrics, std::string* out) {
  metrics.Render(out);
  out->append(
      "# HELP vigil_ingest_lag_seconds Per acknowledged /log batch: commit time minus the newest "
      "point time in it.\n# TYPE vigil_ingest_lag_seconds histogram\n");
  metrics.ingest_lag.Render(out, "vigil_ingest_lag_seconds", "");
  storage::EngineStats st = engine.stats();
  Gauge(out, "vigil_storage_series", "Series stored.", static_cast<double>(st.series));
  Gauge(out, "vigil_storage_head_points", "Points in memory, not yet in block files.",
        static_cast<double>(st.head_points));
  Gauge(out, "vigil_storage_head_bytes", "Bytes held by the in-memory head.",
        static_cast<double>(st.head_bytes));
  Gauge(out, "vigil_storage_blocks", "Block files.", static_cast<double>(st.blocks));
  Gauge(out, "vigil_storage_block_bytes", "Bytes in block files.",
        static_cast<double>(st.block_bytes));
  Gauge(out, "vigil_storage_block_points", "Points in block files.",
        static_cast<double>(st.block_points));
  Gauge(out, "vigil_storage_wal_bytes", "Bytes in write-ahead log segments.",
        static_cast<double>(st.wal_bytes));
  Gauge(out, "vigil_storage_pending_points", "Points queued for the next group commit.",
        static_cast<double>(st.pending_points));
  Counter(out, "vigil_storage_appended_points_total", "Points committed since start.",
          st.points_appended);
  Counter(out, "vigil_storage_group_commits_total", "WAL group commits since start.",
          st.group_commits);
  Counter(out, "vigil_storage_fsyncs_total", "WAL fsyncs since start.", st.fsyncs);
  Counter(out, "vigil_storage_flushes_total", "Heads written to block files since start.",
          st.flushes);
  Counter(out, "vigil_storage_compactions_total", "Block merges since start.", st.compactions);

  // Runs by state, and the running ones' latest values.
  storage::RunQuery q;
  q.limit = 10'000;
  std::map<std::string, int64_t> by_state = {
      {"running", 0}, {"finished", 0}, {"failed", 0}, {"crashed", 0}};
  for (auto& [state, n] : by_state) {
    q.state = state;
    q.limit = 1;
    VIGIL_ASSIGN_OR_RETURN(storage::RunPage page, metadata->ListRuns(q));
    n = page.total;
  }
  out->append("# HELP vigil_runs Runs by state.\n# TYPE vigil_runs gauge\n");
  for (const auto& [state, n] : by_state) {
    fmt::format_to(std::back_inserter(*out), "vigil_runs{{state=\"{}\"}} {}\n", state, n);
  }

  // family -> lines; families are emitted whole, each once.
  std::map<std::string, std::vector<std::string>> families;
  std::map<std::string, std::string> help;
  std::set<std::string> seen;  // family + labels, to skip clashes
  q.state = "running";
  q.limit = 10'000;
  for (int64_t offset = 0;; offset += q.limit) {
    q.offset = offset;
    VIGIL_ASSIGN_OR_RETURN(storage::RunPage page, metadata->ListRuns(q));
    for (const storage::RunRecord& run : page.runs) {
      auto series = engine.ListSeries(run.id);
      std::sort(series.begin(), series.end(), [](const auto& a, const auto& b) {
        return std::tie(a.key.metric, a.key.labels) < std::tie(b.key.metric, b.key.labels);
      });
      for (const storage::SeriesInfo& s : series) {
        if (s.stats.count == 0) continue;
        std::string family = RunMetricFamilyName(s.key.metric);
        std::string labels = "project=";
        AppendPrometheusLabelValue(&labels, run.project);
        labels += ",run=";
        AppendPrometheusLabelValue(&labels, run.id);
        for (const Label& l : s.key.labels) {
          bool clash = l.name == "project" || l.name == "run";
          labels += clash ? ",exported_" : ",";
          labels += l.name;
          labels += '=';
          AppendPrometheusLabelValue(&labels, l.value);
        }
        if (!seen.insert(family + "{" + labels + "}").second) continue;
        std::string line = family + "{" + labels + "} ";
        AppendPrometheusValue(&line, s.stats.last_value);
        families[family].push_back(std::move(line));
        help.emplace(family, s.key.metric);
      }
    }
    if (static_cast<int64_t>(page.runs.size()) < q.limit) break;
  }
  for (const auto& [family, lines] : families) {
    fmt::format_to(std::back_inserter(*out),
                   "# HELP {} Latest value of the run metric {}.\n# TYPE {} gauge\n", family,
                   help[family], family);
    for (const std::string& l : lines) out->append(l).push_back('\n');
  }
  return Status::OK();
}

}  // namespace vigil::server
