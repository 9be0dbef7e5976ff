#include "collect/counter_rate.h"

#include <cassert>

namespace vigil::collect {

uint64_t CounterRate::Increase(uint64_t prev, uint64_t cur, int bits) {
  if (cur >= prev) return cur - prev;
  if (bits < 64) {
    const uint64_t range = uint64_t{1} << bits;  // values are in [0, range)
    if (prev < range && prev - cur > range / 2) return range - prev + cur;  // wrapped
  }
  return cur;  // reset: counted up from 0 since the previous reading
}

std::optional<double> CounterRate::Update(const std::string& key, uint64_t value, int64_t time_ns,
                                          int bits) {
  assert(bits >= 1 && bits <= 64);
  auto [it, inserted] = last_.try_emplace(key);
  Last& l = it->second;
  const Last prev = l;
  l.value = value;
  l.time_ns = time_ns;
  l.seen = true;
  if (inserted || time_ns <= prev.time_ns) return std::nullopt;
  const double seconds = static_cast<double>(time_ns - prev.time_ns) / 1e9;
  return static_cast<double>(Increase(prev.value, value, bits)) / seconds;
}

std::optional<uint64_t> CounterRate::Delta(const std::string& key, uint64_t value, int bits) {
  assert(bits >= 1 && bits <= 64);
  auto [it, inserted] = last_.try_emplace(key);
  Last& l = it->second;
  const uint64_t prev = l.value;
  l.value = value;
  l.seen = true;
  if (inserted) return std::nullopt;
  return Increase(prev, value, bits);
}

void CounterRate::Sweep() {
  for (auto it = last_.begin(); it != last_.end();) {
    if (!it->second.seen) {
      it = last_.erase(it);
    } else {
      it->second.seen = false;
      ++it;
    }
  }
}

}  // namespace vigil::collect
