#include "analysis/distributed/rank_heatmap.h"

#include <algorithm>
#include <cmath>

#include "analysis/median.h"

namespace vigil::analysis {

RankHeatmapBuilder::RankHeatmapBuilder(int64_t step_from, int64_t step_to, int64_t max_columns,
                                       Mode mode)
    : from_(step_from), to_(std::max(step_from, step_to)), mode_(mode) {
  const int64_t span = to_ - from_ + 1;
  max_columns = std::max<int64_t>(1, max_columns);
  bin_ = (span + max_columns - 1) / max_columns;
  columns_ = (span + bin_ - 1) / bin_;
}

void RankHeatmapBuilder::Add(int64_t rank, const std::string& node, std::span<const int64_t> steps,
                             std::span<const double> values) {
  Row& row = rows_[rank];
  if (row.sum.empty()) {
    row.sum.assign(static_cast<size_t>(columns_), 0.0);
    row.count.assign(static_cast<size_t>(columns_), 0);
  }
  if (row.node.empty()) row.node = node;
  std::vector<int64_t>& per_series = scratch_;
  per_series.assign(static_cast<size_t>(columns_), 0);
  for (size_t i = 0; i < steps.size() && i < values.size(); ++i) {
    if (steps[i] < from_ || steps[i] > to_ || !std::isfinite(values[i])) continue;
    const size_t c = static_cast<size_t>((steps[i] - from_) / bin_);
    row.sum[c] += values[i];
    ++per_series[c];
  }
  for (size_t c = 0; c < per_series.size(); ++c) {
    if (mode_ == Mode::kMean) {
      row.count[c] += per_series[c];
    } else {
      row.count[c] = std::max(row.count[c], per_series[c]);
    }
  }
}

RankHeatmap RankHeatmapBuilder::Build() const {
  RankHeatmap h;
  h.step_from = from_;
  h.step_to = to_;
  h.bin = bin_;
  for (int64_t c = 0; c < columns_; ++c) h.steps.push_back(from_ + c * bin_);
  std::vector<std::vector<double>> columns(static_cast<size_t>(columns_));
  for (const auto& [rank, row] : rows_) {
    h.ranks.push_back(rank);
    h.nodes.push_back(row.node);
    std::vector<std::optional<double>> cells(static_cast<size_t>(columns_));
    double total = 0;
    int64_t n = 0;
    for (size_t c = 0; c < cells.size(); ++c) {
      if (row.count[c] == 0) continue;
      const double v = row.sum[c] / static_cast<double>(row.count[c]);
      cells[c] = v;
      columns[c].push_back(v);
      total += v;
      ++n;
    }
    h.row_mean.push_back(n > 0 ? std::optional<double>(total / static_cast<double>(n))
                               : std::nullopt);
    h.values.push_back(std::move(cells));
  }
  for (auto& col : columns) {
    h.column_median.push_back(col.empty() ? std::nullopt
                                          : std::optional<double>(Median(std::move(col))));
  }
  return h;
}

}  // namespace vigil::analysis
