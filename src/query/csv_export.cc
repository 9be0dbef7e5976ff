#include "query/csv_export.h"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <queue>

#include <fmt/format.h>

namespace vigil::query {

void AppendCsvField(std::string* out, std::string_view field) {
  if (field.find_first_of(",\"\n\r") == std::string_view::npos) {
    out->append(field);
    return;
  }
  out->push_back('"');
  for (char c : field) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

void AppendCsvValue(std::string* out, double v) {
  if (std::isnan(v)) {
    out->append("NaN");
  } else if (std::isinf(v)) {
    out->append(v > 0 ? "Infinity" : "-Infinity");
  } else {
    fmt::format_to(std::back_inserter(*out), "{}", v);
  }
}

void SeriesToCsv(const SeriesColumns& p, std::string* out) {
  out->append("step,time,value\n");
  for (size_t i = 0; i < p.size(); ++i) {
    fmt::format_to(std::back_inserter(*out), "{},{},", p.steps[i], p.times[i]);
    AppendCsvValue(out, p.values[i]);
    out->push_back('\n');
  }
}

Status ExportRunCsv(const storage::Engine& engine, std::string_view run, std::string* out) {
  std::vector<storage::SeriesInfo> series = engine.ListSeries(run);
  std::sort(series.begin(), series.end(), [](const auto& a, const auto& b) {
    return std::tie(a.key.metric, a.key.labels) < std::tie(b.key.metric, b.key.labels);
  });
  std::vector<SeriesColumns> data(series.size());
  for (size_t i = 0; i < series.size(); ++i) {
    VIGIL_RETURN_IF_ERROR(engine.ReadSeries(series[i].id, storage::ReadRange{}, &data[i]));
  }
  out->append("step,time");
  for (const auto& s : series) {
    out->push_back(',');
    AppendCsvField(out, FormatSeriesName(s.key.metric, s.key.labels));
  }
  out->push_back('\n');

  // Merge by step: each series is sorted by step; pos[i] is its cursor.
  std::vector<size_t> pos(series.size(), 0);
  std::vector<double> row(series.size());
  std::vector<bool> has(series.size());
  using Entry = std::pair<int64_t, size_t>;  // (next step, series index)
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> heap;
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i].size() > 0) heap.push({data[i].steps[0], i});
  }
  while (!heap.empty()) {
    const int64_t step = heap.top().first;
    int64_t time = std::numeric_limits<int64_t>::max();
    std::fill(has.begin(), has.end(), false);
    while (!heap.empty() && heap.top().first == step) {
      size_t i = heap.top().second;
      heap.pop();
      const SeriesColumns& d = data[i];
      while (pos[i] < d.size() && d.steps[pos[i]] == step) {
        time = std::min(time, d.times[pos[i]]);
        row[i] = d.values[pos[i]];  // the last point at this step wins
        has[i] = true;
        ++pos[i];
      }
      if (pos[i] < d.size()) heap.push({d.steps[pos[i]], i});
    }
    fmt::format_to(std::back_inserter(*out), "{},{}", step, time);
    for (size_t i = 0; i < row.size(); ++i) {
      out->push_back(',');
      if (has[i]) AppendCsvValue(out, row[i]);
    }
    out->push_back('\n');
  }
  return Status::OK();
}

}  // namespace vigil::query
