#include "client/sdk/columnarizer.h"

#include <cassert>
#include <charconv>

#include "core/json_writer.h"

namespace vigil::client {
namespace {

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  (void)ec;
  out->append(buf, end);
}

}  // namespace

void Columnarizer::Add(const BufferedPoint& p) {
  assert(p.series != kInvalidSeries);
  if (p.series >= by_id_.size()) by_id_.resize(p.series + 1);
  Columns& c = by_id_[p.series];
  if (c.values.empty()) active_.push_back(p.series);
  c.steps.push_back(p.step);
  c.times.push_back(p.time_ms);
  c.values.push_back(p.value);
  ++points_;
}

void Columnarizer::AppendSeries(const SeriesDef& def, const Columns& c, size_t from, size_t to,
                                std::string* out) const {
  out->push_back('{');
  *out += def.json_prefix;
  *out += ",\"steps\":[";
  for (size_t i = from; i < to; ++i) {
    if (i > from) out->push_back(',');
    AppendInt(out, c.steps[i]);
  }
  *out += "],\"times\":[";
  for (size_t i = from; i < to; ++i) {
    if (i > from) out->push_back(',');
    AppendInt(out, c.times[i]);
  }
  *out += "],\"values\":[";
  for (size_t i = from; i < to; ++i) {
    if (i > from) out->push_back(',');
    AppendJsonDouble(out, c.values[i]);
  }
  *out += "]}";
}

void Columnarizer::Encode(const SeriesTable& table, std::vector<EncodedBatch>* out) {
  EncodedBatch cur;
  size_t cur_series = 0;
  auto close = [&] {
    if (cur.points == 0) return;
    cur.body += "]}";
    out->push_back(std::move(cur));
    cur = EncodedBatch{};
    cur_series = 0;
  };
  for (uint32_t id : active_) {
    Columns& c = by_id_[id];
    const SeriesDef* def = table.Get(id);
    assert(def != nullptr);
    size_t from = 0;
    while (from < c.values.size()) {
      if (cur.points >= max_points_ || cur_series >= max_series_) close();
      size_t take = std::min(c.values.size() - from, max_points_ - cur.points);
      cur.body += cur.points == 0 ? "{\"series\":[" : ",";
      AppendSeries(*def, c, from, from + take, &cur.body);
      cur.points += take;
      ++cur_series;
      from += take;
    }
    c.steps.clear();
    c.times.clear();
    c.values.clear();
    // Large one-off bursts should not pin memory for the run's life.
    if (c.values.capacity() > 65536) c = Columns{};
  }
  close();
  active_.clear();
  points_ = 0;
}

}  // namespace vigil::client
