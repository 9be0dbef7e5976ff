// RankHeatmap: a rank × step matrix of one per-rank metric, for the
// dashboard's heatmap (GET /api/v1/runs/{id}/ranks/heatmap). Steps
// [step_from, step_to] are cut into at most `max_columns` columns of equal
// width; a cell is the mean of the rank's points in the column, or, for the
// virtual metrics step_time / compute_time, the mean per step of the sum of
// the rank's time/* phase series (SumPerStep).
//
// The builder takes one series at a time (the caller reads, adds and drops
// each), so memory is O(ranks × columns), never O(points).
//
// Thread-safety: a value; one thread at a time.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vigil::analysis {

struct RankHeatmap {
  int64_t step_from = 0, step_to = 0, bin = 1;
  std::vector<int64_t> steps;                              // column start steps
  std::vector<int64_t> ranks;                              // rows, ascending
  std::vector<std::string> nodes;                          // per row, "" unknown
  std::vector<std::vector<std::optional<double>>> values;  // [row][column]
  std::vector<std::optional<double>> column_median;
  std::vector<std::optional<double>> row_mean;
};

class RankHeatmapBuilder {
 public:
  enum class Mode : uint8_t {
    kMean,        // a cell is the mean of every point in it
    kSumPerStep,  // the series of a rank add up per step (phases)
  };
  // REQUIRES: step_from <= step_to, max_columns >= 1.
  RankHeatmapBuilder(int64_t step_from, int64_t step_to, int64_t max_columns, Mode mode);

  // Points of one series of `rank` (any order); points outside the step
  // range are ignored, and so are non-finite values.
  void Add(int64_t rank, const std::string& node, std::span<const int64_t> steps,
           std::span<const double> values);
  RankHeatmap Build() const;

 private:
  struct Row {
    std::string node;
    std::vector<double> sum;
    std::vector<int64_t> count;  // kMean: points; kSumPerStep: max per series
  };
  int64_t from_, to_, bin_, columns_;
  Mode mode_;
  std::map<int64_t, Row> rows_;
  std::vector<int64_t> scratch_;
};

}  // namespace vigil::analysis
