// CounterRate: turns readings of monotonically increasing counters (bytes
// read from a disk, joules, jiffies) into per-second rates, one counter per
// key, correct across wrap-around and restarts:
//
//   - a reading below the previous one on a counter of width `bits` < 64 is
//     a wrap when the drop is more than half the range (the counter went
//     past 2^bits - 1 and started again from 0): delta = 2^bits - prev + cur;
//   - any other drop is a reset (the device was re-plugged, the driver
//     reloaded, the process restarted): the counter counted up from 0, so
//     delta = cur, as Prometheus' rate() does;
//   - the first reading of a key, and a reading whose time does not advance,
//     give no rate.
//
// Thread-safety: none; one per collector.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>

namespace vigil::collect {

class CounterRate {
 public:
  // The rate per second of counter `key` since its previous reading, or
  // nullopt (first reading, time not advancing). REQUIRES: 1 <= bits <= 64.
  std::optional<double> Update(const std::string& key, uint64_t value, int64_t time_ns,
                               int bits = 64);
  // The increase (same rules as Update) without dividing by time.
  std::optional<uint64_t> Delta(const std::string& key, uint64_t value, int bits = 64);
  // Forgets keys not updated since the previous Sweep (devices that left).
  void Sweep();
  size_t size() const { return last_.size(); }

 private:
  struct Last {
    uint64_t value = 0;
    int64_t time_ns = 0;
    bool seen = false;  // updated since the last Sweep
  };
  static uint64_t Increase(uint64_t prev, uint64_t cur, int bits);
  std::unordered_map<std::string, Last> last_;
};

}  // namespace vigil::collect
