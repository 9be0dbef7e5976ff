// Value types shared by every layer: a point, a series' identity, and a
// validated batch of points on its way to storage.
//
// A series is (run, metric name, labels). A point is (step, time, value):
// step is the training step (any int64 >= 0), time is Unix milliseconds, and
// value is any float64 bit pattern (NaN payloads, +-Inf and -0.0 included),
// which storage keeps bit-exact.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigil {

struct Point {
  int64_t step = 0;
  int64_t time_ms = 0;
  double value = 0;
};

struct Label {
  std::string name;
  std::string value;
  friend bool operator==(const Label&, const Label&) = default;
  friend auto operator<=>(const Label&, const Label&) = default;
};

// Invariant (where a Labels is part of a SeriesKey): sorted by name, names
// unique. SortLabels establishes it; ingest validation rejects duplicates.
using Labels = std::vector<Label>;

void SortLabels(Labels* labels);

struct SeriesKey {
  std::string run;
  std::string metric;
  Labels labels;

  friend bool operator==(const SeriesKey&, const SeriesKey&) = default;
  friend auto operator<=>(const SeriesKey&, const SeriesKey&) = default;

  // A byte string unique per key, for hash maps: run \0 metric \0 name \0
  // value \0 ... Names and values never contain \0 (the grammar forbids it).
  std::string Canonical() const;
};

// `train/loss{rank="0",node="a"}`, or `train/loss` when there are no labels;
// label values are escaped as in the Prometheus text format (\\, \", \n).
std::string FormatSeriesName(std::string_view metric, const Labels& labels);

// Points of one series in columnar form. Invariant: the three vectors have
// the same length.
struct SeriesColumns {
  SeriesKey key;
  std::vector<int64_t> steps;
  std::vector<int64_t> times;
  std::vector<double> values;

  size_t size() const { return values.size(); }
};

// A validated batch for one run, as ingest hands it to storage. Every series
// belongs to `run`, appears once, and has at least one point.
struct WriteBatch {
  std::string run;
  std::vector<SeriesColumns> series;

  size_t PointCount() const;
};

}  // namespace vigil
