#include "core/types.h"

#include <algorithm>

namespace vigil {

void SortLabels(Labels* labels) {
  std::sort(labels->begin(), labels->end(),
            [](const Label& a, const Label& b) { return a.name < b.name; });
}

std::string SeriesKey::Canonical() const {
  std::string out;
  out.reserve(run.size() + metric.size() + 2 + labels.size() * 16);
  out.append(run).push_back('\0');
  out.append(metric).push_back('\0');
  for (const Label& l : labels) {
    out.append(l.name).push_back('\0');
    out.append(l.value).push_back('\0');
  }
  return out;
}

std::string FormatSeriesName(std::string_view metric, const Labels& labels) {
  std::string out(metric);
  if (labels.empty()) return out;
  out.push_back('{');
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out.push_back(',');
    out.append(labels[i].name).append("=\"");
    for (char c : labels[i].value) {
      switch (c) {
        case '\\':
          out.append("\\\\");
          break;
        case '"':
          out.append("\\\"");
          break;
        case '\n':
          out.append("\\n");
          break;
        default:
          out.push_back(c);
      }
    }
    out.push_back('"');
  }
  out.push_back('}');
  return out;
}

size_t WriteBatch::PointCount() const {
  size_t n = 0;
  for (const auto& s : series) n += s.size();
  return n;
}

}  // namespace vigil
